/** Pure builders for the cluster's tenancy objects: namespaces, quotas, priority classes, Kueue queues. */
import { physicalName, recommendedLabels } from "../../src/naming.js";
import {
  CLUSTER_DEFAULTS,
  GPU_RESOURCE,
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

/**
 * The names of the cluster-scoped objects one stack owns on its cluster: `${project}-${stage}-…`.
 *
 * Why the stack is in the name (issue 7, item 7): several stacks may share one cluster (two engineers'
 * dev stacks on one dev cluster, through `kubeconfig`), and pulumi-kubernetes (≥ 4.29) refuses to adopt
 * an object that already exists, so fixed names (`mlops-training`, a team's `fraud`) make the second
 * stack's `pulumi up` fail. Owning these once in one stack and referencing them from the others was the
 * alternative; it couples the stacks' lifecycles (destroying the owner deletes the PriorityClass every
 * other stack's pods name, and new pods are then refused at admission), and each stack's quotas are its
 * own anyway. So every stack gets its own namespaces, PriorityClasses (same values in every stack, so
 * preemption across stacks stays as it is within one), ResourceFlavors and ClusterQueues.
 *
 * What cannot exist twice per cluster is not renamed: the GPU node agents (two device plugins on one node
 * fight over the kubelet's socket) and the Kueue controller (its CRDs and webhooks are cluster-wide) stay
 * in `mlops-gpu-system` and `kueue-system`, installed by the one stack that owns the cluster's add-ons;
 * the others set `devicePlugin: false` (and leave `dcgmExporter` off).
 * https://github.com/pulumi/pulumi-kubernetes/pull/4278 (creates no longer upsert an existing object)
 */
export interface TenancyNames {
  /** Namespace of jobs that name no team: `${project}-${stage}-training`. */
  readonly trainingNamespace: string;
  /** Each team's namespace: `${project}-${stage}-${team}`. */
  readonly teamNamespaces: Readonly<Record<string, string>>;
  readonly priorityClasses: { readonly training: string; readonly serving: string };
  /** Each pool's Kueue ResourceFlavor: `${project}-${stage}-${pool}`. */
  readonly flavors: Readonly<Record<string, string>>;
  /** The Kueue ResourceFlavor of CPU-only workloads: `${project}-${stage}-cpu`. */
  readonly cpuFlavor: string;
  /** Each team's Kueue ClusterQueue: `${project}-${stage}-${team}`. */
  readonly clusterQueues: Readonly<Record<string, string>>;
}

/** Suffix of the default training namespace; a team of this name would take the same namespace. */
export const TRAINING_NAMESPACE_SUFFIX = "training";
/** Suffix of the CPU flavor; a pool of this name would take the same flavor. */
export const CPU_FLAVOR_SUFFIX = "cpu";

/** The names of the objects a stack (`project`, `stage`) owns on its cluster; see {@link TenancyNames}. */
export function tenancyNames(
  stack: { readonly project: string; readonly stage: string },
  pools: readonly { readonly name: string }[],
  teams: readonly { readonly name: string }[],
): TenancyNames {
  const n = (name: string) => physicalName({ ...stack, name });
  const byName = (xs: readonly { readonly name: string }[]) => Object.fromEntries(xs.map((x) => [x.name, n(x.name)]));
  return {
    trainingNamespace: n(TRAINING_NAMESPACE_SUFFIX),
    teamNamespaces: byName(teams),
    // A PriorityClass and a Namespace may share a name (different kinds): `…-training` is both.
    priorityClasses: { training: n("training"), serving: n("serving") },
    flavors: byName(pools),
    cpuFlavor: n(CPU_FLAVOR_SUFFIX),
    clusterQueues: byName(teams),
  };
}

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
export function teamQuotaManifest(team: NormalizedTeam, namespace: string, owner: LabelContext): Manifest {
  const hard: Record<string, string> = { [`requests.${GPU_RESOURCE}`]: String(team.gpuQuota) };
  if (team.cpuQuota) hard["requests.cpu"] = team.cpuQuota;
  if (team.memoryQuota) hard["requests.memory"] = team.memoryQuota;
  return {
    apiVersion: "v1",
    kind: "ResourceQuota",
    metadata: { name: "gpu-quota", namespace, labels: clusterLabels(owner, "quota") },
    spec: { hard },
  };
}

/**
 * Two priority classes: training never preempts (it waits for capacity or for Kueue), serving may
 * preempt lower priorities, so a traffic spike can take GPUs back from a training job.
 */
export function priorityClassManifests(names: TenancyNames["priorityClasses"], owner: LabelContext): Manifest[] {
  return [
    {
      apiVersion: "scheduling.k8s.io/v1",
      kind: "PriorityClass",
      metadata: { name: names.training, labels: clusterLabels(owner, "priority") },
      value: PRIORITY_VALUES.training,
      preemptionPolicy: "Never",
      globalDefault: false,
      description: "Training jobs: wait for capacity, never preempt; may be preempted by serving.",
    },
    {
      apiVersion: "scheduling.k8s.io/v1",
      kind: "PriorityClass",
      metadata: { name: names.serving, labels: clusterLabels(owner, "priority") },
      value: PRIORITY_VALUES.serving,
      preemptionPolicy: "PreemptLowerPriority",
      globalDefault: false,
      description: "Model serving: may preempt training pods.",
    },
  ];
}

/**
 * One ResourceFlavor per node pool. Its `nodeTaints` are the pool's taints (the GPU taint first): Kueue
 * assigns a flavor only to a workload whose pods tolerate its taints, so a CPU-only job (no GPU
 * toleration) is never admitted onto a GPU pool's quota. No flavor `tolerations`: Kueue would add them
 * to every pod it admits there, which is how a CPU-only job used to end up on GPU nodes. A job on a pool
 * carries the pool's tolerations and node selector itself (training-job/manifests.ts).
 * https://kueue.sigs.k8s.io/docs/concepts/resource_flavor/#resourceflavor-taints
 */
export function resourceFlavorManifest(pool: NormalizedPool, name: string, owner: LabelContext): Manifest {
  return {
    apiVersion: KUEUE_API,
    kind: "ResourceFlavor",
    metadata: { name, labels: clusterLabels(owner, "kueue") },
    spec: { nodeLabels: { ...pool.selector }, nodeTaints: pool.taints.map((t) => ({ ...t })) },
  };
}

/**
 * The flavor of CPU-only workloads (issue 7, item 14): no node labels and no taints, so its pods go where
 * untainted capacity is (the system group on EKS, any node of a kubeconfig cluster) and never onto GPU
 * nodes, which are tainted. It is listed last in every ClusterQueue with a GPU quota of 0, so a GPU
 * workload can never be admitted on it. Not the serving pool: that pool is tainted for endpoints, and a
 * training job there would take the capacity their autoscaling counts on.
 */
export function cpuFlavorManifest(name: string, owner: LabelContext): Manifest {
  return { apiVersion: KUEUE_API, kind: "ResourceFlavor", metadata: { name, labels: clusterLabels(owner, "kueue") }, spec: {} };
}

/**
 * One ClusterQueue per team. Each pool is a flavor whose GPU quota is the team's share on that pool
 * (`gpuQuotaByPool`, adding up to `gpuQuota`), so Kueue never admits more GPUs than the namespace
 * ResourceQuota lets the team's pods request. No cohort: borrowing another team's idle quota would again
 * admit workloads whose pods the ResourceQuota refuses. The CPU flavor comes last with no GPU quota: Kueue
 * tries flavors in order, and a CPU-only workload, which tolerates no pool's taints, falls through to it.
 * cpu and memory are covered too: Kueue leaves a workload inadmissible if it requests an uncovered resource.
 */
export function clusterQueueManifest(team: NormalizedTeam, pools: readonly NormalizedPool[], names: TenancyNames, owner: LabelContext): Manifest {
  const cpu = { name: "cpu", nominalQuota: team.cpuQuota ?? CLUSTER_DEFAULTS.kueueCpuQuota };
  const memory = { name: "memory", nominalQuota: team.memoryQuota ?? CLUSTER_DEFAULTS.kueueMemoryQuota };
  return {
    apiVersion: KUEUE_API,
    kind: "ClusterQueue",
    metadata: { name: names.clusterQueues[team.name]!, labels: clusterLabels(owner, "kueue") },
    spec: {
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": names.teamNamespaces[team.name]! } },
      queueingStrategy: "BestEffortFIFO",
      preemption: { withinClusterQueue: "LowerPriority" },
      resourceGroups: [
        {
          coveredResources: ["cpu", "memory", GPU_RESOURCE],
          flavors: [
            ...pools.map((p) => ({
              name: names.flavors[p.name]!,
              resources: [cpu, memory, { name: GPU_RESOURCE, nominalQuota: team.gpuQuotaByPool[p.name] ?? 0 }],
            })),
            { name: names.cpuFlavor, resources: [cpu, memory, { name: GPU_RESOURCE, nominalQuota: 0 }] },
          ],
        },
      ],
    },
  };
}

/** The team's LocalQueue, named after the team (jobs' queue label), in the team's namespace. */
export function localQueueManifest(team: string, names: TenancyNames, owner: LabelContext): Manifest {
  return {
    apiVersion: KUEUE_API,
    kind: "LocalQueue",
    metadata: { name: team, namespace: names.teamNamespaces[team]!, labels: clusterLabels(owner, "kueue") },
    spec: { clusterQueue: names.clusterQueues[team]! },
  };
}
