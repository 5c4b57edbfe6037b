import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { ModelRegistryArgs, S3StorageArgs } from "./args.js";

/** Lifecycle days after defaults; `checkpointDays: false` keeps checkpoints. */
export interface NormalizedLifecycle {
  readonly noncurrentVersionDays: number;
  readonly abortIncompleteUploadDays: number;
  readonly checkpointDays: number | false;
}

/** Every default of ModelRegistry, in one place (the JSDoc in args.ts states the same values). */
export const MODEL_REGISTRY_DEFAULTS = {
  /** The storage used when none is given: a new private S3 bucket. */
  storage: { s3: {} } as S3StorageArgs,
  /** SSE algorithm without a KMS key. */
  sseAlgorithm: "AES256",
  forceDestroy: false,
  /** Lifecycle rules of a new bucket (see RegistryLifecycleArgs). */
  lifecycle: { noncurrentVersionDays: 30, abortIncompleteUploadDays: 7, checkpointDays: 30 },
  /** Where training jobs write checkpoints by default, under the registry prefix (TrainingJob's `checkpoint`). */
  checkpointPrefix: "checkpoints/",
  /** S3 limits bucketPrefix to 37 characters (the provider appends a 26-character unique suffix). */
  bucketPrefixMax: 37,
} as const;

export type NormalizedStorage =
  | { kind: "s3"; bucketName?: string; forceDestroy: boolean; kmsKeyArn?: S3StorageArgs["s3"]["kmsKeyArn"]; prefix: string; lifecycle: NormalizedLifecycle | false }
  | { kind: "bucket"; bucket: string; prefix: string }
  | { kind: "path"; uri: string };

/** Applies defaults; args are already validated. */
export function normalizeStorage(args: ModelRegistryArgs, cwd: string = process.cwd()): NormalizedStorage {
  const storage: NonNullable<ModelRegistryArgs["storage"]> = args.storage ?? MODEL_REGISTRY_DEFAULTS.storage;
  if ("s3" in storage) {
    return {
      kind: "s3",
      ...(storage.s3.bucketName ? { bucketName: storage.s3.bucketName } : {}),
      forceDestroy: storage.s3.forceDestroy ?? MODEL_REGISTRY_DEFAULTS.forceDestroy,
      ...(storage.s3.kmsKeyArn !== undefined ? { kmsKeyArn: storage.s3.kmsKeyArn } : {}),
      prefix: trimSlashes(storage.s3.prefix ?? ""),
      lifecycle: storage.s3.lifecycle === false ? false : { ...MODEL_REGISTRY_DEFAULTS.lifecycle, ...storage.s3.lifecycle },
    };
  }
  if ("bucket" in storage) return { kind: "bucket", bucket: storage.bucket, prefix: trimSlashes(storage.prefix ?? "") };
  return { kind: "path", uri: fileUri(storage.path, cwd) };
}

/** `s3://bucket` or `s3://bucket/prefix`. */
export function s3Uri(bucket: string, prefix: string): string {
  return prefix ? `s3://${bucket}/${prefix}` : `s3://${bucket}`;
}

/** A `file://` URI for a path or URI, relative paths resolved against `cwd`. */
export function fileUri(path: string, cwd: string): string {
  // `file://.mlops/registry` (the CLI's default) is relative: its "host" is really the first path segment.
  const p = path.startsWith("file:///") ? fileURLToPath(path) : path.startsWith("file://") ? path.slice("file://".length) : path;
  return pathToFileURL(resolve(cwd, p)).href;
}

function trimSlashes(s: string): string {
  return s.replace(/^\/+|\/+$/g, "");
}
