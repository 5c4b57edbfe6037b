import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { Transform } from "../shared/transform.js";
import { inputString } from "../shared/validate.js";
import type * as aws from "@pulumi/aws";

/** A new private S3 bucket made by the component. */
export interface S3StorageArgs {
  readonly s3: {
    /**
     * The bucket's physical name (globally unique).
     * @default - generated from `${project}-${stage}-${name}` plus a random suffix
     */
    readonly bucketName?: string;
    /** Let `pulumi destroy` delete a bucket that still holds models. @default false */
    readonly forceDestroy?: boolean;
    /**
     * KMS key for server-side encryption (SSE-KMS with S3 Bucket Keys).
     * @default - SSE-S3 (AES256)
     */
    readonly kmsKeyArn?: pulumi.Input<string>;
    /** Key prefix for the registry inside the bucket. @default - the bucket root */
    readonly prefix?: string;
    /**
     * Lifecycle rules that bound the bucket's growth (`false`: none). Model versions are immutable and
     * never expire; what grows without bound is the old versions of overwritten objects (every alias move
     * leaves one, since the bucket is versioned), uploads that never completed, and training checkpoints.
     * @default { noncurrentVersionDays: 30, abortIncompleteUploadDays: 7, checkpointDays: 30 }
     */
    readonly lifecycle?: false | RegistryLifecycleArgs;
  };
}

/** How long the registry bucket keeps what it no longer needs. */
export interface RegistryLifecycleArgs {
  /** Days an overwritten or deleted object's old version is kept (its recovery window). @default 30 */
  readonly noncurrentVersionDays?: number;
  /** Days before the parts of an unfinished multipart upload are removed. @default 7 */
  readonly abortIncompleteUploadDays?: number;
  /**
   * Days a checkpoint (`<prefix>/checkpoints/…`, where training jobs write them by default) is kept after
   * it was written; `false` keeps them. A run writes a new checkpoint every interval, so only runs that
   * finished (or stalled) that long ago lose theirs.
   * @default 30
   */
  readonly checkpointDays?: number | false;
}

/** A bucket that already exists; nothing is created. */
export interface ExistingBucketStorageArgs {
  /** Bucket name (not an ARN, not a URI). */
  readonly bucket: string;
  /** Key prefix for the registry inside the bucket. @default - the bucket root */
  readonly prefix?: string;
}

/** A local folder: the embedded default, for laptops and CI. Nothing is created. */
export interface PathStorageArgs {
  /** An absolute or relative path, or a `file://` URI. Relative paths resolve against the working directory. */
  readonly path: string;
}

export type RegistryStorageArgs = S3StorageArgs | ExistingBucketStorageArgs | PathStorageArgs;

export interface ModelRegistryArgs {
  /**
   * Where the registry lives.
   * @default { s3: {} }
   * @example { s3: { forceDestroy: true } }
   * @example { bucket: "company-models", prefix: "fraud-team" }
   * @example { path: ".mlops/registry" }
   */
  readonly storage?: RegistryStorageArgs;
  /** Per-child hooks to adjust what the component creates. */
  readonly transform?: {
    readonly bucket?: Transform<aws.s3.BucketArgs>;
    readonly versioning?: Transform<aws.s3.BucketVersioningArgs>;
    readonly encryption?: Transform<aws.s3.BucketServerSideEncryptionConfigurationArgs>;
    readonly publicAccessBlock?: Transform<aws.s3.BucketPublicAccessBlockArgs>;
    readonly ownershipControls?: Transform<aws.s3.BucketOwnershipControlsArgs>;
    readonly policy?: Transform<aws.s3.BucketPolicyArgs>;
    readonly lifecycle?: Transform<aws.s3.BucketLifecycleConfigurationArgs>;
  };
}

// S3 naming rules: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
const bucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be 3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit")
  .refine((s) => !s.includes("..") && !/^\d+\.\d+\.\d+\.\d+$/.test(s), "must not contain '..' nor look like an IP address");
const prefix = z
  .string()
  .regex(/^[A-Za-z0-9!_.*'()/-]*$/, "must be a plain key prefix (letters, digits, '/', '-', '_', '.')")
  .refine((s) => !s.startsWith("/"), "must not start with '/'");
const input = inputString();
const days = z.number().int("must be a whole number of days").min(1, "must be at least 1 day (S3's smallest lifecycle period)");

export const ModelRegistryArgsSchema = z
  .object({
    storage: z
      .union([
        z.object({
          s3: z
            .object({
              bucketName: bucketName.optional(),
              forceDestroy: z.boolean().optional(),
              kmsKeyArn: input.optional(),
              prefix: prefix.optional(),
              lifecycle: z
                .union([
                  z.literal(false),
                  z
                    .object({
                      noncurrentVersionDays: days.optional(),
                      abortIncompleteUploadDays: days.optional(),
                      checkpointDays: z.union([z.literal(false), days]).optional(),
                    })
                    .strict(),
                ])
                .optional(),
            })
            .strict(),
        }).strict(),
        z.object({ bucket: bucketName, prefix: prefix.optional() }).strict(),
        z.object({ path: z.string().min(1, "must be a non-empty path") }).strict(),
      ], { error: "must be one of { s3: {...} }, { bucket, prefix? } or { path }" })
      .optional(),
    transform: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
