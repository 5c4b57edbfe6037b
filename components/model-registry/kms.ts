import * as pulumi from "@pulumi/pulumi";

/**
 * The customer-managed KMS key that roles reaching a registry must be allowed to use: `explicit` when
 * given (a registry passed as an `s3://` string, or an existing bucket), else the `kmsKeyArn` of a
 * registry object that has one (a ModelRegistry; duck-typed so that callers need not import the class),
 * else undefined (SSE-S3, nothing to grant).
 */
export function registryKmsKeyArn(registry: unknown, explicit?: pulumi.Input<string>): pulumi.Output<string | undefined> {
  if (explicit !== undefined) return pulumi.output<string | undefined>(explicit);
  if (registry !== null && typeof registry === "object") {
    const key = (registry as { kmsKeyArn?: unknown }).kmsKeyArn;
    if (pulumi.Output.isInstance(key)) return key as pulumi.Output<string | undefined>;
  }
  return pulumi.output<string | undefined>(undefined);
}
