import type * as pulumi from "@pulumi/pulumi";
import type * as aws from "@pulumi/aws";
import type * as k8s from "@pulumi/kubernetes";
import { z } from "zod";
import type { Transform } from "../shared/transform.js";
import { kubeconfigSchema } from "../shared/kubernetes.js";
import { dnsLabelSchema, isDeferred, isInput, QUANTITY } from "../shared/validate.js";
import { chartVersion, EksSchema, INSTANCE_TYPE, type EksArgs } from "./eks-args.js";

export {
  EKS_ADDON_NAMES,
  EKS_LOG_TYPES,
  EksSchema,
  type EksAddonName,
  type EksArgs,
  type EksLogType,
  type EksServingNodesArgs,
  type EksVpcArgs,
} from "./eks-args.js";

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
