/**
 * Kubernetes and runtime-image facts more than one component writes into its manifests. No imports, so
 * the pure builders that use them load without the Pulumi providers.
 */

/** The extended resource the NVIDIA device plugin advertises (requests, limits, quotas, the GPU taint's key). */
export const GPU_RESOURCE = "nvidia.com/gpu";

/** IRSA: the ServiceAccount annotation EKS reads to hand pods an IAM role. */
export const IRSA_ANNOTATION = "eks.amazonaws.com/role-arn";

/** The non-root user the runtime image runs as (runtime/Dockerfile: USER 10001). */
export const RUNTIME_UID = 10001;
