import type * as pulumi from "@pulumi/pulumi";
import type * as aws from "@pulumi/aws";
import type * as k8s from "@pulumi/kubernetes";
import { z } from "zod";
import type { Transform } from "../shared/transform.js";
import { kubeconfigSchema } from "../shared/kubernetes.js";
import { dnsLabelSchema, isDeferred, isInput, QUANTITY } from "../shared/validate.js";

/** A Kubernetes node taint. */
export interface NodeTaint {
  readonly key: string;
  readonly value?: string;
  readonly effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

/** EKS GPU AMI families accepted by managed node groups. */
export const GPU_AMI_TYPES = [
  "AL2023_x86_64_NVIDIA",
  "AL2023_ARM_64_NVIDIA",
  "BOTTLEROCKET_x86_64_NVIDIA",
  "BOTTLEROCKET_ARM_64_NVIDIA",
  "AL2_x86_64_GPU",
] as const;
export type GpuAmiType = (typeof GPU_AMI_TYPES)[number];

/**
 * One pool of GPU nodes.
 *
 * With `eks`, the pool becomes an EKS managed node group (the EKS-only fields below apply). With
 * `kubeconfig`, the nodes already exist: the pool only says how to find them (`labels`) and what they
 * repel (`taints`), so jobs get the right node selector and tolerations.
 *
 * @example
 * { name: "a100", instanceType: "p4d.24xlarge", gpusPerNode: 8, min: 0, max: 4, spot: true }
 */
export interface GpuNodePoolArgs {
  /** Pool name: lowercase letters, digits and `-`, starting with a letter, at most 31 characters. */
  readonly name: string;
  /** GPUs on each node (what the device plugin advertises as `nvidia.com/gpu`). */
  readonly gpusPerNode: number;
  /**
   * GPU model, written as the `mlops.dev/gpu-type` node label (and used as the Kueue flavor's label).
   * @default - derived from the instance family on EKS (`p4d` → `nvidia-a100`, …), else the pool name
   */
  readonly gpuType?: string;
  /**
   * Extra node labels (EKS), or the labels that select this pool's nodes (kubeconfig: required).
   * @default {}
   */
  readonly labels?: Record<string, string>;
  /**
   * Taints. EKS: added to the `nvidia.com/gpu=true:NoSchedule` taint every GPU group gets.
   * kubeconfig: the taints the nodes carry.
   * @default - EKS: none beyond the GPU taint; kubeconfig: `[{ key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" }]`
   */
  readonly taints?: readonly NodeTaint[];
  /** EKS only: the instance type. Give this or `instanceTypes`. */
  readonly instanceType?: string;
  /** EKS only: several instance types (useful with `spot`). Give this or `instanceType`. */
  readonly instanceTypes?: readonly string[];
  /** EKS only: minimum nodes; 0 lets the autoscaler scale the pool to zero. @default 0 */
  readonly min?: number;
  /** EKS only: maximum nodes. @default 2 */
  readonly max?: number;
  /** EKS only: spot capacity. @default false */
  readonly spot?: boolean;
  /** EKS only: root volume size in GiB. @default 200 */
  readonly diskSizeGiB?: number;
  /**
   * EKS only: the GPU AMI. The AL2 AMI (`AL2_x86_64_GPU`) exists only for Kubernetes 1.32 and older.
   * Bottlerocket NVIDIA AMIs run their own NVIDIA device plugin, so ours is not scheduled on them.
   * @default "AL2023_x86_64_NVIDIA"
   */
  readonly amiType?: GpuAmiType;
}

/** EKS control-plane log types (CloudWatch Logs group `/aws/eks/<cluster>/cluster`). */
export const EKS_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"] as const;
export type EksLogType = (typeof EKS_LOG_TYPES)[number];

/** EKS add-ons whose versions this package pins (EKS add-on names). */
export const EKS_ADDON_NAMES = ["vpc-cni", "coredns", "kube-proxy", "metrics-server"] as const;
export type EksAddonName = (typeof EKS_ADDON_NAMES)[number];

/** The VPC a cluster creates when no `subnetIds` are given. */
export interface EksVpcArgs {
  /**
   * The VPC's IPv4 range, a /16 to /20. Private subnets get a quarter each (VPC CNI gives every pod a VPC
   * address), public subnets (NAT gateways, internet-facing load balancers) share the last quarter.
   * @default "10.0.0.0/16"
   */
  readonly cidrBlock?: string;
  /** Availability zones to spread the subnets over (2 or 3). @default 3 */
  readonly availabilityZones?: number;
  /**
   * NAT gateways for the private subnets' egress: `"single"` (cheaper; egress fails with its zone) or
   * `"perAz"` (one per zone, as AWS recommends for production).
   * @default - `"perAz"` in prod stages, `"single"` elsewhere
   */
  readonly natGateways?: "single" | "perAz";
}

/** The autoscaled CPU node group that serving pods (ModelEndpoint) land on. */
export interface EksServingNodesArgs {
  /** EC2 instance type. @default "m6i.xlarge" */
  readonly instanceType?: string;
  /** Minimum nodes. @default 1 */
  readonly min?: number;
  /** Maximum nodes. @default 10 */
  readonly max?: number;
  /** Root volume size in GiB. @default 50 */
  readonly diskSizeGiB?: number;
}

/** The EKS control plane and its system node group. */
export interface EksArgs {
  /**
   * Kubernetes minor version, e.g. `"1.35"`. Also picks the cluster autoscaler's image tag and the EKS
   * add-on versions. The cluster's upgrade policy is `STANDARD` (no paid extended support: EKS upgrades it
   * at the end of standard support), and a version past its end of standard support is warned about.
   * @default "1.35" (`EKS_DEFAULT_VERSION`: the newest version in EKS standard support)
   */
  readonly version?: string;
  /**
   * Existing subnets for the control plane ENIs and every node group: at least two, in at least two
   * availability zones (checked at deploy time), private ones with a route to a NAT gateway.
   * @default - a new VPC (see `vpc`) with private subnets in three zones, public subnets and NAT
   */
  readonly subnetIds?: pulumi.Input<pulumi.Input<string>[]>;
  /** The VPC created when `subnetIds` is not given; not allowed with `subnetIds`. @default {} */
  readonly vpc?: EksVpcArgs;
  /**
   * The small on-demand node group for system pods (autoscaler, Kueue, CoreDNS, metrics-server).
   * @default { instanceType: "m6i.large", min: 2, max: 4 }
   */
  readonly systemNodes?: { readonly instanceType?: string; readonly min?: number; readonly max?: number };
  /**
   * The autoscaled on-demand CPU node group for serving pods, labelled and tainted as `SERVING_POOL`
   * (components/shared/constants.ts); the cluster's `servingPlacement` puts pods there. `false` leaves it
   * out (endpoints then run on the system group).
   * @default { instanceType: "m6i.xlarge", min: 1, max: 10, diskSizeGiB: 50 }
   */
  readonly servingNodes?: false | EksServingNodesArgs;
  /** Whether the API server is reachable from the internet. @default true */
  readonly endpointPublicAccess?: boolean;
  /**
   * CIDR blocks allowed to reach the public API endpoint. Narrow it to your office and CI egress ranges
   * (a warning says so in prod while it is open to the internet).
   * @default ["0.0.0.0/0"]
   */
  readonly publicAccessCidrs?: readonly string[];
  /** Whether the API server is reachable from inside the VPC (nodes then talk to it privately). @default true */
  readonly endpointPrivateAccess?: boolean;
  /** Control-plane logs sent to CloudWatch Logs. @default ["api", "audit", "authenticator"] */
  readonly enabledClusterLogTypes?: readonly EksLogType[];
  /**
   * IAM role ARNs that get cluster admin (an EKS access entry with `AmazonEKSClusterAdminPolicy`), e.g.
   * the CI deploy role and an operators' role. Whoever runs `pulumi up` is admin anyway.
   * @default []
   */
  readonly adminRoleArns?: readonly string[];
  /**
   * How the cluster authenticates IAM principals. `API_AND_CONFIG_MAP` also honours an `aws-auth`
   * ConfigMap; EKS only allows moving towards `API`, so starting here keeps both doors open.
   * @default "API_AND_CONFIG_MAP"
   */
  readonly authenticationMode?: "API" | "API_AND_CONFIG_MAP";
  /**
   * How the `kubeconfig` output authenticates: `aws eks get-token` assuming `roleArn`, and/or with the AWS
   * CLI profile `profile`.
   * @default - the caller's default AWS credentials
   */
  readonly kubeconfig?: { readonly roleArn?: string; readonly profile?: string };
  /**
   * EKS add-on versions, overriding the table pinned for the cluster's version (`EKS_ADDON_VERSIONS`).
   * @example { "vpc-cni": "v1.22.4-eksbuild.3" }
   * @default - the table's row for `version`; EKS's default version for a version the table lacks
   */
  readonly addonVersions?: Partial<Record<EksAddonName, string>>;
  /** metrics-server (the EKS community add-on), which the HPA needs and EKS does not install. @default true */
  readonly metricsServer?: boolean;
  /**
   * The cluster autoscaler (Helm chart `cluster-autoscaler`), with a service-account role that may only
   * scale this cluster's groups. `false` leaves it out (e.g. when Karpenter is installed separately).
   * @default { chartVersion: "9.46.6", imageTag: "v<version>.0" } (e.g. `v1.35.0`)
   */
  readonly clusterAutoscaler?: false | { readonly chartVersion?: string; readonly imageTag?: string };
  /** Tags on every AWS resource. @default {} */
  readonly tags?: Record<string, string>;
}

/** Kueue: the controller (Helm, in `kueue-system`) and this stack's flavors and queues. */
export interface KueueArgs {
  /** The Kueue chart's version; only with `installController`. @default "0.13.4" */
  readonly chartVersion?: string;
  /** Teams that get a ClusterQueue and a LocalQueue. @default - every team */
  readonly teams?: readonly string[];
  /**
   * Whether this stack installs the Kueue controller (the Helm release `kueue` in `kueue-system`). Its CRDs
   * and webhooks are cluster-wide, so there is one per cluster: on every stack but one that share a cluster,
   * set `false`. Such a stack still creates its own ResourceFlavors, ClusterQueues and LocalQueues (their
   * names carry the stack), but they cannot wait for a release it does not own: the controller must already
   * be installed (deploy the stack that installs it first), or creating them fails for want of Kueue's CRDs.
   * @default true
   * @example
   * // dev-bob shares dev-alice's cluster, whose stack installs Kueue:
   * kueue: { installController: false }
   */
  readonly installController?: boolean;
}

/** A team: a namespace, a GPU quota and (with Kueue) a LocalQueue. */
export interface TeamArgs {
  /** Team name; also its namespace and LocalQueue name. */
  readonly name: string;
  /** Most GPUs the team's pods may request at once (`requests.nvidia.com/gpu`). */
  readonly gpuQuota: number;
  /** CPU quota (`requests.cpu`), e.g. `"64"`. @default - no CPU quota (Kueue: "1000") */
  readonly cpuQuota?: string;
  /** Memory quota (`requests.memory`), e.g. `"512Gi"`. @default - no memory quota (Kueue: "8Ti") */
  readonly memoryQuota?: string;
  /**
   * Kueue only: the team's GPU quota on each node pool (its ClusterQueue's `nominalQuota` per flavor).
   * Keys are pool names; values are non-negative integers that must add up to `gpuQuota`, because the
   * namespace ResourceQuota caps the team's total at `gpuQuota` whatever Kueue admits. A pool left out
   * gets 0. A job asking for more GPUs than its pool's share is never admitted, so give big jobs' pools
   * enough here.
   *
   * @example { a100: 16, l4: 0 }
   * @default - `gpuQuota` split across the pools in proportion to their GPU capacity (EKS: `max ×
   * gpusPerNode`; kubeconfig pools, whose size is unknown: equally), each share rounded down and the
   * GPUs left over given one each to the largest fractional parts (ties: the earlier pool)
   */
  readonly gpuQuotaByPool?: Record<string, number>;
}

/**
 * Arguments of {@link TrainingCluster}. Give exactly one of `eks` and `kubeconfig`.
 *
 * @example
 * new TrainingCluster("ml", {
 *   eks: {},                       // a new VPC; or eks: { subnetIds } for existing private subnets
 *   nodePools: [{ name: "a100", instanceType: "p4d.24xlarge", gpusPerNode: 8, min: 0, max: 4, spot: true }],
 *   teams: [{ name: "fraud", gpuQuota: 16 }],
 *   kueue: {},
 * });
 */
export interface TrainingClusterArgs {
  /** Create an EKS cluster. */
  readonly eks?: EksArgs;
  /**
   * Use an existing cluster through this kubeconfig: its content, YAML or JSON (as kubectl reads it).
   * Give it as a secret (`config.requireSecret("kubeconfig")`); errors about it never print it.
   */
  readonly kubeconfig?: pulumi.Input<string>;
  /** The GPU node pools. @default [] */
  readonly nodePools?: readonly GpuNodePoolArgs[];
  /** Teams: namespace, ResourceQuota and (with Kueue) a queue each. @default [] */
  readonly teams?: readonly TeamArgs[];
  /**
   * The NVIDIA device plugin (Helm chart `nvidia-device-plugin`), tolerating the GPU taint. `false` when
   * the cluster already runs it (e.g. through the GPU operator). It is kept off Bottlerocket pools (their
   * AMI runs its own), and left out when every EKS pool is Bottlerocket.
   * @default { chartVersion: "0.17.1" }
   */
  readonly devicePlugin?: false | { readonly chartVersion?: string };
  /** NVIDIA DCGM exporter for GPU metrics (Helm chart `dcgm-exporter`). @default false */
  readonly dcgmExporter?: boolean | { readonly chartVersion?: string };
  /**
   * Kueue (Helm) with a ResourceFlavor per node pool, a ClusterQueue per team (GPU quota per flavor from
   * the team's `gpuQuotaByPool`, adding up to its `gpuQuota`; no cohort, so no borrowing past the namespace
   * ResourceQuota) and a LocalQueue in each team's namespace. Stacks sharing a cluster: see `installController`.
   * @default - no Kueue
   */
  readonly kueue?: KueueArgs;
  /** Per-child escape hatches. */
  readonly transform?: {
    readonly cluster?: Transform<aws.eks.ClusterArgs>;
    readonly nodeGroup?: Transform<aws.eks.NodeGroupArgs>;
    readonly release?: Transform<k8s.helm.v3.ReleaseArgs>;
    readonly namespace?: Transform<k8s.core.v1.NamespaceArgs>;
  };
}

// ---------------------------------------------------------------- validation

const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const INSTANCE_TYPE = /^[a-z0-9-]+\.[a-z0-9]+$/;

const labels = z.record(
  z.string().regex(LABEL_KEY, "must be a Kubernetes label key such as example.com/tier"),
  z.string().regex(LABEL_VALUE, "must be a Kubernetes label value (63 characters: letters, digits, '-', '_', '.')"),
);

const TaintSchema = z
  .object({
    key: z.string().regex(LABEL_KEY, "must be a taint key such as nvidia.com/gpu"),
    value: z.string().regex(LABEL_VALUE, "must be a label-like value").optional(),
    effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
  })
  .strict();

export const NodePoolSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, "must be lowercase letters, digits and '-', starting with a letter, at most 31 characters"),
    gpusPerNode: z.number().int().min(1).max(16),
    gpuType: z.string().regex(LABEL_VALUE, "must be a label value such as nvidia-a100").min(1).optional(),
    labels: labels.optional(),
    taints: z.array(TaintSchema).optional(),
    instanceType: z.string().regex(INSTANCE_TYPE, "must be an EC2 instance type such as p4d.24xlarge").optional(),
    instanceTypes: z.array(z.string().regex(INSTANCE_TYPE, "must be an EC2 instance type such as g5.xlarge")).min(1).optional(),
    min: z.number().int().min(0).optional(),
    max: z.number().int().min(1).max(1000).optional(),
    spot: z.boolean().optional(),
    diskSizeGiB: z.number().int().min(20).max(16384).optional(),
    amiType: z.enum(GPU_AMI_TYPES).optional(),
  })
  .strict();

const TeamSchema = z
  .object({
    name: dnsLabelSchema,
    gpuQuota: z.number().int().min(0),
    cpuQuota: z.string().regex(QUANTITY, "must be a Kubernetes quantity such as 64 or 500m").optional(),
    memoryQuota: z.string().regex(QUANTITY, "must be a Kubernetes quantity such as 512Gi").optional(),
    gpuQuotaByPool: z.record(z.string(), z.number().int().min(0)).optional(),
  })
  .strict();

const chartVersion = z.string().regex(/^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$/, "must be a chart version such as 1.2.3");

const CIDR = /^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}\/([0-9]|[12][0-9]|3[0-2])$/;
const IAM_ROLE_ARN = /^arn:aws[a-z-]*:iam::[0-9]{12}:role\/.+$/;

export const EksSchema = z
  .object({
    version: z.string().regex(/^1\.[0-9]{2}$/, 'must be a Kubernetes minor version such as "1.35"').optional(),
    subnetIds: z
      .custom<unknown>(
        (v) => (Array.isArray(v) ? v.length >= 2 && v.every(isInput) : isDeferred(v)),
        "must list at least two subnet ids, in at least two availability zones (EKS requires two zones); or leave subnetIds out to create a VPC",
      )
      .optional(),
    vpc: z
      .object({
        cidrBlock: z
          .string()
          .regex(CIDR, 'must be an IPv4 CIDR block such as "10.0.0.0/16"')
          .refine((c) => Number(c.split("/")[1]) >= 16 && Number(c.split("/")[1]) <= 20, "must be a /16 to /20 block")
          .optional(),
        availabilityZones: z.number().int().min(2).max(3).optional(),
        natGateways: z.enum(["single", "perAz"]).optional(),
      })
      .strict()
      .optional(),
    systemNodes: z
      .object({
        instanceType: z.string().regex(INSTANCE_TYPE, "must be an EC2 instance type such as m6i.large").optional(),
        min: z.number().int().min(1).optional(),
        max: z.number().int().min(1).max(100).optional(),
      })
      .strict()
      .optional(),
    servingNodes: z
      .union([
        z.literal(false),
        z
          .object({
            instanceType: z.string().regex(INSTANCE_TYPE, "must be an EC2 instance type such as m6i.xlarge").optional(),
            min: z.number().int().min(0).optional(),
            max: z.number().int().min(1).max(1000).optional(),
            diskSizeGiB: z.number().int().min(20).max(16384).optional(),
          })
          .strict(),
      ])
      .optional(),
    endpointPublicAccess: z.boolean().optional(),
    publicAccessCidrs: z.array(z.string().regex(CIDR, 'must be an IPv4 CIDR block such as "203.0.113.0/24"')).min(1).optional(),
    endpointPrivateAccess: z.boolean().optional(),
    enabledClusterLogTypes: z.array(z.enum(EKS_LOG_TYPES)).optional(),
    adminRoleArns: z.array(z.string().regex(IAM_ROLE_ARN, "must be an IAM role ARN such as arn:aws:iam::123456789012:role/ci-deploy")).optional(),
    authenticationMode: z.enum(["API", "API_AND_CONFIG_MAP"]).optional(),
    kubeconfig: z
      .object({
        roleArn: z.string().regex(IAM_ROLE_ARN, "must be an IAM role ARN such as arn:aws:iam::123456789012:role/eks-admin").optional(),
        profile: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    addonVersions: z
      .object(Object.fromEntries(EKS_ADDON_NAMES.map((n) => [n, z.string().regex(/^v[0-9]+\.[0-9]+\.[0-9]+-eksbuild\.[0-9]+$/, "must be an EKS add-on version such as v1.22.4-eksbuild.3").optional()])))
      .strict()
      .optional(),
    metricsServer: z.boolean().optional(),
    clusterAutoscaler: z
      .union([z.literal(false), z.object({ chartVersion: chartVersion.optional(), imageTag: z.string().min(1).optional() }).strict()])
      .optional(),
    tags: z.record(z.string(), z.string()).optional(),
  })
  .strict();

export const TrainingClusterArgsSchema = z
  .object({
    eks: EksSchema.optional(),
    kubeconfig: kubeconfigSchema.optional(),
    nodePools: z.array(NodePoolSchema).optional(),
    teams: z.array(TeamSchema).optional(),
    devicePlugin: z.union([z.literal(false), z.object({ chartVersion: chartVersion.optional() }).strict()]).optional(),
    dcgmExporter: z.union([z.boolean(), z.object({ chartVersion: chartVersion.optional() }).strict()]).optional(),
    kueue: z
      .object({ chartVersion: chartVersion.optional(), teams: z.array(z.string()).optional(), installController: z.boolean().optional() })
      .strict()
      .optional(),
    transform: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
