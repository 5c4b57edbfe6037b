import type * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

/** Which ServiceAccount may assume a role, and which S3 locations the role reaches. */
export interface ServiceAccountRoleArgs {
  /** Namespace of the ServiceAccount (a DNS label). */
  readonly namespace: string;
  /** Name of the ServiceAccount. */
  readonly serviceAccount: string;
  /**
   * `s3://bucket` or `s3://bucket/prefix` locations to read (GetObject, and ListBucket under the prefix).
   * @default []
   */
  readonly read?: readonly pulumi.Input<string>[];
  /**
   * `s3://` locations to read and write (adds PutObject, DeleteObject, AbortMultipartUpload).
   * @default []
   */
  readonly write?: readonly pulumi.Input<string>[];
  /**
   * ARNs of customer-managed KMS keys encrypting these locations (SSE-KMS). The role may use them through
   * S3 only: kms:Decrypt, plus kms:GenerateDataKey when `write` is not empty. An entry that resolves to
   * undefined is skipped, so a ModelRegistry's `kmsKeyArn` can be passed as it is.
   * @default []
   */
  readonly kmsKeyArns?: readonly pulumi.Input<string | undefined>[];
}

/**
 * A cluster that can hand a ServiceAccount its own IAM role (a TrainingCluster on EKS). Components that
 * deploy to a cluster check for this shape instead of importing the cluster's module.
 */
export interface ServiceAccountRoleHost {
  readonly provider: k8s.Provider;
  /** The role, or undefined where the cluster cannot issue one (e.g. a cluster reached by kubeconfig). */
  addServiceAccountRole(name: string, args: ServiceAccountRoleArgs, opts?: pulumi.CustomResourceOptions): aws.iam.Role | undefined;
}

/** True for an object with a Kubernetes `provider` and an `addServiceAccountRole` method. */
export function isServiceAccountRoleHost(target: unknown): target is ServiceAccountRoleHost {
  if (target === null || typeof target !== "object") return false;
  const t = target as Record<string, unknown>;
  return k8s.Provider.isInstance(t.provider) && typeof t.addServiceAccountRole === "function";
}
