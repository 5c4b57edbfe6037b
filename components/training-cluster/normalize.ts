import type * as pulumi from "@pulumi/pulumi";
import { problem } from "../../src/errors.js";
import { GPU_RESOURCE } from "../shared/constants.js";
import { schemaProblems, throwProblems } from "../shared/validate.js";
import {
  TrainingClusterArgsSchema,
  type EksArgs,
  type GpuAmiType,
  type NodeTaint,
  type TeamArgs,
  type TrainingClusterArgs,
} from "./args.js";
import { gpuQuotaByPoolProblems, resolveGpuQuotaByPool } from "./gpu-quota.js";

/**
 * The EKS Kubernetes version a cluster gets when `eks.version` is not given: the newest version in
 * standard support (see {@link EKS_STANDARD_SUPPORT_END}). Bump it with the table.
 */
export const EKS_DEFAULT_VERSION = "1.35";

/**
 * End of EKS standard support (UTC) by Kubernetes minor version, from the EKS release calendar:
 * https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html#kubernetes-release-calendar
 * After it a cluster pays for extended support, or (upgradePolicy STANDARD, which this package sets)
 * is upgraded by EKS when AWS chooses. Versions older than the first row are past it too.
 */
export const EKS_STANDARD_SUPPORT_END: Readonly<Record<string, string>> = {
  "1.29": "2025-03-23",
  "1.30": "2025-07-23",
  "1.31": "2025-11-26",
  "1.32": "2026-03-23",
  "1.33": "2026-07-29",
  "1.34": "2026-12-02",
  "1.35": "2027-03-27",
};

/** The first Kubernetes version for which EKS publishes no Amazon Linux 2 AMI (AL2 reached end of support on 2025-11-26). */
export const EKS_FIRST_VERSION_WITHOUT_AL2 = "1.33";

/** The cluster autoscaler release that matches a Kubernetes minor version (`1.35` → `v1.35.0`). */
export function clusterAutoscalerImageTag(version: string): string {
  return `v${version}.0`;
}

/** Every default of TrainingCluster, in one place (the JSDoc in args.ts states the same values). */
export const CLUSTER_DEFAULTS = {
  eksVersion: EKS_DEFAULT_VERSION,
  /** The cluster's upgrade policy: never drift into paid extended support. */
  supportType: "STANDARD",
  poolMin: 0,
  poolMax: 2,
  poolDiskSizeGiB: 200,
  poolAmiType: "AL2023_x86_64_NVIDIA" as GpuAmiType,
  systemNodes: { instanceType: "m6i.large", min: 2, max: 4 },
  systemAmiType: "AL2023_x86_64_STANDARD",
  endpointPublicAccess: true,
  devicePluginChartVersion: "0.17.1",
  dcgmExporterChartVersion: "4.1.1",
  kueueChartVersion: "0.13.4",
  clusterAutoscalerChartVersion: "9.46.6",
  /** Kueue's ClusterQueue must cover cpu and memory too; without a team quota these are "unlimited enough". */
  kueueCpuQuota: "1000",
  kueueMemoryQuota: "8Ti",
} as const;

export { GPU_RESOURCE };
/** The taint every EKS GPU group gets, so only pods that ask for GPUs land there. */
export const GPU_TAINT: NodeTaint = { key: GPU_RESOURCE, value: "true", effect: "NoSchedule" };
export const POOL_LABEL = "mlops.dev/node-pool";
export const GPU_TYPE_LABEL = "mlops.dev/gpu-type";
/** Set on EKS GPU groups: the device plugin chart's default node affinity looks for it. */
export const GPU_PRESENT_LABEL = "nvidia.com/gpu.present";
/**
 * Set on EKS GPU groups (value: the GPU type). The cluster autoscaler's AWS provider reads it as its GPU
 * label: a node that carries it but does not advertise `nvidia.com/gpu` yet (the device plugin is still
 * starting) counts as unready, instead of as a node that cannot fit the pending pod, which would make
 * the autoscaler scale out again. Its node-template tag lets a group scaled to zero match too.
 */
export const ACCELERATOR_LABEL = "k8s.amazonaws.com/accelerator";
/** Namespace of jobs that name no team. */
export const DEFAULT_TRAINING_NAMESPACE = "mlops-training";
/** Namespace of the GPU node agents (device plugin, DCGM exporter): the one Pod Security exception. */
export const GPU_SYSTEM_NAMESPACE = "mlops-gpu-system";
export const KUEUE_NAMESPACE = "kueue-system";
export const PRIORITY_TRAINING = "mlops-training";
export const PRIORITY_SERVING = "mlops-serving";

/** GPU model by EC2 instance family, for the default `gpuType`. */
const GPU_BY_FAMILY: Record<string, string> = {
  p5: "nvidia-h100",
  p5e: "nvidia-h200",
  p5en: "nvidia-h200",
  p4d: "nvidia-a100",
  p4de: "nvidia-a100",
  p3: "nvidia-v100",
  p3dn: "nvidia-v100",
  g6e: "nvidia-l40s",
  g6: "nvidia-l4",
  g5: "nvidia-a10g",
  g4dn: "nvidia-t4",
  g5g: "nvidia-t4g",
};

export interface NormalizedPool {
  readonly name: string;
  readonly gpusPerNode: number;
  readonly gpuType: string;
  /** Every label the nodes carry (EKS: what we set; kubeconfig: what the user said they carry). */
  readonly nodeLabels: Readonly<Record<string, string>>;
  /** The labels a job's nodeSelector uses to land on this pool. */
  readonly selector: Readonly<Record<string, string>>;
  readonly taints: readonly NodeTaint[];
  /** EKS managed node group settings; absent on the kubeconfig path. */
  readonly eks?: {
    readonly instanceTypes: readonly string[];
    readonly min: number;
    readonly max: number;
    readonly spot: boolean;
    readonly diskSizeGiB: number;
    readonly amiType: GpuAmiType;
  };
}

export interface NormalizedEks {
  readonly version: string;
  readonly supportType: "STANDARD";
  readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  readonly systemNodes: { readonly instanceType: string; readonly min: number; readonly max: number };
  readonly endpointPublicAccess: boolean;
  readonly clusterAutoscaler: false | { readonly chartVersion: string; readonly imageTag: string };
  readonly tags: Readonly<Record<string, string>>;
}

export interface NormalizedTeam {
  readonly name: string;
  readonly gpuQuota: number;
  readonly cpuQuota?: string;
  readonly memoryQuota?: string;
  /** The team's GPU quota on every pool, in pool order; the values add up to `gpuQuota`. */
  readonly gpuQuotaByPool: Readonly<Record<string, number>>;
}

export interface NormalizedCluster {
  readonly eks?: NormalizedEks;
  readonly kubeconfig?: pulumi.Input<string>;
  readonly pools: readonly NormalizedPool[];
  readonly teams: readonly NormalizedTeam[];
  readonly devicePlugin: false | { readonly chartVersion: string };
  readonly dcgmExporter: false | { readonly chartVersion: string };
  readonly kueue: false | { readonly chartVersion: string; readonly teams: readonly string[] };
  /** Things that deploy but that the user should fix (e.g. a version past standard support). */
  readonly warnings: readonly string[];
}

const EKS_ONLY_POOL_FIELDS = ["instanceType", "instanceTypes", "min", "max", "spot", "diskSizeGiB", "amiType"] as const;

/**
 * Validates the args (shape and every cross-field rule) and fills in the defaults. Throws one
 * MlopsError listing every problem found, each with the value received and the fix.
 */
export function normalizeClusterArgs(args: TrainingClusterArgs, context = "TrainingCluster", now: Date = new Date()): NormalizedCluster {
  throwProblems(context, [...schemaProblems(TrainingClusterArgsSchema, args), ...crossFieldProblems(args)]);
  const eks = args.eks ? normalizeEks(args.eks) : undefined;
  const pools = (args.nodePools ?? []).map((p) => {
    const base = { name: p.name, gpusPerNode: p.gpusPerNode };
    if (!eks) {
      const taints = p.taints ?? [GPU_TAINT];
      const nodeLabels = { ...(p.labels ?? {}) };
      return { ...base, gpuType: p.gpuType ?? p.name, nodeLabels, selector: nodeLabels, taints };
    }
    const instanceTypes = p.instanceTypes ?? [p.instanceType!];
    const gpuType = p.gpuType ?? gpuTypeFor(instanceTypes[0]!) ?? p.name;
    const nodeLabels = {
      ...(p.labels ?? {}),
      [POOL_LABEL]: p.name,
      [GPU_TYPE_LABEL]: gpuType,
      [GPU_PRESENT_LABEL]: "true",
      [ACCELERATOR_LABEL]: gpuType,
    };
    return {
      ...base,
      gpuType,
      nodeLabels,
      selector: { [POOL_LABEL]: p.name },
      taints: [GPU_TAINT, ...(p.taints ?? []).filter((t) => t.key !== GPU_TAINT.key)],
      eks: {
        instanceTypes,
        min: p.min ?? CLUSTER_DEFAULTS.poolMin,
        max: p.max ?? Math.max(CLUSTER_DEFAULTS.poolMax, p.min ?? 0),
        spot: p.spot ?? false,
        diskSizeGiB: p.diskSizeGiB ?? CLUSTER_DEFAULTS.poolDiskSizeGiB,
        amiType: p.amiType ?? CLUSTER_DEFAULTS.poolAmiType,
      },
    } satisfies NormalizedPool;
  });
  const teams: NormalizedTeam[] = (args.teams ?? []).map((t: TeamArgs) => ({
    ...t,
    gpuQuotaByPool: resolveGpuQuotaByPool(t.gpuQuota, t.gpuQuotaByPool, pools),
  }));
  const dcgm = args.dcgmExporter;
  // Bottlerocket's NVIDIA variants run their own device plugin; a second one would fight it for the GPUs.
  const needsDevicePlugin = !eks || pools.length === 0 || pools.some((p) => !shipsDevicePlugin(p));
  return {
    eks,
    kubeconfig: args.kubeconfig,
    pools,
    teams,
    devicePlugin: args.devicePlugin === false || !needsDevicePlugin ? false : { chartVersion: args.devicePlugin?.chartVersion ?? CLUSTER_DEFAULTS.devicePluginChartVersion },
    dcgmExporter: !dcgm ? false : { chartVersion: (dcgm === true ? undefined : dcgm.chartVersion) ?? CLUSTER_DEFAULTS.dcgmExporterChartVersion },
    kueue: args.kueue
      ? { chartVersion: args.kueue.chartVersion ?? CLUSTER_DEFAULTS.kueueChartVersion, teams: args.kueue.teams ?? teams.map((t) => t.name) }
      : false,
    warnings: eks ? eksVersionWarnings(eks.version, now) : [],
  };
}

/** Whether the pool's AMI ships the NVIDIA device plugin itself (Bottlerocket's NVIDIA variants do). */
export function shipsDevicePlugin(pool: NormalizedPool): boolean {
  return pool.eks?.amiType.startsWith("BOTTLEROCKET_") ?? false;
}

/** A warning when `version` is past its end of EKS standard support at `now`; none for versions newer than the table. */
export function eksVersionWarnings(version: string, now: Date): string[] {
  const end = EKS_STANDARD_SUPPORT_END[version];
  const oldest = Object.keys(EKS_STANDARD_SUPPORT_END).sort(compareMinor)[0]!;
  const past = end ? now.getTime() >= Date.parse(`${end}T00:00:00Z`) : compareMinor(version, oldest) < 0;
  if (!past) return [];
  return [
    `eks.version ${JSON.stringify(version)} is past its end of EKS standard support${end ? ` (${end})` : ""}: with upgradePolicy STANDARD, EKS upgrades the cluster when it chooses (and may refuse to create it). Set eks.version to "${EKS_DEFAULT_VERSION}" (or leave it out).`,
  ];
}

/** Orders Kubernetes minor versions numerically ("1.9" < "1.10"). */
function compareMinor(a: string, b: string): number {
  const [am, an] = a.split(".").map(Number);
  const [bm, bn] = b.split(".").map(Number);
  return am! - bm! || an! - bn!;
}

function normalizeEks(e: EksArgs): NormalizedEks {
  const d = CLUSTER_DEFAULTS.systemNodes;
  const min = e.systemNodes?.min ?? d.min;
  const version = e.version ?? CLUSTER_DEFAULTS.eksVersion;
  return {
    version,
    supportType: CLUSTER_DEFAULTS.supportType,
    subnetIds: e.subnetIds,
    systemNodes: {
      instanceType: e.systemNodes?.instanceType ?? d.instanceType,
      min,
      max: e.systemNodes?.max ?? Math.max(d.max, min),
    },
    endpointPublicAccess: e.endpointPublicAccess ?? CLUSTER_DEFAULTS.endpointPublicAccess,
    clusterAutoscaler:
      e.clusterAutoscaler === false
        ? false
        : {
            chartVersion: e.clusterAutoscaler?.chartVersion ?? CLUSTER_DEFAULTS.clusterAutoscalerChartVersion,
            // The autoscaler's minor version must match the cluster's.
            imageTag: e.clusterAutoscaler?.imageTag ?? clusterAutoscalerImageTag(version),
          },
    tags: e.tags ?? {},
  };
}

/** The GPU model of an EC2 instance type's family, when known (`p4d.24xlarge` → `nvidia-a100`). */
export function gpuTypeFor(instanceType: string): string | undefined {
  return GPU_BY_FAMILY[instanceType.split(".")[0]!];
}

/** Rules that span fields; tolerant of a bad shape (the schema reports that). */
function crossFieldProblems(args: TrainingClusterArgs): string[] {
  const out: string[] = [];
  const a = (args ?? {}) as TrainingClusterArgs;
  if (a.eks !== undefined && a.kubeconfig !== undefined) {
    out.push(problem("eks", "is given together with kubeconfig", "both", "Give either eks (to create an EKS cluster) or kubeconfig (to use an existing cluster), not both."));
  } else if (a.eks === undefined && a.kubeconfig === undefined) {
    out.push(problem("(root)", "names no cluster", undefined, "Give eks: { subnetIds } to create an EKS cluster, or kubeconfig to use an existing one."));
  }
  const onEks = a.eks !== undefined;
  const version = typeof a.eks?.version === "string" && /^1\.[0-9]+$/.test(a.eks.version) ? a.eks.version : CLUSTER_DEFAULTS.eksVersion;
  const pools = Array.isArray(a.nodePools) ? a.nodePools : [];
  const seen = new Set<string>();
  pools.forEach((p, i) => {
    if (!p || typeof p !== "object") return;
    const at = `nodePools[${i}]`;
    if (seen.has(p.name)) out.push(problem(`${at}.name`, "repeats another pool's name", p.name, "Give every pool a distinct name."));
    seen.add(p.name);
    if (onEks) {
      if (p.instanceType === undefined && p.instanceTypes === undefined) {
        out.push(problem(`${at}.instanceType`, "is missing", undefined, 'Give instanceType (e.g. "g5.xlarge") or instanceTypes for an EKS node pool.'));
      } else if (p.instanceType !== undefined && p.instanceTypes !== undefined) {
        out.push(problem(`${at}.instanceTypes`, "is given together with instanceType", p.instanceTypes, "Give one of instanceType and instanceTypes."));
      }
      if (p.amiType?.startsWith("AL2_") && compareMinor(version, EKS_FIRST_VERSION_WITHOUT_AL2) >= 0) {
        out.push(
          problem(
            `${at}.amiType`,
            `is an Amazon Linux 2 AMI, which EKS does not publish for Kubernetes ${EKS_FIRST_VERSION_WITHOUT_AL2} and later (eks.version is ${JSON.stringify(version)})`,
            p.amiType,
            'Use "AL2023_x86_64_NVIDIA" (the default) or "BOTTLEROCKET_x86_64_NVIDIA".',
          ),
        );
      }
      const min = p.min ?? CLUSTER_DEFAULTS.poolMin;
      if (p.max !== undefined && typeof min === "number" && min > p.max) {
        out.push(problem(`${at}.min`, `is greater than max (${p.max})`, p.min, "Set min at most max (min: 0 lets the pool scale to zero)."));
      }
    } else {
      for (const f of EKS_ONLY_POOL_FIELDS) {
        if (p[f] !== undefined) {
          out.push(problem(`${at}.${f}`, "applies only to EKS node pools", p[f], "Remove it: with kubeconfig the nodes exist already; describe them by labels and taints."));
        }
      }
      if (!p.labels || Object.keys(p.labels).length === 0) {
        out.push(problem(`${at}.labels`, "is empty", p.labels, 'Give the labels that select this pool\'s nodes, e.g. { "node.kubernetes.io/instance-type": "g5.xlarge" }.'));
      }
    }
  });
  const sys = a.eks?.systemNodes;
  if (sys && typeof sys.min === "number" && typeof sys.max === "number" && sys.min > sys.max) {
    out.push(problem("eks.systemNodes.min", `is greater than max (${sys.max})`, sys.min, "Set min at most max."));
  }
  const teams = Array.isArray(a.teams) ? a.teams : [];
  const poolNames = pools.filter((p) => p && typeof p === "object" && typeof p.name === "string").map((p) => p.name);
  const teamNames = new Set<string>();
  teams.forEach((t, i) => {
    if (t && teamNames.has(t.name)) out.push(problem(`teams[${i}].name`, "repeats another team's name", t.name, "Give every team a distinct name."));
    if (t) teamNames.add(t.name);
    if (t?.name === DEFAULT_TRAINING_NAMESPACE || t?.name === GPU_SYSTEM_NAMESPACE || t?.name === KUEUE_NAMESPACE || t?.name?.startsWith("kube-")) {
      out.push(problem(`teams[${i}].name`, "is a namespace this package or Kubernetes reserves", t.name, "Pick another team name."));
    }
    if (t && typeof t === "object") out.push(...gpuQuotaByPoolProblems(`teams[${i}]`, t, poolNames));
  });
  if (a.kueue) {
    const kteams = a.kueue.teams ?? [...teamNames];
    if (kteams.length === 0) out.push(problem("kueue", "has no team to queue for", a.kueue, "Add teams: [{ name, gpuQuota }] (each gets a LocalQueue), or leave kueue out."));
    (a.kueue.teams ?? []).forEach((t, i) => {
      if (!teamNames.has(t)) out.push(problem(`kueue.teams[${i}]`, "names no team", t, `Use one of the teams: ${[...teamNames].join(", ") || "(none declared)"}.`));
    });
    if (pools.length === 0) out.push(problem("kueue", "has no node pool to make a flavor of", a.kueue, "Add nodePools, or leave kueue out."));
  }
  return out;
}
