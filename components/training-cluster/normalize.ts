import type * as pulumi from "@pulumi/pulumi";
import { problem } from "../../src/errors.js";
import { GPU_RESOURCE, SERVING_POOL } from "../shared/constants.js";
import { stackContext, stageTier } from "../shared/stage.js";
import { schemaProblems, throwProblems } from "../shared/validate.js";
import {
  TrainingClusterArgsSchema,
  type EksAddonName,
  type EksArgs,
  type EksLogType,
  type GpuAmiType,
  type NodeTaint,
  type TeamArgs,
  type TrainingClusterArgs,
} from "./args.js";
import {
  clusterAutoscalerImageTag,
  compareMinor,
  EKS_ADDON_VERSIONS,
  EKS_DEFAULT_VERSION,
  EKS_FIRST_VERSION_WITHOUT_AL2,
  eksVersionWarnings,
} from "./eks-versions.js";
import { gpuQuotaByPoolProblems, resolveGpuQuotaByPool } from "./gpu-quota.js";
import type { NormalizedCluster, NormalizedEks, NormalizedPool, NormalizedTeam } from "./normalized.js";

export {
  EKS_DEFAULT_VERSION,
  EKS_STANDARD_SUPPORT_END,
  EKS_FIRST_VERSION_WITHOUT_AL2,
  EKS_ADDON_VERSIONS,
  clusterAutoscalerImageTag,
  eksVersionWarnings,
  compareMinor,
} from "./eks-versions.js";

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
  /** Root volume of the system and serving groups (set in their launch templates). */
  systemDiskSizeGiB: 50,
  /**
   * Serving pool: min 1, so the first endpoint schedules without waiting for a scale-up (an endpoint always
   * runs at least one pod, so the node is rarely idle); `servingNodes: { min: 0 }` scales it to zero.
   */
  servingNodes: { instanceType: "m6i.xlarge", min: 1, max: 10, diskSizeGiB: 50 },
  vpc: { cidrBlock: "10.0.0.0/16", availabilityZones: 3 },
  endpointPublicAccess: true,
  publicAccessCidrs: ["0.0.0.0/0"] as readonly string[],
  endpointPrivateAccess: true,
  enabledClusterLogTypes: ["api", "audit", "authenticator"] as readonly EksLogType[],
  authenticationMode: "API_AND_CONFIG_MAP",
  metricsServer: true,
  devicePluginChartVersion: "0.17.1",
  dcgmExporterChartVersion: "4.1.1",
  kueueChartVersion: "0.13.4",
  /** One stack per cluster installs the Kueue controller; the others set `kueue.installController: false`. */
  kueueInstallController: true as boolean,
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
/**
 * Logical key of the namespace of jobs that name no team. Its physical name carries the stack,
 * `${project}-${stage}-training` (tenancy.ts `tenancyNames`), as do team namespaces and the PriorityClasses.
 */
export const DEFAULT_TRAINING_NAMESPACE = "mlops-training";
/** Namespace of the GPU node agents (device plugin, DCGM exporter): the one Pod Security exception. */
export const GPU_SYSTEM_NAMESPACE = "mlops-gpu-system";
export const KUEUE_NAMESPACE = "kueue-system";
/** Logical names of the PriorityClasses; their physical names are `${project}-${stage}-training|serving` (tenancyNames). */
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

export type { NormalizedPool, NormalizedEks, NormalizedTeam, NormalizedCluster } from "./normalized.js";

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
    kueue: normalizeKueue(args.kueue, teams),
    warnings: eks ? [...eksVersionWarnings(eks.version, now), ...eksWarnings(eks)] : [],
  };
}

/** Whether the pool's AMI ships the NVIDIA device plugin itself (Bottlerocket's NVIDIA variants do). */
export function shipsDevicePlugin(pool: NormalizedPool): boolean {
  return pool.eks?.amiType.startsWith("BOTTLEROCKET_") ?? false;
}

export function normalizeEks(e: EksArgs, stage: string = currentStage()): NormalizedEks {
  const d = CLUSTER_DEFAULTS.systemNodes;
  const min = e.systemNodes?.min ?? d.min;
  const version = e.version ?? CLUSTER_DEFAULTS.eksVersion;
  const sd = CLUSTER_DEFAULTS.servingNodes;
  const servingMin = e.servingNodes ? (e.servingNodes.min ?? sd.min) : sd.min;
  const pinned = EKS_ADDON_VERSIONS[version];
  return {
    version,
    supportType: CLUSTER_DEFAULTS.supportType,
    ...(e.subnetIds !== undefined
      ? { subnetIds: e.subnetIds }
      : {
          vpc: {
            cidrBlock: e.vpc?.cidrBlock ?? CLUSTER_DEFAULTS.vpc.cidrBlock,
            availabilityZones: e.vpc?.availabilityZones ?? CLUSTER_DEFAULTS.vpc.availabilityZones,
            // One NAT per zone in prod (a zone outage then takes only its own egress down); one elsewhere,
            // since each NAT gateway is billed by the hour.
            natGateways: e.vpc?.natGateways ?? (stageTier(stage) === "prod" ? "perAz" : "single"),
          },
        }),
    systemNodes: {
      instanceType: e.systemNodes?.instanceType ?? d.instanceType,
      min,
      max: e.systemNodes?.max ?? Math.max(d.max, min),
    },
    servingNodes:
      e.servingNodes === false
        ? false
        : {
            instanceType: e.servingNodes?.instanceType ?? sd.instanceType,
            min: servingMin,
            max: e.servingNodes?.max ?? Math.max(sd.max, servingMin),
            diskSizeGiB: e.servingNodes?.diskSizeGiB ?? sd.diskSizeGiB,
          },
    endpointPublicAccess: e.endpointPublicAccess ?? CLUSTER_DEFAULTS.endpointPublicAccess,
    publicAccessCidrs: e.publicAccessCidrs ?? CLUSTER_DEFAULTS.publicAccessCidrs,
    endpointPrivateAccess: e.endpointPrivateAccess ?? CLUSTER_DEFAULTS.endpointPrivateAccess,
    enabledClusterLogTypes: e.enabledClusterLogTypes ?? CLUSTER_DEFAULTS.enabledClusterLogTypes,
    adminRoleArns: e.adminRoleArns ?? [],
    authenticationMode: e.authenticationMode ?? CLUSTER_DEFAULTS.authenticationMode,
    kubeconfig: { ...(e.kubeconfig ?? {}) },
    addonVersions: {
      "vpc-cni": e.addonVersions?.["vpc-cni"] ?? pinned?.["vpc-cni"],
      coredns: e.addonVersions?.coredns ?? pinned?.coredns,
      "kube-proxy": e.addonVersions?.["kube-proxy"] ?? pinned?.["kube-proxy"],
      "metrics-server": e.addonVersions?.["metrics-server"] ?? pinned?.["metrics-server"],
    },
    metricsServer: e.metricsServer ?? CLUSTER_DEFAULTS.metricsServer,
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

/** The stack name (the stage); "" outside a Pulumi program, which reads as staging. */
function currentStage(): string {
  return stackContext().stage;
}

/** Deploys, but the user should know: the prod API endpoint open to the internet. */
export function eksWarnings(eks: NormalizedEks, stage: string = currentStage()): string[] {
  if (stageTier(stage) === "prod" && eks.endpointPublicAccess && eks.publicAccessCidrs.includes("0.0.0.0/0")) {
    return [
      `eks.publicAccessCidrs lets the whole internet reach the prod cluster's API endpoint (["0.0.0.0/0"]). ` +
        `Set eks.publicAccessCidrs to your office and CI egress ranges, or eks.endpointPublicAccess: false.`,
    ];
  }
  return [];
}

/** A warning naming the add-ons that get EKS's default version, because `EKS_ADDON_VERSIONS` has no row for the version; else undefined. */
export function unpinnedAddonsWarning(eks: NormalizedEks): string | undefined {
  const unpinned = Object.entries(eks.addonVersions).filter(([n, v]) => v === undefined && (n !== "metrics-server" || eks.metricsServer)).map(([n]) => n);
  if (unpinned.length === 0) return undefined;
  return (
    `eks.version ${JSON.stringify(eks.version)} has no pinned EKS add-on versions (EKS_ADDON_VERSIONS), so EKS installs its default ${unpinned.join(", ")} for it. ` +
    `Pin them with eks.addonVersions (aws eks describe-addon-versions --kubernetes-version ${eks.version}).`
  );
}

/** EKS rules spanning fields; tolerant of a bad shape (the schema reports that). */
export function eksProblems(e: EksArgs | undefined, poolNames: readonly string[]): string[] {
  if (!e || typeof e !== "object") return [];
  const out: string[] = [];
  if (e.subnetIds !== undefined && e.vpc !== undefined) {
    out.push(problem("eks.vpc", "is given together with eks.subnetIds", e.vpc, "Give eks.subnetIds (existing subnets) or eks.vpc (settings of the VPC to create), not both."));
  }
  const s = e.servingNodes;
  if (s && typeof s === "object" && typeof s.min === "number" && typeof s.max === "number" && s.min > s.max) {
    out.push(problem("eks.servingNodes.min", `is greater than max (${s.max})`, s.min, "Set min at most max (min: 0 lets the pool scale to zero)."));
  }
  if (s !== false) {
    poolNames.forEach((n, i) => {
      if (n === SERVING_POOL.name) {
        out.push(problem(`nodePools[${i}].name`, "is the serving pool's name, which the cluster uses for its CPU serving node group", n, `Rename the GPU pool, or set eks.servingNodes: false.`));
      }
    });
  }
  if (e.endpointPublicAccess === false && e.endpointPrivateAccess === false) {
    out.push(problem("eks.endpointPrivateAccess", "is false together with endpointPublicAccess", false, "Leave one of endpointPublicAccess and endpointPrivateAccess true: the API server must be reachable."));
  }
  return out;
}

/** The GPU model of an EC2 instance type's family, when known (`p4d.24xlarge` → `nvidia-a100`). */
export function gpuTypeFor(instanceType: string): string | undefined {
  return GPU_BY_FAMILY[instanceType.split(".")[0]!];
}

/** Rules that span fields; tolerant of a bad shape (the schema reports that). */
/** Kueue's settings; without the controller (another stack installs it), no chart version. */
function normalizeKueue(k: TrainingClusterArgs["kueue"], teams: readonly NormalizedTeam[]): NormalizedCluster["kueue"] {
  if (!k) return false;
  const queued = k.teams ?? teams.map((t) => t.name);
  return (k.installController ?? CLUSTER_DEFAULTS.kueueInstallController)
    ? { installController: true, chartVersion: k.chartVersion ?? CLUSTER_DEFAULTS.kueueChartVersion, teams: queued }
    : { installController: false, teams: queued };
}

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
  out.push(...eksProblems(a.eks, pools.filter((p) => p && typeof p === "object").map((p) => p.name)));
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
    // "training": team namespaces are `${project}-${stage}-${team}`, like the default one (`…-training`).
    if (t?.name === "training" || t?.name === DEFAULT_TRAINING_NAMESPACE || t?.name === GPU_SYSTEM_NAMESPACE || t?.name === KUEUE_NAMESPACE || t?.name?.startsWith("kube-")) {
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
    if (a.kueue.installController === false && a.kueue.chartVersion !== undefined) {
      out.push(problem("kueue.chartVersion", "is given with installController: false, so no chart is installed", a.kueue.chartVersion, "Remove chartVersion, or set installController: true on the one stack that installs Kueue."));
    }
    // The CPU-only flavor is `${project}-${stage}-cpu`, as a pool named "cpu" would be.
    pools.forEach((p, i) => {
      if (p?.name === "cpu") out.push(problem(`nodePools[${i}].name`, "is the name of Kueue's CPU-only flavor", p.name, 'Rename the pool, e.g. after its GPU ("a100").'));
    });
  }
  return out;
}
