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

/**
 * Where serving pods go on a cluster that has a node pool for them (a TrainingCluster on EKS creates one):
 * the nodes carry `label` and the `taint`, so only pods that select and tolerate them land there, and system
 * pods (CoreDNS, the autoscaler) stay on the system group.
 */
export const SERVING_POOL = {
  name: "serving",
  label: { key: "mlops.dev/node-pool", value: "serving" },
  taint: { key: "mlops.dev/serving", value: "true", effect: "NoSchedule" },
} as const;

/** Node selector and tolerations that put a pod on a cluster's serving pool (what a cluster exposes as `servingPlacement`). */
export interface Placement {
  readonly nodeSelector: Readonly<Record<string, string>>;
  readonly tolerations: readonly { readonly key: string; readonly operator: "Equal" | "Exists"; readonly value?: string; readonly effect: string }[];
}

/** The placement on a SERVING_POOL. */
export const SERVING_PLACEMENT: Placement = {
  nodeSelector: { [SERVING_POOL.label.key]: SERVING_POOL.label.value },
  tolerations: [{ key: SERVING_POOL.taint.key, operator: "Equal", value: SERVING_POOL.taint.value, effect: SERVING_POOL.taint.effect }],
};
