import { createHash } from "node:crypto";

/**
 * What the cloud would answer for resources and data sources, offline: the outputs a program reads from
 * resources it creates (names, ARNs, endpoints, digests) and the results of the data sources it calls.
 * Deterministic, so `mlops synth` is byte-identical across runs; shared with the component tests' mocks.
 */

/** A short deterministic suffix, standing in for the provider's random auto-name suffix. */
export function mockSuffix(seed: string): string {
  return createHash("sha256").update(seed).digest("hex").slice(0, 8);
}

/** Outputs of a created resource beyond its inputs. */
export function mockOutputs(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
  const account = "123456789012";
  if (type === "aws:s3/bucket:Bucket" || type === "aws:s3/bucketV2:BucketV2") {
    const bucket = inputs.bucket ?? `${inputs.bucketPrefix ?? name + "-"}${mockSuffix(name)}`;
    return {
      bucket,
      arn: `arn:aws:s3:::${bucket}`,
      bucketDomainName: `${bucket}.s3.amazonaws.com`,
      bucketRegionalDomainName: `${bucket}.s3.us-east-1.amazonaws.com`,
      region: "us-east-1",
    };
  }
  if (type === "aws:eks/cluster:Cluster") {
    const clusterName = inputs.name ?? `${name}-${mockSuffix(name)}`;
    return {
      name: clusterName,
      arn: `arn:aws:eks:us-east-1:${account}:cluster/${clusterName}`,
      endpoint: `https://${mockSuffix(name).toUpperCase()}.gr7.us-east-1.eks.amazonaws.com`,
      certificateAuthority: { data: Buffer.from(`mock-ca-${clusterName}`).toString("base64") },
      version: inputs.version ?? "1.31",
      identities: [{ oidcs: [{ issuer: `https://oidc.eks.us-east-1.amazonaws.com/id/${mockSuffix(name).toUpperCase()}` }] }],
      vpcConfig: { ...inputs.vpcConfig, vpcId: "vpc-mock", clusterSecurityGroupId: `sg-${mockSuffix(name)}` },
      status: "ACTIVE",
    };
  }
  if (type === "aws:elasticache/replicationGroup:ReplicationGroup") {
    const id = inputs.replicationGroupId ?? `${name}-${mockSuffix(name)}`;
    return {
      arn: `arn:aws:elasticache:us-east-1:${account}:replicationgroup:${id}`,
      primaryEndpointAddress: `master.${id}.abc123.use1.cache.amazonaws.com`,
      readerEndpointAddress: `replica.${id}.abc123.use1.cache.amazonaws.com`,
      port: inputs.port ?? 6379,
    };
  }
  if (type === "aws:eks/nodeGroup:NodeGroup") {
    return { arn: `arn:aws:eks:us-east-1:${account}:nodegroup/${name}`, resources: [{ autoscalingGroups: [{ name: `eks-${name}-${mockSuffix(name)}` }] }] };
  }
  if (type === "aws:ec2/launchTemplate:LaunchTemplate") {
    return { arn: `arn:aws:ec2:us-east-1:${account}:launch-template/lt-${mockSuffix(name)}`, latestVersion: 1, defaultVersion: 1 };
  }
  if (type === "aws:ec2/subnet:Subnet") {
    return { arn: `arn:aws:ec2:us-east-1:${account}:subnet/${name}-id` };
  }
  if (type === "aws:eks/addon:Addon") {
    return { arn: `arn:aws:eks:us-east-1:${account}:addon/${inputs.clusterName}/${inputs.addonName}/${mockSuffix(name)}`, addonVersion: inputs.addonVersion ?? "v0.0.0-eksbuild.1" };
  }
  if (type === "aws:ecr/repository:Repository") {
    const repo = inputs.name ?? `${name}-${mockSuffix(name)}`;
    return { name: repo, registryId: account, repositoryUrl: `${account}.dkr.ecr.us-east-1.amazonaws.com/${repo}`, arn: `arn:aws:ecr:us-east-1:${account}:repository/${repo}` };
  }
  if (type === "aws:kms/key:Key") {
    return { arn: `arn:aws:kms:us-east-1:${account}:key/${name}-id`, keyId: `${name}-id` };
  }
  if (type === "docker:index/image:Image") {
    const imageName = inputs.imageName ?? `${name}:latest`;
    return { imageName, repoDigest: `${imageName.split(":")[0]}@sha256:${createHash("sha256").update(imageName).digest("hex")}` };
  }
  if (type.startsWith("aws:")) {
    const service = type.split(":")[1]?.split("/")[0] ?? "service";
    const physical = inputs.name ?? `${name}-${mockSuffix(name)}`;
    return { name: physical, arn: `arn:aws:${service}::${account}:${physical}` };
  }
  return {};
}

/** Result of a data-source call (invoke). */
export function mockCall(token: string, inputs: Record<string, any>): Record<string, any> {
  switch (token) {
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return { accountId: "123456789012", arn: "arn:aws:iam::123456789012:user/mock", userId: "mock", id: "123456789012" };
    case "aws:index/getRegion:getRegion":
      return { name: "us-east-1", region: "us-east-1", id: "us-east-1" };
    case "aws:index/getPartition:getPartition":
      return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
    case "aws:index/getAvailabilityZones:getAvailabilityZones":
      return { names: ["us-east-1a", "us-east-1b", "us-east-1c"], zoneIds: ["use1-az1", "use1-az2", "use1-az3"], id: "us-east-1" };
    case "aws:ec2/getSubnet:getSubnet":
      return { id: inputs.id, availabilityZone: mockSubnetZone(String(inputs.id)), vpcId: "vpc-mock", cidrBlock: "10.0.0.0/18" };
    case "aws:iam/getPolicyDocument:getPolicyDocument":
      return { json: JSON.stringify({ Version: "2012-10-17", Statement: inputs.statements ?? [] }), id: "policy" };
    case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
      return { userName: "AWS", password: "mock-token", proxyEndpoint: "https://mock.ecr", id: "ecr" };
    default:
      return inputs;
  }
}

/**
 * The zone a looked-up subnet is in, from the last character of its id: a letter `a`–`f` is the zone
 * letter, a digit d is zone `abc`[d mod 3]; so `subnet-a`/`subnet-b` and `…0001`/`…0002` are in two zones.
 */
export function mockSubnetZone(id: string): string {
  const last = id.slice(-1).toLowerCase();
  const letter = /[a-f]/.test(last) ? last : /[0-9]/.test(last) ? "abc"[Number(last) % 3]! : "a";
  return `us-east-1${letter}`;
}
