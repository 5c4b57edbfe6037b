/**
 * The cluster's core add-ons as EKS add-ons (aws.eks.Addon), pinned to the versions in
 * `EKS_ADDON_VERSIONS` for the cluster's Kubernetes version: VPC CNI (with network policy enforcement
 * and its own service-account role), kube-proxy, CoreDNS, and metrics-server (the EKS community add-on),
 * which the HPA needs and EKS does not install.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { irsaRole } from "../shared/irsa.js";
import type { EksAddonName } from "./args.js";
import type { NormalizedEks } from "./normalize.js";

/** The ServiceAccount the VPC CNI DaemonSet (`aws-node`) runs as. */
export const VPC_CNI_SERVICE_ACCOUNT = { namespace: "kube-system", name: "aws-node" } as const;

/**
 * VPC CNI configuration: `enableNetworkPolicy` turns on the network policy agent, without which
 * NetworkPolicies are accepted by the API server and silently not enforced.
 * https://docs.aws.amazon.com/eks/latest/userguide/cni-network-policy-configure.html
 */
export const VPC_CNI_CONFIGURATION = { enableNetworkPolicy: "true" } as const;

export interface EksAddonContext {
  readonly parent: pulumi.Resource;
  /** Prefix of the logical names (the component's name). */
  readonly name: string;
  readonly cluster: aws.eks.Cluster;
  readonly oidcProvider: aws.iam.OpenIdConnectProvider;
  readonly oidcIssuer: pulumi.Input<string>;
  readonly partition: pulumi.Input<string>;
  readonly eks: NormalizedEks;
  readonly tags: Record<string, string>;
}

export interface NetworkAddons {
  readonly vpcCni: aws.eks.Addon;
  /** The VPC CNI's service-account role (AmazonEKS_CNI_Policy), instead of the node role. */
  readonly vpcCniRole: aws.iam.Role;
  readonly kubeProxy: aws.eks.Addon;
}

export interface WorkloadAddons {
  readonly coredns: aws.eks.Addon;
  readonly metricsServer?: aws.eks.Addon;
}

/**
 * VPC CNI and kube-proxy: DaemonSets that become ACTIVE without nodes, so they are created before the node
 * groups (what terraform-aws-eks calls `before_compute`). That order matters because the node role does not
 * carry AmazonEKS_CNI_Policy: a node joins Ready only once aws-node runs with the add-on's own role.
 */
export function createNetworkAddons(c: EksAddonContext): NetworkAddons {
  const opts = { parent: c.parent };
  const vpcCniRole = irsaRole(
    `${c.name}-vpc-cni-role`,
    { providerArn: c.oidcProvider.arn, issuer: c.oidcIssuer },
    VPC_CNI_SERVICE_ACCOUNT.namespace,
    VPC_CNI_SERVICE_ACCOUNT.name,
    { ...c.tags, "mlops.dev/service-account": `${VPC_CNI_SERVICE_ACCOUNT.namespace}/${VPC_CNI_SERVICE_ACCOUNT.name}` },
    opts,
  );
  const cniPolicy = new aws.iam.RolePolicyAttachment(
    `${c.name}-vpc-cni-policy`,
    { role: vpcCniRole.name, policyArn: pulumi.interpolate`arn:${c.partition}:iam::aws:policy/AmazonEKS_CNI_Policy` },
    opts,
  );
  const vpcCni = addon(c, "vpc-cni", {
    serviceAccountRoleArn: vpcCniRole.arn,
    configurationValues: JSON.stringify(VPC_CNI_CONFIGURATION),
  }, [cniPolicy]);
  const kubeProxy = addon(c, "kube-proxy", {}, []);
  return { vpcCni, vpcCniRole, kubeProxy };
}

/**
 * CoreDNS and metrics-server: Deployments, which EKS reports DEGRADED until their pods run, so they come
 * after the system node group. Both land there without a nodeSelector: every other group is tainted (GPU,
 * serving), and neither tolerates those taints.
 */
export function createWorkloadAddons(c: EksAddonContext, systemNodes: pulumi.Resource): WorkloadAddons {
  const coredns = addon(c, "coredns", {}, [systemNodes]);
  // metrics-server is an EKS community add-on (AWS-built and -versioned, not AWS-supported) since 2025:
  // https://docs.aws.amazon.com/eks/latest/userguide/community-addons.html#kubernetes-metrics-server
  const metricsServer = c.eks.metricsServer ? addon(c, "metrics-server", {}, [systemNodes]) : undefined;
  return { coredns, ...(metricsServer ? { metricsServer } : {}) };
}

function addon(c: EksAddonContext, addonName: EksAddonName, extra: Partial<aws.eks.AddonArgs>, dependsOn: pulumi.Resource[]): aws.eks.Addon {
  const version = c.eks.addonVersions[addonName];
  return new aws.eks.Addon(
    `${c.name}-${addonName}`,
    {
      clusterName: c.cluster.name,
      addonName,
      // Undefined (a version without a row in EKS_ADDON_VERSIONS): EKS installs its default for the cluster.
      ...(version ? { addonVersion: version } : {}),
      // EKS bootstraps self-managed vpc-cni, kube-proxy and CoreDNS with every cluster; OVERWRITE lets the
      // managed add-on take them over (NONE fails on the first conflicting field), and on update keeps this
      // program, not a kubectl edit, the source of truth for the fields the add-on manages.
      resolveConflictsOnCreate: "OVERWRITE",
      resolveConflictsOnUpdate: "OVERWRITE",
      tags: c.tags,
      ...extra,
    },
    { parent: c.parent, dependsOn },
  );
}
