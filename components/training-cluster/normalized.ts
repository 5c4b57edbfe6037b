/** The shapes normalize.ts produces: what every builder of the cluster takes (types only). */
import type * as pulumi from "@pulumi/pulumi";
import type { EksAddonName, EksLogType, GpuAmiType, NodeTaint } from "./args.js";

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
  /** Existing subnets; undefined when the cluster creates `vpc`. */
  readonly subnetIds?: pulumi.Input<pulumi.Input<string>[]>;
  /** The VPC to create; undefined with `subnetIds`. */
  readonly vpc?: { readonly cidrBlock: string; readonly availabilityZones: number; readonly natGateways: "single" | "perAz" };
  readonly systemNodes: { readonly instanceType: string; readonly min: number; readonly max: number };
  readonly servingNodes: false | { readonly instanceType: string; readonly min: number; readonly max: number; readonly diskSizeGiB: number };
  readonly endpointPublicAccess: boolean;
  readonly publicAccessCidrs: readonly string[];
  readonly endpointPrivateAccess: boolean;
  readonly enabledClusterLogTypes: readonly EksLogType[];
  readonly adminRoleArns: readonly string[];
  readonly authenticationMode: "API" | "API_AND_CONFIG_MAP";
  readonly kubeconfig: { readonly roleArn?: string; readonly profile?: string };
  /** Per add-on: the pinned version, or undefined for EKS's default. */
  readonly addonVersions: Readonly<Record<EksAddonName, string | undefined>>;
  readonly metricsServer: boolean;
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
  /** `installController: false`: the flavors and queues only (another stack installs the controller); no chart version then. */
  readonly kueue: false | { readonly installController: true; readonly chartVersion: string; readonly teams: readonly string[] } | { readonly installController: false; readonly teams: readonly string[] };
  /** Things that deploy but that the user should fix (e.g. a version past standard support). */
  readonly warnings: readonly string[];
}
