/**
 * How a workload's pods reach S3 without IRSA (a kind cluster, MinIO or another S3-compatible server, or
 * AWS S3 with an access key): the API's URL and region in plain environment, static credentials in a
 * Kubernetes Secret the pod reads by reference, never in the manifests or the spec. The runtime's S3 client
 * reads exactly these variables (src/store/index.ts). Used by ModelEndpoint and TrainingJob.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { USER_ENV } from "../../src/spec/env.js";
import { inputString } from "./validate.js";

export interface S3AccessArgs {
  /**
   * The S3 API's URL as the pods reach it, e.g. `"http://minio.minio.svc.cluster.local:9000"`; path-style
   * addressing is used with it.
   * @default - AWS S3 in the pods' region
   */
  readonly endpoint?: string;
  /** The region to sign requests for. @default - the SDK's (AWS_REGION on EKS), else "us-east-1" */
  readonly region?: string;
  /**
   * Static credentials. Give them as secrets (`config.requireSecret(...)`): they go into a Kubernetes Secret,
   * never into the pod spec or the workload's spec. Given, no IAM role is made for the pods.
   * @default - the SDK's default chain (IRSA on EKS)
   */
  readonly credentials?: { readonly accessKeyId: pulumi.Input<string>; readonly secretAccessKey: pulumi.Input<string> };
}

/** Zod schema for {@link S3AccessArgs}. */
export const S3AccessSchema = z
  .object({
    endpoint: z.string().regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, 'must be an http(s) URL, e.g. "http://minio.minio.svc.cluster.local:9000"').optional(),
    region: z.string().regex(/^[a-z0-9-]{1,40}$/, 'must be a region name, e.g. "us-east-1"').optional(),
    credentials: z.object({ accessKeyId: inputString(), secretAccessKey: inputString() }).strict().optional(),
  })
  .strict();

/** The keys of the credentials Secret: the variables the runtime's S3 client reads. */
export const S3_SECRET_KEYS = { accessKeyId: "AWS_ACCESS_KEY_ID", secretAccessKey: "AWS_SECRET_ACCESS_KEY" } as const;

/** Every variable {@link s3AccessEnv} may set: a workload's user `env` must not override them. */
export const S3_ACCESS_ENV: readonly string[] = [USER_ENV.s3Endpoint, "AWS_REGION", ...Object.values(S3_SECRET_KEYS)];

/** The credentials Secret, its values always Pulumi secrets (even if given in plain). */
export function s3CredentialsSecret(secret: {
  readonly name: string;
  readonly namespace: pulumi.Input<string>;
  readonly labels: Record<string, string>;
  readonly credentials: NonNullable<S3AccessArgs["credentials"]>;
}) {
  return {
    metadata: { name: secret.name, namespace: secret.namespace, labels: { ...secret.labels } },
    type: "Opaque",
    stringData: {
      [S3_SECRET_KEYS.accessKeyId]: pulumi.secret(secret.credentials.accessKeyId),
      [S3_SECRET_KEYS.secretAccessKey]: pulumi.secret(secret.credentials.secretAccessKey),
    },
  };
}

/**
 * The pod environment for `s3`: endpoint and region in plain (not secret), the credentials by reference
 * to `secretName` (the Secret {@link s3CredentialsSecret} made) when there are any.
 */
export function s3AccessEnv(s3: Pick<S3AccessArgs, "endpoint" | "region"> & { readonly staticCredentials: boolean }, secretName: string) {
  return [
    ...(s3.endpoint !== undefined ? [{ name: USER_ENV.s3Endpoint, value: s3.endpoint }] : []),
    ...(s3.region !== undefined ? [{ name: "AWS_REGION", value: s3.region }] : []),
    ...(s3.staticCredentials ? Object.values(S3_SECRET_KEYS).map((key) => ({ name: key, valueFrom: { secretKeyRef: { name: secretName, key } } })) : []),
  ];
}
