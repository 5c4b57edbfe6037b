/**
 * The cluster's network: a VPC created for it (when `eks.subnetIds` is not given), or a deploy-time check
 * that the given subnets span two availability zones, which EKS requires of a cluster's subnets.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { NormalizedEks } from "./normalize.js";

/** Subnet tags the AWS Load Balancer Controller (and the in-tree controller) discover subnets by. */
export const ELB_ROLE_TAG = "kubernetes.io/role/elb";
export const INTERNAL_ELB_ROLE_TAG = "kubernetes.io/role/internal-elb";
/** `kubernetes.io/cluster/<name>: shared`: the subnet may be used by, but is not owned by, the cluster. */
export function clusterTag(clusterName: string): Record<string, string> {
  return { [`kubernetes.io/cluster/${clusterName}`]: "shared" };
}

export interface NetworkResources {
  /** The subnets the control plane ENIs and every node group use: the private ones when a VPC is created. */
  readonly subnetIds: pulumi.Output<string[]>;
  /** The created VPC and its parts; absent with `eks.subnetIds`. */
  readonly vpc?: {
    readonly vpc: aws.ec2.Vpc;
    readonly publicSubnets: readonly aws.ec2.Subnet[];
    readonly privateSubnets: readonly aws.ec2.Subnet[];
    readonly natGateways: readonly aws.ec2.NatGateway[];
  };
}

/** The private and public subnet blocks of a VPC range: a quarter each for private, the last quarter split in 16 for public. */
export function subnetCidrs(cidrBlock: string, zones: number): { private: string[]; public: string[] } {
  const [ip, bits] = cidrBlock.split("/") as [string, string];
  const prefix = Number(bits);
  const base = ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - prefix);
  const block = (start: number, len: number) => `${toIp(base + start)}/${32 - Math.log2(len)}`;
  const quarter = size / 4;
  const publicLen = quarter / 16;
  return {
    private: Array.from({ length: zones }, (_, i) => block(i * quarter, quarter)),
    public: Array.from({ length: zones }, (_, i) => block(3 * quarter + i * publicLen, publicLen)),
  };
}

function toIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/**
 * The subnets a cluster runs in. With `eks.subnetIds`, those (checked at deploy time: at least two, in
 * at least two zones). Without, a VPC in the style of pulumi-eks's and awsx's default: public subnets with
 * an internet gateway, private subnets whose egress goes through NAT, one pair per zone; nodes and the
 * control plane use the private ones only.
 */
export function createNetwork(parent: pulumi.Resource, name: string, clusterName: string, eks: NormalizedEks, context: string): NetworkResources {
  const opts = { parent };
  if (!eks.vpc) return { subnetIds: checkSubnetZones(eks.subnetIds!, parent, context) };
  const v = eks.vpc;
  const tags = { ...eks.tags, "mlops.dev/cluster": clusterName };
  const cidrs = subnetCidrs(v.cidrBlock, v.availabilityZones);
  const azs = aws.getAvailabilityZonesOutput({ state: "available" }, opts).names.apply((names) => {
    if (names.length < v.availabilityZones) {
      throw new pulumi.ResourceError(
        `${context}: eks.vpc.availabilityZones is ${v.availabilityZones}, but the region has ${names.length} available (${names.join(", ")}). Set eks.vpc.availabilityZones to at most ${names.length}.`,
        parent,
      );
    }
    return names;
  });

  // DNS hostnames and support: nodes resolve the private API endpoint through the VPC resolver.
  const vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: v.cidrBlock, enableDnsHostnames: true, enableDnsSupport: true, tags: { ...tags, Name: clusterName } }, opts);
  const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: { ...tags, Name: clusterName } }, opts);
  const publicRt = new aws.ec2.RouteTable(`${name}-public-rt`, { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags: { ...tags, Name: `${clusterName}-public` } }, opts);

  const publicSubnets: aws.ec2.Subnet[] = [];
  const privateSubnets: aws.ec2.Subnet[] = [];
  const natGateways: aws.ec2.NatGateway[] = [];
  for (let i = 0; i < v.availabilityZones; i++) {
    const az = azs.apply((names) => names[i]!);
    const pub = new aws.ec2.Subnet(
      `${name}-public-${i}`,
      {
        vpcId: vpc.id,
        cidrBlock: cidrs.public[i]!,
        availabilityZone: az,
        mapPublicIpOnLaunch: true,
        tags: { ...tags, ...clusterTag(clusterName), [ELB_ROLE_TAG]: "1", Name: `${clusterName}-public-${i}` },
      },
      opts,
    );
    new aws.ec2.RouteTableAssociation(`${name}-public-${i}`, { subnetId: pub.id, routeTableId: publicRt.id }, opts);
    publicSubnets.push(pub);
    if (i === 0 || v.natGateways === "perAz") {
      const eip = new aws.ec2.Eip(`${name}-nat-${i}`, { domain: "vpc", tags: { ...tags, Name: `${clusterName}-nat-${i}` } }, opts);
      natGateways.push(
        new aws.ec2.NatGateway(`${name}-nat-${i}`, { allocationId: eip.id, subnetId: pub.id, tags: { ...tags, Name: `${clusterName}-nat-${i}` } }, { parent, dependsOn: [igw] }),
      );
    }
    const nat = natGateways[v.natGateways === "perAz" ? i : 0]!;
    const rt = new aws.ec2.RouteTable(
      `${name}-private-rt-${i}`,
      { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }], tags: { ...tags, Name: `${clusterName}-private-${i}` } },
      opts,
    );
    const priv = new aws.ec2.Subnet(
      `${name}-private-${i}`,
      {
        vpcId: vpc.id,
        cidrBlock: cidrs.private[i]!,
        availabilityZone: az,
        tags: { ...tags, ...clusterTag(clusterName), [INTERNAL_ELB_ROLE_TAG]: "1", Name: `${clusterName}-private-${i}` },
      },
      opts,
    );
    new aws.ec2.RouteTableAssociation(`${name}-private-${i}`, { subnetId: priv.id, routeTableId: rt.id }, opts);
    privateSubnets.push(priv);
  }
  return { subnetIds: pulumi.all(privateSubnets.map((s) => s.id)), vpc: { vpc, publicSubnets, privateSubnets, natGateways } };
}

/** The problem with subnets that do not span two zones (EKS: "Subnets specified must be in at least two different AZs"), or undefined. */
export function subnetZoneProblem(subnets: readonly { id: string; availabilityZone: string }[]): string | undefined {
  const zones = new Set(subnets.map((s) => s.availabilityZone));
  if (subnets.length >= 2 && zones.size >= 2) return undefined;
  const listed = subnets.map((s) => `${s.id} (${s.availabilityZone})`).join(", ") || "none";
  return (
    `eks.subnetIds must be in at least two availability zones, which EKS requires; got ${listed}. ` +
    `Add a subnet in another zone, or leave eks.subnetIds out to let the cluster create a VPC.`
  );
}

/**
 * The subnet ids, after looking each one up (ec2:DescribeSubnets) and failing the deployment with a
 * ResourceError when they do not span two zones: CreateCluster would fail on it anyway, with a message
 * that does not say which key to change.
 */
function checkSubnetZones(subnetIds: pulumi.Input<pulumi.Input<string>[]>, parent: pulumi.Resource, context: string): pulumi.Output<string[]> {
  return pulumi.output(subnetIds).apply((ids) =>
    pulumi.all(ids.map((id) => aws.ec2.getSubnetOutput({ id }, { parent }))).apply((subnets) => {
      const bad = subnetZoneProblem(subnets.map((s, i) => ({ id: ids[i]!, availabilityZone: s.availabilityZone })));
      if (bad) throw new pulumi.ResourceError(`${context}: ${bad}`, parent);
      return ids;
    }),
  );
}
