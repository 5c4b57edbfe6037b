import { GPU_RESOURCE, type NormalizedPool } from "./normalize.js";
import type { NodeTaint } from "./args.js";

/** Prefix of the tags the cluster autoscaler reads to build a template node for an empty group. */
export const NODE_TEMPLATE_TAG = "k8s.io/cluster-autoscaler/node-template";

const EKS_TAINT_EFFECT: Record<NodeTaint["effect"], string> = {
  NoSchedule: "NO_SCHEDULE",
  PreferNoSchedule: "PREFER_NO_SCHEDULE",
  NoExecute: "NO_EXECUTE",
};

/** The pool's taints in the EKS NodeGroup API's spelling (`NO_SCHEDULE`). */
export function eksTaints(pool: NormalizedPool): { key: string; value?: string; effect: string }[] {
  return pool.taints.map((t) => ({ key: t.key, ...(t.value !== undefined ? { value: t.value } : {}), effect: EKS_TAINT_EFFECT[t.effect] }));
}

/**
 * Tags that let the cluster autoscaler scale an empty group up from zero: with no node to look at, it
 * learns the labels, taints and GPU count a new node would have from these, and finds the group through
 * auto-discovery (`enabled` + `<cluster>`). See the autoscaler's AWS FAQ, "Auto-Discovery Setup" and
 * "How can I scale a node group to 0?".
 */
export function scaleFromZeroTags(pool: NormalizedPool, clusterName: string): Record<string, string> {
  const tags: Record<string, string> = {
    "k8s.io/cluster-autoscaler/enabled": "true",
    [`k8s.io/cluster-autoscaler/${clusterName}`]: "owned",
    [`${NODE_TEMPLATE_TAG}/resources/${GPU_RESOURCE}`]: String(pool.gpusPerNode),
  };
  for (const [k, v] of Object.entries(pool.nodeLabels)) tags[`${NODE_TEMPLATE_TAG}/label/${k}`] = v;
  for (const t of pool.taints) tags[`${NODE_TEMPLATE_TAG}/taint/${t.key}`] = `${t.value ?? ""}:${t.effect}`;
  return tags;
}

/** Tolerations a pod needs to land on the pool. */
export function tolerationsFor(pool: NormalizedPool): { key: string; operator: string; value?: string; effect: string }[] {
  return pool.taints.map((t) =>
    t.value === undefined
      ? { key: t.key, operator: "Exists", effect: t.effect }
      : { key: t.key, operator: "Equal", value: t.value, effect: t.effect },
  );
}

/** The nodeSelector that pins a pod to the pool. */
export function nodeSelectorFor(pool: NormalizedPool): Record<string, string> {
  return { ...pool.selector };
}

/**
 * A node affinity matching any of the pools (nodeSelectorTerms are ORed), for the GPU node agents.
 * Undefined when there is no pool.
 */
export function anyPoolAffinity(pools: readonly NormalizedPool[]): Record<string, unknown> | undefined {
  const terms = pools
    .filter((p) => Object.keys(p.selector).length > 0)
    .map((p) => ({
      matchExpressions: Object.entries(p.selector).map(([key, value]) => ({ key, operator: "In", values: [value] })),
    }));
  if (terms.length === 0) return undefined;
  return { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } };
}
