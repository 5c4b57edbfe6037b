import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { MODEL_REGISTRY_DEFAULTS } from "./normalize.js";

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
