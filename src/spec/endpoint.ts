import { z } from "zod";
import { parseOrThrow } from "../errors.js";
import { checkEndpointFeatures, EndpointFeaturesSchema } from "./endpoint-features.js";
import { checkEndpointVariants, EndpointVariantsSchema } from "./endpoint-variants.js";
import { modelRefSchema } from "./model-ref.js";

/** The environment variable a component renders the EndpointSpec into, and the runtime reads at boot. */
export const ENDPOINT_SPEC_ENV = "MLOPS_ENDPOINT_SPEC";
/** The environment variable that carries the bearer token (from a Kubernetes Secret); never in the spec. */
export const AUTH_TOKEN_ENV = "MLOPS_AUTH_TOKEN";

/** Paths the serving runtime answers; components point probes at these. */
export const SERVE_PATHS = {
  live: "/v2/health/live",
  ready: "/v2/health/ready",
  /** The Deployment's readiness probe (not OIP): 200 when serving, or while the registry has no such model yet. */
  rollout: "/v2/health/rollout",
  metrics: "/metrics",
} as const;

export const ENDPOINT_DEFAULTS = {
  host: "0.0.0.0",
  port: 8080,
  maxBatchSize: 32,
  maxBatchDelayMs: 2,
  maxBodyBytes: 4 * 1024 * 1024,
  maxResponseBytes: 16 * 1024 * 1024,
  pollIntervalSeconds: 10,
  /** As long as requestTimeoutSeconds: a request accepted just before the listener closed may still arrive in full. */
  drainSeconds: 30,
  shutdownDelaySeconds: 5,
  headersTimeoutSeconds: 10,
  requestTimeoutSeconds: 30,
  keepAliveTimeoutSeconds: 65,
  maxConnections: 4096,
} as const;

/**
 * Defaults of `logging` (payload logging, runtime/serve/payload-log.ts). The buffer bounds what a pod
 * holds while the store is slow; the flush timeout fits in the margin ModelEndpoint leaves after the drain
 * (MODEL_ENDPOINT_DEFAULTS.terminationMarginSeconds, 10 s) before the kubelet's SIGKILL.
 */
export const PAYLOAD_LOGGING_DEFAULTS = {
  variant: "primary",
  batchSize: 1000,
  flushIntervalSeconds: 10,
  maxBufferedRecords: 10_000,
  maxBufferedBytes: 32 * 1024 * 1024,
  maxRecordBytes: 1024 * 1024,
  writeTimeoutSeconds: 30,
  flushTimeoutSeconds: 5,
} as const;

/**
 * Payload logging: a sampled record of each answered infer request (its inputs and outputs), written in
 * batches of JSON lines to an object store, partitioned by hour. Never blocks nor fails a request: when the
 * buffer is full (the store slow or failing) records are dropped and counted.
 */
export const PayloadLoggingSchema = z
  .object({
    /** Share of infer requests logged, 0 (none) to 1 (every one). */
    sampleRate: z.number().min(0).max(1),
    /** Where the records go: `s3://bucket/prefix` or `file:///path`. */
    uri: z.string().regex(/^(file|s3):\/\/.+/, 'must be a file:// or s3:// URI, e.g. "s3://acme-payloads/prod"'),
    /** The variant written into each record and its path (`primary`, `canary`, `shadow`). */
    variant: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be lowercase letters, digits and '-'").default(PAYLOAD_LOGGING_DEFAULTS.variant),
    /** Records per object written. */
    batchSize: z.number().int().min(1).max(100_000).default(PAYLOAD_LOGGING_DEFAULTS.batchSize),
    /** Longest a record waits before its batch is written, however few records it holds. */
    flushIntervalSeconds: z.number().min(0.01).max(3600).default(PAYLOAD_LOGGING_DEFAULTS.flushIntervalSeconds),
    /** Records held at most (waiting, or being written); one more is dropped. */
    maxBufferedRecords: z.number().int().min(1).max(10_000_000).default(PAYLOAD_LOGGING_DEFAULTS.maxBufferedRecords),
    /** Bytes of records held at most (waiting, or being written); one more is dropped. */
    maxBufferedBytes: z.number().int().min(1024).max(4 * 1024 * 1024 * 1024).default(PAYLOAD_LOGGING_DEFAULTS.maxBufferedBytes),
    /** A record larger than this (a huge request or answer) is dropped rather than logged. */
    maxRecordBytes: z.number().int().min(256).max(256 * 1024 * 1024).default(PAYLOAD_LOGGING_DEFAULTS.maxRecordBytes),
    /** A write that takes longer is given up on: its records count as dropped. */
    writeTimeoutSeconds: z.number().min(0.01).max(600).default(PAYLOAD_LOGGING_DEFAULTS.writeTimeoutSeconds),
    /** At shutdown, the longest wait for the last batches to be written; what is left then is dropped. */
    flushTimeoutSeconds: z.number().min(0).max(300).default(PAYLOAD_LOGGING_DEFAULTS.flushTimeoutSeconds),
  })
  .strict()
  .superRefine((l, ctx) => {
    if (l.batchSize > l.maxBufferedRecords) {
      ctx.addIssue({ code: "custom", path: ["batchSize"], message: `is ${l.batchSize}, more than maxBufferedRecords (${l.maxBufferedRecords}): a batch could never fill; lower batchSize or raise maxBufferedRecords` });
    }
    if (l.maxRecordBytes > l.maxBufferedBytes) {
      ctx.addIssue({ code: "custom", path: ["maxRecordBytes"], message: `is ${l.maxRecordBytes}, more than maxBufferedBytes (${l.maxBufferedBytes}): lower maxRecordBytes or raise maxBufferedBytes` });
    }
  });

export type PayloadLogging = z.output<typeof PayloadLoggingSchema>;
export type PayloadLoggingInput = z.input<typeof PayloadLoggingSchema>;

const modelRef = modelRefSchema();

/**
 * The contract between `ModelEndpoint` (which renders it into {@link ENDPOINT_SPEC_ENV} as JSON) and
 * `mlops serve` (which parses it at boot and fails naming the bad field).
 */
export const EndpointSpecSchema = z
  .object({
    apiVersion: z.literal("mlops/v1").default("mlops/v1"),
    kind: z.literal("Endpoint").default("Endpoint"),
    /** Endpoint name, used in logs and metrics. */
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be lowercase letters, digits and '-'"),
    /** `name@alias` (followed as it moves) or `name:version` (pinned). */
    model: modelRef,
    /** Registry URI: `file:///path` or `s3://bucket/prefix`. */
    registry: z.string().regex(/^(file|s3):\/\/.+/, "must be a file:// or s3:// URI"),
    server: z
      .object({
        host: z.string().min(1).default(ENDPOINT_DEFAULTS.host),
        /** 0 picks any free port (local runs and tests). */
        port: z.number().int().min(0).max(65535).default(ENDPOINT_DEFAULTS.port),
        maxBodyBytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(ENDPOINT_DEFAULTS.maxBodyBytes),
        /** Largest infer answer; a bigger one is refused with 413 naming this field (fewer rows or outputs fit). */
        maxResponseBytes: z.number().int().min(1024).max(1024 * 1024 * 1024).default(ENDPOINT_DEFAULTS.maxResponseBytes),
        /**
         * Seconds after SIGTERM during which the server still accepts and answers as usual, readiness already
         * 503 and every response with `Connection: close`, so load balancers and kube-proxy stop sending and
         * keep-alive clients move to other pods before the listener closes. Skipped while no model is loaded.
         */
        shutdownDelaySeconds: z.number().min(0).max(300).default(ENDPOINT_DEFAULTS.shutdownDelaySeconds),
        /** Once the listener is closed, the longest wait for requests still in flight; then they are cut off. */
        drainSeconds: z.number().min(0).max(600).default(ENDPOINT_DEFAULTS.drainSeconds),
        /** Longest a client may take to send a request's headers (Node's default is 60 s); then 408. */
        headersTimeoutSeconds: z.number().min(0.5).max(600).default(ENDPOINT_DEFAULTS.headersTimeoutSeconds),
        /** Longest a client may take to send a whole request, headers and body (Node's default is 300 s); then 408. */
        requestTimeoutSeconds: z.number().min(0.5).max(3600).default(ENDPOINT_DEFAULTS.requestTimeoutSeconds),
        /**
         * How long an idle keep-alive connection stays open. Above the idle timeout of whatever pools
         * connections in front (AWS ALB: 60 s), so that side closes first: see runtime/serve/connections.ts.
         */
        keepAliveTimeoutSeconds: z.number().min(1).max(3600).default(ENDPOINT_DEFAULTS.keepAliveTimeoutSeconds),
        /** Connections open at once; one more is answered 503 and closed. */
        maxConnections: z.number().int().min(1).max(1_000_000).default(ENDPOINT_DEFAULTS.maxConnections),
        /**
         * A port of its own for `/metrics` (then not served on `port`), so a NetworkPolicy can open it to the
         * monitoring namespace only. 0 picks a free one (tests). @default - /metrics on `port`
         */
        metricsPort: z.number().int().min(0).max(65535).optional(),
      })
      .strict()
      .superRefine((s, ctx) => {
        // Node refuses a header timeout longer than the whole-request timeout.
        if (s.headersTimeoutSeconds > s.requestTimeoutSeconds) {
          ctx.addIssue({
            code: "custom",
            path: ["headersTimeoutSeconds"],
            message: `is ${s.headersTimeoutSeconds} s, longer than requestTimeoutSeconds (${s.requestTimeoutSeconds} s), which covers the headers too: lower it or raise requestTimeoutSeconds`,
          });
        }
        if (s.metricsPort !== undefined && s.metricsPort !== 0 && s.metricsPort === s.port) {
          ctx.addIssue({ code: "custom", path: ["metricsPort"], message: `is ${s.metricsPort}, the same as port: pick another port, or leave metricsPort out to serve /metrics on port` });
        }
      })
      .prefault({}),
    batching: z
      .object({
        maxBatchSize: z.number().int().min(1).max(4096).default(ENDPOINT_DEFAULTS.maxBatchSize),
        maxBatchDelayMs: z.number().min(0).max(1000).default(ENDPOINT_DEFAULTS.maxBatchDelayMs),
      })
      .strict()
      .prefault({}),
    /** How often an alias is re-resolved to pick up a moved alias. */
    pollIntervalSeconds: z.number().min(0.05).max(3600).default(ENDPOINT_DEFAULTS.pollIntervalSeconds),
    /** When true, requests need `Authorization: Bearer <token>`, the token read from {@link AUTH_TOKEN_ENV}. */
    auth: z.object({ enabled: z.boolean().default(false) }).strict().prefault({}),
    logLevel: z.enum(["debug", "info", "warn", "error"]).default("info"),
    /** Payload logging (inputs and outputs of sampled infer requests). @default - off */
    logging: PayloadLoggingSchema.optional(),
    /** Serving by entity id: requests may send the entity key instead of the features (endpoint-features.ts). @default - off */
    features: EndpointFeaturesSchema.optional(),
    /** A canary and/or a shadow beside the stable `model` (endpoint-variants.ts). @default - none */
    variants: EndpointVariantsSchema.optional(),
  })
  .strict();

export type EndpointSpec = z.output<typeof EndpointSpecSchema>;
export type EndpointSpecInput = z.input<typeof EndpointSpecSchema>;

/** Validates a spec object; throws an MlopsError listing each bad field. */
export function parseEndpointSpec(input: unknown, source = "endpoint spec"): EndpointSpec {
  return checkEndpointVariants(checkEndpointFeatures(parseOrThrow(EndpointSpecSchema, input, "", source), source), source);
}

/** Reads and validates the spec from the environment (the container's boot path). */
export function endpointSpecFromEnv(env: NodeJS.ProcessEnv = process.env): EndpointSpec {
  const raw = env[ENDPOINT_SPEC_ENV];
  if (raw === undefined || raw === "") {
    return parseEndpointSpec(undefined, `${ENDPOINT_SPEC_ENV} is not set`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    return parseEndpointSpec(`<invalid JSON: ${(e as Error).message}>`, `${ENDPOINT_SPEC_ENV} is not valid JSON`);
  }
  return parseEndpointSpec(json, ENDPOINT_SPEC_ENV);
}

/** Renders a spec as the component puts it into the container environment (validated first). */
export function renderEndpointSpec(spec: EndpointSpecInput): string {
  return JSON.stringify(parseEndpointSpec(spec));
}
