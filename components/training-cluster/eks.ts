import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { GPU_RESOURCE, SERVING_PLACEMENT, SERVING_POOL, type Placement } from "../shared/constants.js";
import { applyTransform } from "../shared/transform.js";
import type { TrainingClusterArgs } from "./args.js";
import { createNetworkAddons, createWorkloadAddons, type NetworkAddons, type WorkloadAddons } from "./eks-addons.js";
import { serviceTrustPolicy } from "./iam.js";
import { eksTaints, scaleFromZeroTags } from "./node-pools.js";
import { CLUSTER_DEFAULTS, unpinnedAddonsWarning, type NormalizedEks, type NormalizedPool } from "./normalize.js";
import { createNetwork, type NetworkResources } from "./vpc.js";

/**
 * Node role policies (the CNI policy is not among them: the VPC CNI add-on has its own role, so pods on
 * the node network cannot borrow ENI-management rights from the node).
 */
const NODE_POLICIES = {
  worker: "AmazonEKSWorkerNodePolicy",
  ecr: "AmazonEC2ContainerRegistryReadOnly",
} as const;
const CLUSTER_POLICY = "AmazonEKSClusterPolicy";
const CLUSTER_ADMIN_ACCESS_POLICY = "AmazonEKSClusterAdminPolicy";
const SYSTEM_POOL_LABEL = "mlops.dev/system";

export interface EksResources {
  readonly cluster: aws.eks.Cluster;
  readonly clusterRole: aws.iam.Role;
  readonly nodeRole: aws.iam.Role;
  readonly oidcProvider: aws.iam.OpenIdConnectProvider;
  /** `https://oidc.eks.<region>.amazonaws.com/id/<id>` */
  readonly oidcIssuer: pulumi.Output<string>;
  /** The subnets the cluster runs in, and the VPC when the cluster created it. */
  readonly network: NetworkResources;
  /** The EKS add-ons: VPC CNI (and its role), kube-proxy, CoreDNS, metrics-server. */
  readonly addons: NetworkAddons & WorkloadAddons;
  readonly systemNodeGroup: aws.eks.NodeGroup;
  /** The CPU node group for serving pods; absent with `servingNodes: false`. */
  readonly servingNodeGroup?: aws.eks.NodeGroup;
  readonly gpuNodeGroups: Readonly<Record<string, aws.eks.NodeGroup>>;
  /** One launch template per node group (IMDSv2 required, root volume), by group: `system`, `serving`, pool names. */
  readonly launchTemplates: Readonly<Record<string, aws.ec2.LaunchTemplate>>;
  /** Admin access entries (`adminRoleArns`). */
  readonly accessEntries: readonly aws.eks.AccessEntry[];
  /** The scale-from-zero tags copied onto each autoscaled group's Auto Scaling group (GPU pools, serving). */
  readonly asgTags: readonly aws.autoscaling.Tag[];
  readonly region: pulumi.Output<string>;
  readonly kubeconfig: pulumi.Output<string>;
  /** Where serving pods go: SERVING_PLACEMENT, or undefined without a serving group. */
  readonly servingPlacement?: Placement;
}

/** The nodeSelector that pins system add-ons to the system node group. */
export const SYSTEM_NODE_SELECTOR = { [SYSTEM_POOL_LABEL]: "true" } as const;

/**
 * Instance metadata options of every node: IMDSv2 only (session tokens; no SSRF-style GET of credentials),
 * and a hop limit of 1, so the token's response does not survive the extra hop into a pod's network
 * namespace: pods cannot take the node role's credentials. They get their own through IRSA, which needs
 * no IMDS. Host-network pods (aws-node, kube-proxy) still reach it. Add-ons that read the region or VPC
 * id from IMDS must be given them (the cluster autoscaler is: `awsRegion`).
 * https://docs.aws.amazon.com/eks/latest/best-practices/identity-and-access-management.html
 */
export const NODE_METADATA_OPTIONS = { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 } as const;

/**
 * Creates the network (or checks the given subnets), the EKS control plane, IAM roles, the OIDC provider
 * for service-account roles, the EKS add-ons, the system node group, the serving node group and one managed
 * node group per GPU pool, tagged (on the group and its Auto Scaling group) for scale-from-zero.
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
  const partition = aws.getPartitionOutput({}, opts).partition;
  const managedPolicy = (policy: string) => pulumi.interpolate`arn:${partition}:iam::aws:policy/${policy}`;
  const network = createNetwork(parent, name, clusterName, eks, `TrainingCluster ${JSON.stringify(name)}`);

  const clusterRole = new aws.iam.Role(`${name}-cluster-role`, { assumeRolePolicy: JSON.stringify(serviceTrustPolicy("eks.amazonaws.com")), tags }, opts);
  const clusterPolicy = new aws.iam.RolePolicyAttachment(`${name}-cluster-policy`, { role: clusterRole.name, policyArn: managedPolicy(CLUSTER_POLICY) }, opts);

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
      vpcConfig: {
        subnetIds: network.subnetIds,
        endpointPublicAccess: eks.endpointPublicAccess,
        endpointPrivateAccess: eks.endpointPrivateAccess,
        ...(eks.endpointPublicAccess ? { publicAccessCidrs: [...eks.publicAccessCidrs] } : {}),
      },
      // To CloudWatch Logs (/aws/eks/<cluster>/cluster): who called the API (audit, authenticator) and what failed (api).
      enabledClusterLogTypes: [...eks.enabledClusterLogTypes],
      // Access entries: managed node groups get theirs automatically, adminRoleArns get one each below, and
      // whoever runs `pulumi up` becomes cluster admin (the kubeconfig below authenticates as them).
      accessConfig: { authenticationMode: eks.authenticationMode, bootstrapClusterCreatorAdminPermissions: true },
      tags,
    },
    { parent, dependsOn: [clusterPolicy] },
  );
  const cluster = new aws.eks.Cluster(`${name}-eks`, clusterArgs, clusterOpts);

  const accessEntries = eks.adminRoleArns.map((principalArn) => {
    const id = `${name}-admin-${roleSlug(principalArn)}`;
    const entry = new aws.eks.AccessEntry(id, { clusterName: cluster.name, principalArn, type: "STANDARD", tags }, opts);
    new aws.eks.AccessPolicyAssociation(
      id,
      {
        clusterName: cluster.name,
        principalArn,
        policyArn: pulumi.interpolate`arn:${partition}:eks::aws:cluster-access-policy/${CLUSTER_ADMIN_ACCESS_POLICY}`,
        accessScope: { type: "cluster" },
      },
      { parent, dependsOn: [entry] },
    );
    return entry;
  });

  const oidcIssuer = cluster.identities.apply((ids) => ids?.[0]?.oidcs?.[0]?.issuer ?? "");
  const oidcProvider = new aws.iam.OpenIdConnectProvider(`${name}-oidc`, { url: oidcIssuer, clientIdLists: ["sts.amazonaws.com"], tags }, opts);
  const unpinned = unpinnedAddonsWarning(eks);
  if (unpinned) void pulumi.log.warn(unpinned, parent);
  const addonContext = { parent, name, cluster, oidcProvider, oidcIssuer, partition, eks, tags };
  const networkAddons = createNetworkAddons(addonContext);

  const nodeRole = new aws.iam.Role(`${name}-node-role`, { assumeRolePolicy: JSON.stringify(serviceTrustPolicy("ec2.amazonaws.com")), tags }, opts);
  const nodePolicies = Object.entries(NODE_POLICIES).map(
    ([key, policy]) => new aws.iam.RolePolicyAttachment(`${name}-node-${key}`, { role: nodeRole.name, policyArn: managedPolicy(policy) }, opts),
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
  // Nodes join Ready only once aws-node runs with its own role, hence after the network add-ons.
  const nodeGroupOpts: pulumi.CustomResourceOptions = { parent, dependsOn: [...nodePolicies, networkAddons.vpcCni, networkAddons.kubeProxy] };
  const launchTemplates: Record<string, aws.ec2.LaunchTemplate> = {};
  const nodeGroup = (group: string, diskSizeGiB: number, amiType: string, args: Omit<aws.eks.NodeGroupArgs, "launchTemplate" | "diskSize" | "amiType">) => {
    const ngName = `${name}-${group}`;
    const lt = nodeLaunchTemplate(parent, ngName, diskSizeGiB, amiType, args.tags as Record<string, string>);
    launchTemplates[group] = lt;
    const [a, o] = applyTransform<aws.eks.NodeGroupArgs>(
      transform?.nodeGroup,
      ngName,
      // With a launch template, EKS refuses diskSize on the group (the size is the template's block device),
      // and instance types and AMI type stay on the group as long as the template sets no instance type or image.
      { ...args, amiType, launchTemplate: { id: lt.id, version: lt.latestVersion.apply((v) => String(v)) } },
      { ...nodeGroupOpts },
    );
    return new aws.eks.NodeGroup(ngName, a, o);
  };

  const sys = eks.systemNodes;
  const systemNodeGroup = nodeGroup("system", CLUSTER_DEFAULTS.systemDiskSizeGiB, CLUSTER_DEFAULTS.systemAmiType, {
    clusterName: cluster.name,
    nodeGroupNamePrefix: nodeGroupNamePrefix(clusterName, "system"),
    nodeRoleArn: nodeRole.arn,
    subnetIds: network.subnetIds,
    instanceTypes: [sys.instanceType],
    capacityType: "ON_DEMAND",
    scalingConfig: scalingConfig(sys.min, sys.max),
    labels: { ...SYSTEM_NODE_SELECTOR },
    tags,
  });

  const gpuNodeGroups: Record<string, aws.eks.NodeGroup> = {};
  const asgTags: aws.autoscaling.Tag[] = [];
  // Managed node group tags stay on the EKS object; the autoscaler reads the Auto Scaling group's.
  // https://github.com/aws/containers-roadmap/issues/608
  const tagAsg = (group: string, ng: aws.eks.NodeGroup, poolTags: Record<string, string>) => {
    const asgName = ng.resources.apply((r) => r?.[0]?.autoscalingGroups?.[0]?.name as string);
    for (const [key, value] of Object.entries(poolTags)) {
      asgTags.push(
        new aws.autoscaling.Tag(`${name}-${group}-asg-${tagSlug(key)}`, { autoscalingGroupName: asgName, tag: { key, value, propagateAtLaunch: false } }, { parent }),
      );
    }
  };

  let servingNodeGroup: aws.eks.NodeGroup | undefined;
  if (eks.servingNodes) {
    const s = eks.servingNodes;
    const pool = servingPool();
    // The GPU count tag (0) says nothing the autoscaler needs; the label and taint tags let it scale from zero.
    const poolTags = Object.fromEntries(Object.entries(scaleFromZeroTags(pool, clusterName)).filter(([k]) => !k.endsWith(`/resources/${GPU_RESOURCE}`)));
    servingNodeGroup = nodeGroup(SERVING_POOL.name, s.diskSizeGiB, CLUSTER_DEFAULTS.systemAmiType, {
      clusterName: cluster.name,
      nodeGroupNamePrefix: nodeGroupNamePrefix(clusterName, SERVING_POOL.name),
      nodeRoleArn: nodeRole.arn,
      subnetIds: network.subnetIds,
      instanceTypes: [s.instanceType],
      // On-demand: an endpoint's capacity should not vanish with a spot reclaim under load.
      capacityType: "ON_DEMAND",
      scalingConfig: scalingConfig(s.min, s.max),
      labels: { ...pool.nodeLabels },
      taints: eksTaints(pool),
      tags: { ...tags, ...poolTags },
    });
    tagAsg(SERVING_POOL.name, servingNodeGroup, poolTags);
  }

  for (const pool of pools) {
    const p = pool.eks!;
    const poolTags = scaleFromZeroTags(pool, clusterName);
    const ng = nodeGroup(pool.name, p.diskSizeGiB, p.amiType, {
      clusterName: cluster.name,
      // A prefix, not a fixed name: replacing changes (instance type, spot, disk, AMI, subnets) create
      // the new group before deleting the old one, and two groups cannot share a name.
      nodeGroupNamePrefix: nodeGroupNamePrefix(clusterName, pool.name),
      nodeRoleArn: nodeRole.arn,
      subnetIds: network.subnetIds,
      instanceTypes: [...p.instanceTypes],
      capacityType: p.spot ? "SPOT" : "ON_DEMAND",
      // EKS rejects desiredSize 0 only when maxSize is 0 too, which the schema forbids.
      scalingConfig: scalingConfig(p.min, p.max),
      labels: { ...pool.nodeLabels },
      taints: eksTaints(pool),
      tags: { ...tags, ...poolTags },
    });
    gpuNodeGroups[pool.name] = ng;
    tagAsg(pool.name, ng, poolTags);
  }

  const workloadAddons = createWorkloadAddons(addonContext, systemNodeGroup);

  const region = cluster.arn.apply((arn) => arn?.split(":")[3] ?? "");
  const kubeconfig = pulumi.secret(
    pulumi
      .all([cluster.name, cluster.endpoint, cluster.certificateAuthority, region])
      .apply(([n, endpoint, ca, r]) => eksKubeconfig({ clusterName: n, endpoint, caData: ca?.data ?? "", region: r, ...eks.kubeconfig })),
  );

  return {
    cluster,
    clusterRole,
    nodeRole,
    oidcProvider,
    oidcIssuer,
    network,
    addons: { ...networkAddons, ...workloadAddons },
    systemNodeGroup,
    ...(servingNodeGroup ? { servingNodeGroup, servingPlacement: SERVING_PLACEMENT } : {}),
    gpuNodeGroups,
    launchTemplates,
    accessEntries,
    asgTags,
    region,
    kubeconfig,
  };
}

/** The serving group as a pool, for the shared taint and scale-from-zero helpers. */
function servingPool(): NormalizedPool {
  const label = { [SERVING_POOL.label.key]: SERVING_POOL.label.value };
  return { name: SERVING_POOL.name, gpusPerNode: 0, gpuType: "none", nodeLabels: label, selector: label, taints: [{ ...SERVING_POOL.taint }] };
}

/**
 * A node group's launch template: IMDSv2 required (NODE_METADATA_OPTIONS) and the root volume, encrypted
 * gp3. Bottlerocket boots from a small OS volume (`/dev/xvda`) and keeps images and pods on the data
 * volume (`/dev/xvdb`), so that one gets the size; the other AMIs have a single root volume.
 */
function nodeLaunchTemplate(parent: pulumi.Resource, ngName: string, diskSizeGiB: number, amiType: string, tags: Record<string, string>): aws.ec2.LaunchTemplate {
  const deviceName = amiType.startsWith("BOTTLEROCKET_") ? "/dev/xvdb" : "/dev/xvda";
  return new aws.ec2.LaunchTemplate(
    `${ngName}-lt`,
    {
      metadataOptions: { ...NODE_METADATA_OPTIONS },
      blockDeviceMappings: [{ deviceName, ebs: { volumeSize: diskSizeGiB, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }],
      tagSpecifications: [
        { resourceType: "instance", tags },
        { resourceType: "volume", tags },
      ],
      updateDefaultVersion: true,
      tags,
    },
    { parent },
  );
}

/** A stable, readable logical-name part for an IAM principal: its role name and a short hash of the ARN. */
function roleSlug(arn: string): string {
  const roleName = arn.split("/").pop() ?? "role";
  return `${roleName.replace(/[^A-Za-z0-9-]+/g, "-").toLowerCase().slice(0, 40)}-${createHash("sha256").update(arn).digest("hex").slice(0, 6)}`;
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
 * `aws eks get-token`, so it holds no credential of its own: as `roleArn` when given (`--role-arn`), with
 * the AWS CLI profile `profile` when given (`AWS_PROFILE`), else with the caller's default credentials.
 */
export function eksKubeconfig(c: { clusterName: string; endpoint: string; caData: string; region: string; roleArn?: string; profile?: string }): string {
  const args = ["eks", "get-token", "--cluster-name", c.clusterName, "--output", "json"];
  if (c.region) args.push("--region", c.region);
  if (c.roleArn) args.push("--role-arn", c.roleArn);
  const env = c.profile ? { env: [{ name: "AWS_PROFILE", value: c.profile }] } : {};
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: c.clusterName, cluster: { server: c.endpoint, "certificate-authority-data": c.caData } }],
    contexts: [{ name: c.clusterName, context: { cluster: c.clusterName, user: c.clusterName } }],
    "current-context": c.clusterName,
    users: [
      {
        name: c.clusterName,
        user: { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "aws", args, ...env, interactiveMode: "Never" } },
      },
    ],
  });
}
