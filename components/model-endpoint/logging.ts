/**
 * ModelEndpoint's `logging` arg: payload logging by the serving runtime (runtime/serve/payload-log.ts),
 * rendered into the EndpointSpec's `logging`, with put access to its S3 prefix on the pods' IAM role.
 */
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { PAYLOAD_LOGGING_DEFAULTS, type PayloadLoggingInput } from "../../src/spec/endpoint.js";
import { isDeferred } from "../shared/validate.js";

export interface PayloadLoggingArgs {
  /** Share of infer requests logged: 0 (none) to 1 (every one), e.g. `0.1`. */
  readonly sampleRate: number;
  /**
   * Where the records go: `s3://bucket/prefix` (the pods' role, when the endpoint makes one, may put objects
   * there and nothing more), or `file:///path` on a volume the pods mount. Records land under
   * `<uri>/<model>/<endpoint>/<variant>/yyyy/mm/dd/hh/` as SageMaker Data Capture JSON lines.
   * @example pulumi.interpolate`s3://${payloadBucket.bucket}/payloads`
   */
  readonly uri: pulumi.Input<string>;
  /** Records per object written. @default 1000 */
  readonly batchSize?: number;
  /** Longest a record waits before its batch is written. @default 10 */
  readonly flushIntervalSeconds?: number;
  /** Records a pod holds at most while the store is slow; more are dropped and counted. @default 10000 */
  readonly maxBufferedRecords?: number;
  /** Bytes a pod holds at most (mind `resources.memory`); more are dropped and counted. @default 33554432 (32 MiB) */
  readonly maxBufferedBytes?: number;
  /** A record larger than this is dropped. @default 1048576 (1 MiB) */
  readonly maxRecordBytes?: number;
  /** At shutdown, the longest wait for the last records to be written; the pods' grace period grows by as much. @default 5 */
  readonly flushTimeoutSeconds?: number;
  /** ARN of the KMS key the bucket is encrypted with (SSE-KMS): the role may encrypt with it, through S3 only. @default - none (SSE-S3) */
  readonly kmsKeyArn?: pulumi.Input<string>;
}

const URI_MESSAGE = 'must be an s3:// or file:// URI, e.g. "s3://acme-payloads/prod", or an Output of one';

/** Zod schema for {@link PayloadLoggingArgs}; the numbers' ranges are the EndpointSpec's own. */
export const PayloadLoggingArgsSchema = z
  .object({
    sampleRate: z.number().min(0).max(1),
    uri: z.union([z.string().regex(/^(file|s3):\/\/.+/, URI_MESSAGE), z.custom<pulumi.Input<string>>(isDeferred, URI_MESSAGE)]),
    batchSize: z.number().int().min(1).max(100_000).optional(),
    flushIntervalSeconds: z.number().min(0.01).max(3600).optional(),
    maxBufferedRecords: z.number().int().min(1).max(10_000_000).optional(),
    maxBufferedBytes: z.number().int().min(1024).max(4 * 1024 * 1024 * 1024).optional(),
    maxRecordBytes: z.number().int().min(256).max(256 * 1024 * 1024).optional(),
    flushTimeoutSeconds: z.number().min(0).max(300).optional(),
    kmsKeyArn: z.custom<pulumi.Input<string>>((v) => typeof v === "string" || isDeferred(v), "must be a KMS key ARN or an Output of one").optional(),
  })
  .strict()
  .refine((l) => (l.batchSize ?? PAYLOAD_LOGGING_DEFAULTS.batchSize) <= (l.maxBufferedRecords ?? PAYLOAD_LOGGING_DEFAULTS.maxBufferedRecords), {
    path: ["batchSize"],
    message: "is more than maxBufferedRecords: a batch could never fill; lower batchSize or raise maxBufferedRecords",
  })
  .refine((l) => (l.maxRecordBytes ?? PAYLOAD_LOGGING_DEFAULTS.maxRecordBytes) <= (l.maxBufferedBytes ?? PAYLOAD_LOGGING_DEFAULTS.maxBufferedBytes), {
    path: ["maxRecordBytes"],
    message: "is more than maxBufferedBytes: lower maxRecordBytes or raise maxBufferedBytes",
  });

/** The settings as the spec takes them, all but the URI (known at deploy time only when it is an Output). */
export type NormalizedPayloadLogging = Omit<PayloadLoggingInput, "uri"> & { readonly flushTimeoutSeconds: number };

export function normalizePayloadLogging(l: PayloadLoggingArgs): NormalizedPayloadLogging {
  const { uri: _uri, kmsKeyArn: _key, ...settings } = l;
  return { ...settings, flushTimeoutSeconds: l.flushTimeoutSeconds ?? PAYLOAD_LOGGING_DEFAULTS.flushTimeoutSeconds };
}
