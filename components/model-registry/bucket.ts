import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { MODEL_REGISTRY_DEFAULTS, type NormalizedLifecycle } from "./normalize.js";

/** Args for the bucket itself: a given name, or a prefix from the physical name. */
export function bucketArgs(opts: { physicalName: string; bucketName?: string; forceDestroy: boolean; tags: Record<string, string> }): aws.s3.BucketArgs {
  const naming = opts.bucketName
    ? { bucket: opts.bucketName }
    : { bucketPrefix: `${opts.physicalName.slice(0, MODEL_REGISTRY_DEFAULTS.bucketPrefixMax - 1).replace(/[-.]+$/, "")}-` };
  return { ...naming, forceDestroy: opts.forceDestroy, tags: opts.tags };
}

/** Versioning on: an overwritten or deleted artifact stays recoverable. */
export function versioningArgs(bucket: pulumi.Input<string>): aws.s3.BucketVersioningArgs {
  return { bucket, versioningConfiguration: { status: "Enabled" } };
}

/** SSE-KMS with Bucket Keys when a key is given, else SSE-S3. */
export function encryptionArgs(bucket: pulumi.Input<string>, kmsKeyArn?: pulumi.Input<string>): aws.s3.BucketServerSideEncryptionConfigurationArgs {
  return {
    bucket,
    rules: [
      kmsKeyArn !== undefined
        ? { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: kmsKeyArn }, bucketKeyEnabled: true }
        : { applyServerSideEncryptionByDefault: { sseAlgorithm: MODEL_REGISTRY_DEFAULTS.sseAlgorithm } },
    ],
  };
}

/** All four public-access blocks on. */
export function publicAccessBlockArgs(bucket: pulumi.Input<string>): aws.s3.BucketPublicAccessBlockArgs {
  return { bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true };
}

/** ACLs disabled: the bucket owner owns every object, access is by policy only. */
export function ownershipControlsArgs(bucket: pulumi.Input<string>): aws.s3.BucketOwnershipControlsArgs {
  return { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } };
}

/** Denies any request not made over TLS. */
export function tlsOnlyPolicy(bucketArn: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  });
}

export function policyArgs(bucket: pulumi.Input<string>, bucketArn: pulumi.Input<string>): aws.s3.BucketPolicyArgs {
  return { bucket, policy: pulumi.output(bucketArn).apply(tlsOnlyPolicy) };
}

/**
 * The rules bounding the bucket's growth. Two rules, because S3 refuses `ExpiredObjectDeleteMarker`
 * together with `Days` in one expiration:
 * - the whole bucket: old versions expire `noncurrentVersionDays` after they became noncurrent, delete
 *   markers left with no version behind them are removed, unfinished multipart uploads are aborted;
 * - checkpoints: expire `checkpointDays` after they were written. In a versioned bucket that makes them
 *   noncurrent, and the first rule deletes them for good `noncurrentVersionDays` later.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html
 */
export function lifecycleArgs(bucket: pulumi.Input<string>, prefix: string, l: NormalizedLifecycle): aws.s3.BucketLifecycleConfigurationArgs {
  const under = prefix ? `${prefix}/` : "";
  const rules: aws.types.input.s3.BucketLifecycleConfigurationRule[] = [
    {
      id: "noncurrent-versions-and-uploads",
      status: "Enabled",
      // An empty filter is the whole bucket (a rule without any filter is ambiguous to the provider).
      filter: { prefix: under },
      noncurrentVersionExpiration: { noncurrentDays: l.noncurrentVersionDays },
      abortIncompleteMultipartUpload: { daysAfterInitiation: l.abortIncompleteUploadDays },
      expiration: { expiredObjectDeleteMarker: true },
    },
  ];
  if (l.checkpointDays !== false) {
    rules.push({
      id: "checkpoints",
      status: "Enabled",
      filter: { prefix: `${under}${MODEL_REGISTRY_DEFAULTS.checkpointPrefix}` },
      expiration: { days: l.checkpointDays },
    });
  }
  return { bucket, rules };
}
