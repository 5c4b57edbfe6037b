import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { applyTransform, type Transform } from "../shared/transform.js";
import type { TrainingClusterArgs } from "./args.js";
import { serviceTrustPolicy } from "./iam.js";
import { eksTaints, scaleFromZeroTags } from "./node-pools.js";
import { CLUSTER_DEFAULTS, type NormalizedEks, type NormalizedPool } from "./normalize.js";

const NODE_POLICIES = {
  worker: "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
  cni: "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
  ecr: "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
} as const;
const CLUSTER_POLICY = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy";
const SYSTEM_POOL_LABEL = "mlops.dev/system";

export interface EksResources {
  readonly cluster: aws.eks.Cluster;
  readonly clusterRole: aws.iam.Role;
  readonly nodeRole: aws.iam.Role;
  readonly oidcProvider: aws.iam.OpenIdConnectProvider;
  /** `https://oidc.eks.<region>.amazonaws.com/id/<id>` */
  readonly oidcIssuer: pulumi.Output<string>;
  readonly systemNodeGroup: aws.eks.NodeGroup;
  readonly gpuNodeGroups: Readonly<Record<string, aws.eks.NodeGroup>>;
  /** The scale-from-zero tags copied onto each GPU group's Auto Scaling group. */
  readonly asgTags: readonly aws.autoscaling.Tag[];
  readonly region: pulumi.Output<string>;
  readonly kubeconfig: pulumi.Output<string>;
}

/** The nodeSelector that pins system add-ons to the system node group. */
export const SYSTEM_NODE_SELECTOR = { [SYSTEM_POOL_LABEL]: "true" } as const;

/**
 * Creates the EKS control plane, IAM roles, the OIDC provider for service-account roles, the system
 * node group and one managed node group per GPU pool, tagged (on the group and its Auto Scaling group)
 * for scale-from-zero.
 */
export function createEks(
  parent: pulumi.ComponentResource,
  name: string,
  clusterName: string,
  eks: NormalizedEks,
  pools: readonly NormalizedPool[],
  transform: TrainingClusterArgs["transform"],
): EksResources {
  const opts = { parent };
  const tags = { ...eks.tags, "mlops.dev/cluster": clusterName };

  const clusterRole = new aws.iam.Role(`${name}-cluster-role`, { assumeRolePolicy: JSON.stringify(serviceTrustPolicy("eks.amazonaws.com")), tags }, opts);
  const clusterPolicy = new aws.iam.RolePolicyAttachment(`${name}-cluster-policy`, { role: clusterRole.name, policyArn: CLUSTER_POLICY }, opts);

  const [clusterArgs, clusterOpts] = applyTransform<aws.eks.ClusterArgs>(
    transform?.cluster,
    `${name}-eks`,
    {
      name: clusterName,
      version: eks.version,
      // Explicit, because EKS defaults to EXTENDED: at the end of standard support the cluster is
      // upgraded instead of silently billed for extended support.
      upgradePolicy: { supportType: eks.supportType },
      roleArn: clusterRole.arn,
      vpcConfig: { subnetIds: eks.subnetIds, endpointPublicAccess: eks.endpointPublicAccess, endpointPrivateAccess: true },
      // API mode: managed node groups get their access entries automatically, and whoever runs
      // `pulumi up` becomes cluster admin (the kubeconfig below authenticates as them).
      accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true },
      tags,
    },
    { parent, dependsOn: [clusterPolicy] },
  );
  const cluster = new aws.eks.Cluster(`${name}-eks`, clusterArgs, clusterOpts);

  const oidcIssuer = cluster.identities.apply((ids) => ids?.[0]?.oidcs?.[0]?.issuer ?? "");
  const oidcProvider = new aws.iam.OpenIdConnectProvider(`${name}-oidc`, { url: oidcIssuer, clientIdLists: ["sts.amazonaws.com"], tags }, opts);

  const nodeRole = new aws.iam.Role(`${name}-node-role`, { assumeRolePolicy: JSON.stringify(serviceTrustPolicy("ec2.amazonaws.com")), tags }, opts);
  const nodePolicies = Object.entries(NODE_POLICIES).map(
    ([key, policyArn]) => new aws.iam.RolePolicyAttachment(`${name}-node-${key}`, { role: nodeRole.name, policyArn }, opts),
  );

  // desiredSize is NOT in ignoreChanges, and is rendered as max(min, 0) = min. With ignoreChanges (what
  // terraform-aws-eks does) raising min above the group's current size fails: the update sends the new
  // minSize with the old desiredSize and EKS answers "Minimum capacity can't be greater than desired
  // size" (terraform-aws-eks#748, #2030; hashicorp/terraform-provider-aws#18310). Without it, a min
  // change updates desiredSize to the new min in the same call, which EKS accepts. The autoscaler's own
  // scaling stays untouched by a plain `pulumi up`: Pulumi diffs against the desiredSize it last wrote,
  // not the live one, so only a changed min/max produces an update. After `pulumi refresh` (or `up
  // --refresh`) the live size is recorded and the next update sets desiredSize back to min; the
  // autoscaler then scales up again for pending pods. Run refresh when no training runs.
  const nodeGroupOpts: pulumi.CustomResourceOptions = { parent, dependsOn: nodePolicies };
  const nodeGroup = (ngName: string, args: aws.eks.NodeGroupArgs) => {
    const [a, o] = applyTransform(transform?.nodeGroup, ngName, args, { ...nodeGroupOpts });
    return new aws.eks.NodeGroup(ngName, a, o);
  };

  const sys = eks.systemNodes;
  const systemNodeGroup = nodeGroup(`${name}-system`, {
    clusterName: cluster.name,
    nodeGroupNamePrefix: nodeGroupNamePrefix(clusterName, "system"),
    nodeRoleArn: nodeRole.arn,
    subnetIds: eks.subnetIds,
    amiType: CLUSTER_DEFAULTS.systemAmiType,
    instanceTypes: [sys.instanceType],
    capacityType: "ON_DEMAND",
    scalingConfig: scalingConfig(sys.min, sys.max),
    labels: { ...SYSTEM_NODE_SELECTOR },
    tags,
  });

  const gpuNodeGroups: Record<string, aws.eks.NodeGroup> = {};
  const asgTags: aws.autoscaling.Tag[] = [];
  for (const pool of pools) {
    const p = pool.eks!;
    const poolTags = scaleFromZeroTags(pool, clusterName);
    const ng = nodeGroup(`${name}-${pool.name}`, {
      clusterName: cluster.name,
      // A prefix, not a fixed name: replacing changes (instance type, spot, disk, AMI, subnets) create
      // the new group before deleting the old one, and two groups cannot share a name.
      nodeGroupNamePrefix: nodeGroupNamePrefix(clusterName, pool.name),
      nodeRoleArn: nodeRole.arn,
      subnetIds: eks.subnetIds,
      amiType: p.amiType,
      instanceTypes: [...p.instanceTypes],
      capacityType: p.spot ? "SPOT" : "ON_DEMAND",
      diskSize: p.diskSizeGiB,
      // EKS rejects desiredSize 0 only when maxSize is 0 too, which the schema forbids.
      scalingConfig: scalingConfig(p.min, p.max),
      labels: { ...pool.nodeLabels },
      taints: eksTaints(pool),
      tags: { ...tags, ...poolTags },
    });
    gpuNodeGroups[pool.name] = ng;
    // Managed node group tags stay on the EKS object; the autoscaler reads the Auto Scaling group's.
    // https://github.com/aws/containers-roadmap/issues/608
    const asgName = ng.resources.apply((r) => r?.[0]?.autoscalingGroups?.[0]?.name as string);
    for (const [key, value] of Object.entries(poolTags)) {
      asgTags.push(
        new aws.autoscaling.Tag(
          `${name}-${pool.name}-asg-${tagSlug(key)}`,
          { autoscalingGroupName: asgName, tag: { key, value, propagateAtLaunch: false } },
          { parent },
        ),
      );
    }
  }

  const region = cluster.arn.apply((arn) => arn?.split(":")[3] ?? "");
  const kubeconfig = pulumi.secret(
    pulumi
      .all([cluster.name, cluster.endpoint, cluster.certificateAuthority, region])
      .apply(([n, endpoint, ca, r]) => eksKubeconfig({ clusterName: n, endpoint, caData: ca?.data ?? "", region: r })),
  );

  return { cluster, clusterRole, nodeRole, oidcProvider, oidcIssuer, systemNodeGroup, gpuNodeGroups, asgTags, region, kubeconfig };
}

/** Longest `nodeGroupNamePrefix` the provider accepts: 63 characters less its 26-character unique suffix. */
export const NODE_GROUP_NAME_PREFIX_MAX = 63 - 26;

/**
 * The node group's name prefix: `<cluster>-<pool>-`, the cluster part shortened so that the whole pool
 * name always fits (pool names are at most 31 characters).
 */
export function nodeGroupNamePrefix(clusterName: string, poolName: string): string {
  const room = NODE_GROUP_NAME_PREFIX_MAX - poolName.length - 2;
  const cluster = clusterName.slice(0, Math.max(room, 0)).replace(/-+$/, "");
  return cluster ? `${cluster}-${poolName}-` : `${poolName}-`;
}

/** A managed node group's scaling config; see `nodeGroupOpts` above for why desiredSize is min. */
export function scalingConfig(min: number, max: number): { minSize: number; maxSize: number; desiredSize: number } {
  return { minSize: min, maxSize: max, desiredSize: Math.max(min, 0) };
}

/** A short, stable, name-safe form of a tag key for the Tag resource's logical name. */
function tagSlug(key: string): string {
  return key
    .replace(/^k8s\.io\/cluster-autoscaler\//, "")
    .replace(/[^A-Za-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .toLowerCase();
}

/**
 * A kubeconfig (JSON, which kubectl and the Kubernetes provider read like YAML) that authenticates with
 * `aws eks get-token`, so it holds no credential of its own.
 */
export function eksKubeconfig(c: { clusterName: string; endpoint: string; caData: string; region: string }): string {
  const args = ["eks", "get-token", "--cluster-name", c.clusterName, "--output", "json"];
  if (c.region) args.push("--region", c.region);
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: c.clusterName, cluster: { server: c.endpoint, "certificate-authority-data": c.caData } }],
    contexts: [{ name: c.clusterName, context: { cluster: c.clusterName, user: c.clusterName } }],
    "current-context": c.clusterName,
    users: [
      {
        name: c.clusterName,
        user: { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "aws", args, interactiveMode: "Never" } },
      },
    ],
  });
}

