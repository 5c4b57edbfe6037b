/** Pure builders for the cluster's tenancy objects: namespaces, quotas, priority classes, Kueue queues. */
import { recommendedLabels } from "../../src/naming.js";
import { tolerationsFor } from "./node-pools.js";
import {
  CLUSTER_DEFAULTS,
  GPU_RESOURCE,
  PRIORITY_SERVING,
  PRIORITY_TRAINING,
  type NormalizedPool,
  type NormalizedTeam,
} from "./normalize.js";

/** A Kubernetes object as plain data. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export const KUEUE_API = "kueue.x-k8s.io/v1beta1";
/** Jobs join a team's LocalQueue through this label. */
export const QUEUE_LABEL = "kueue.x-k8s.io/queue-name";
export const PRIORITY_VALUES = { training: 1_000, serving: 100_000 } as const;

/** Who owns an object: the cluster's logical name, its physical name (instance) and the project. */
export interface LabelContext {
  readonly name: string;
  readonly instance: string;
  readonly partOf: string;
}

/** Recommended `app.kubernetes.io/*` labels for an object this component owns. */
export function clusterLabels(ctx: LabelContext, component: string): Record<string, string> {
  return recommendedLabels({ ...ctx, component: `training-cluster-${component}` });
}

/**
 * A namespace with its Pod Security level. Workload namespaces enforce "restricted"; only the GPU
 * node-agent namespace is "privileged" (the device plugin mounts the kubelet's device-plugin socket dir).
 */
export function namespaceManifest(name: string, owner: LabelContext, level: "restricted" | "privileged", extra: Record<string, string> = {}): Manifest {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name,
      labels: {
        ...clusterLabels(owner, "namespace"),
        ...extra,
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": level,
        "pod-security.kubernetes.io/audit": level,
      },
    },
  };
}

/** The team's ResourceQuota: GPUs always, CPU and memory when the team sets them. */
export function teamQuotaManifest(team: NormalizedTeam, owner: LabelContext): Manifest {
  const hard: Record<string, string> = { [`requests.${GPU_RESOURCE}`]: String(team.gpuQuota) };
  if (team.cpuQuota) hard["requests.cpu"] = team.cpuQuota;
  if (team.memoryQuota) hard["requests.memory"] = team.memoryQuota;
  return {
    apiVersion: "v1",
    kind: "ResourceQuota",
    metadata: { name: "gpu-quota", namespace: team.name, labels: clusterLabels(owner, "quota") },
    spec: { hard },
  };
}

/**
 * Two priority classes: training never preempts (it waits for capacity or for Kueue), serving may
 * preempt lower priorities, so a traffic spike can take GPUs back from a training job.
 */
export function priorityClassManifests(owner: LabelContext): Manifest[] {
  return [
    {
      apiVersion: "scheduling.k8s.io/v1",
      kind: "PriorityClass",
      metadata: { name: PRIORITY_TRAINING, labels: clusterLabels(owner, "priority") },
      value: PRIORITY_VALUES.training,
      preemptionPolicy: "Never",
      globalDefault: false,
      description: "Training jobs: wait for capacity, never preempt; may be preempted by serving.",
    },
    {
      apiVersion: "scheduling.k8s.io/v1",
      kind: "PriorityClass",
      metadata: { name: PRIORITY_SERVING, labels: clusterLabels(owner, "priority") },
      value: PRIORITY_VALUES.serving,
      preemptionPolicy: "PreemptLowerPriority",
      globalDefault: false,
      description: "Model serving: may preempt training pods.",
    },
  ];
}

/** One ResourceFlavor per node pool: Kueue pins admitted pods to the pool and adds its tolerations. */
export function resourceFlavorManifest(pool: NormalizedPool, owner: LabelContext): Manifest {
  return {
    apiVersion: KUEUE_API,
    kind: "ResourceFlavor",
    metadata: { name: pool.name, labels: clusterLabels(owner, "kueue") },
    spec: { nodeLabels: { ...pool.selector }, tolerations: tolerationsFor(pool) },
  };
}

/**
 * One ClusterQueue per team. Each pool is a flavor whose GPU quota is the team's share on that pool
 * (`gpuQuotaByPool`, adding up to `gpuQuota`), so Kueue never admits more GPUs than the namespace
 * ResourceQuota lets the team's pods request. No cohort: borrowing another team's idle quota would again
 * admit workloads whose pods the ResourceQuota refuses.
 * cpu and memory are covered too: Kueue leaves a workload inadmissible if it requests an uncovered resource.
 */
export function clusterQueueManifest(team: NormalizedTeam, pools: readonly NormalizedPool[], owner: LabelContext): Manifest {
  return {
    apiVersion: KUEUE_API,
    kind: "ClusterQueue",
    metadata: { name: team.name, labels: clusterLabels(owner, "kueue") },
    spec: {
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": team.name } },
      queueingStrategy: "BestEffortFIFO",
      preemption: { withinClusterQueue: "LowerPriority" },
      resourceGroups: [
        {
          coveredResources: ["cpu", "memory", GPU_RESOURCE],
          flavors: pools.map((p) => ({
            name: p.name,
            resources: [
              { name: "cpu", nominalQuota: team.cpuQuota ?? CLUSTER_DEFAULTS.kueueCpuQuota },
              { name: "memory", nominalQuota: team.memoryQuota ?? CLUSTER_DEFAULTS.kueueMemoryQuota },
              { name: GPU_RESOURCE, nominalQuota: team.gpuQuotaByPool[p.name] ?? 0 },
            ],
          })),
        },
      ],
    },
  };
}

/** The team's LocalQueue, named after the team, in its namespace. */
export function localQueueManifest(team: string, owner: LabelContext): Manifest {
  return {
    apiVersion: KUEUE_API,
    kind: "LocalQueue",
    metadata: { name: team, namespace: team, labels: clusterLabels(owner, "kueue") },
    spec: { clusterQueue: team },
  };
}
