import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { byType, findResource, invokes, reset, setupMocks, waitForResources } from "../../helpers/pulumi-mocks.js";
import { subnetCidrs, subnetZoneProblem } from "../../../components/training-cluster/vpc.js";

type Mod = typeof import("../../../components/training-cluster/index.js");
let mod: Mod;

beforeAll(async () => {
  await setupMocks({ stack: "dev" });
  mod = await import("../../../components/training-cluster/index.js");
});
beforeEach(() => reset());

async function cluster(eks: import("../../../components/training-cluster/args.js").EksArgs) {
  const c = new mod.TrainingCluster("ml", { eks });
  await waitForResources();
  return c;
}

describe("without eks.subnetIds", () => {
  test("creates a VPC with a private and a public subnet in each of three zones by default", async () => {
    await cluster({});
    expect(findResource("aws:ec2/vpc:Vpc").inputs).toMatchObject({ cidrBlock: "10.0.0.0/16", enableDnsHostnames: true, enableDnsSupport: true });
    const subnets = byType("aws:ec2/subnet:Subnet");
    expect(subnets.map((s) => s.inputs.availabilityZone).sort()).toEqual(["us-east-1a", "us-east-1a", "us-east-1b", "us-east-1b", "us-east-1c", "us-east-1c"]);
  });

  test("tags private subnets for internal load balancers and public ones for internet-facing, both shared with the cluster", async () => {
    await cluster({});
    const tags = byType("aws:ec2/subnet:Subnet").map((s) => s.inputs.tags);
    const priv = tags.filter((t) => t["kubernetes.io/role/internal-elb"] === "1");
    const pub = tags.filter((t) => t["kubernetes.io/role/elb"] === "1");
    expect(priv).toHaveLength(3);
    expect(pub).toHaveLength(3);
    for (const t of tags) expect(t["kubernetes.io/cluster/mlops-dev-ml"]).toBe("shared");
  });

  test("runs the control plane and every node group in the private subnets only", async () => {
    await cluster({});
    const privateIds = byType("aws:ec2/subnet:Subnet").filter((s) => s.inputs.tags["kubernetes.io/role/internal-elb"]).map((s) => s.id);
    expect(findResource("aws:eks/cluster:Cluster").inputs.vpcConfig.subnetIds).toEqual(privateIds);
    for (const ng of byType("aws:eks/nodeGroup:NodeGroup")) expect(ng.inputs.subnetIds).toEqual(privateIds);
  });

  test("routes public subnets to an internet gateway and private ones through NAT (one NAT outside prod)", async () => {
    await cluster({});
    const igw = findResource("aws:ec2/internetGateway:InternetGateway");
    expect(hasRoute({ gatewayId: igw.id! })).toBe(1);
    const nats = byType("aws:ec2/natGateway:NatGateway");
    expect(nats).toHaveLength(1);
    expect(hasRoute({ natGatewayId: nats[0]!.id! })).toBe(3);
    expect(byType("aws:ec2/routeTableAssociation:RouteTableAssociation")).toHaveLength(6);
  });

  test("gives each zone its own NAT gateway with natGateways: perAz", async () => {
    await cluster({ vpc: { natGateways: "perAz", availabilityZones: 2 } });
    expect(byType("aws:ec2/natGateway:NatGateway")).toHaveLength(2);
    expect(byType("aws:ec2/subnet:Subnet")).toHaveLength(4);
  });

  test("fails when eks.vpc is given together with eks.subnetIds", () => {
    expect(() => new mod.TrainingCluster("bad", { eks: { subnetIds: ["subnet-a", "subnet-b"], vpc: {} } })).toThrow(/eks\.vpc: is given together with eks\.subnetIds.*not both/);
  });
});

function hasRoute(match: Record<string, string>): number {
  return byType("aws:ec2/routeTable:RouteTable").filter((rt) => rt.inputs.routes.some((r: Record<string, string>) => Object.entries(match).every(([k, v]) => r[k] === v))).length;
}

describe("subnetCidrs", () => {
  test("gives private subnets a quarter of the range each and public ones a sixteenth of the last quarter", () => {
    expect(subnetCidrs("10.0.0.0/16", 3)).toEqual({
      private: ["10.0.0.0/18", "10.0.64.0/18", "10.0.128.0/18"],
      public: ["10.0.192.0/22", "10.0.196.0/22", "10.0.200.0/22"],
    });
    expect(subnetCidrs("172.16.16.0/20", 2)).toEqual({ private: ["172.16.16.0/22", "172.16.20.0/22"], public: ["172.16.28.0/26", "172.16.28.64/26"] });
  });
});

describe("with eks.subnetIds", () => {
  test("uses them, after looking each one up", async () => {
    await cluster({ subnetIds: ["subnet-a", "subnet-b"] });
    expect(byType("aws:ec2/vpc:Vpc")).toEqual([]);
    expect(findResource("aws:eks/cluster:Cluster").inputs.vpcConfig.subnetIds).toEqual(["subnet-a", "subnet-b"]);
    expect(invokes().filter((c) => c.token === "aws:ec2/getSubnet:getSubnet").map((c) => c.inputs.id)).toEqual(["subnet-a", "subnet-b"]);
  });

  test("fails when fewer than two are given, naming eks.subnetIds and the fix", () => {
    expect(() => new mod.TrainingCluster("bad", { eks: { subnetIds: ["subnet-a"] } })).toThrow(/eks\.subnetIds: must list at least two subnet ids.*leave subnetIds out to create a VPC/);
  });

  // The deploy-time check throws this message as a pulumi.ResourceError from the looked-up subnets'
  // apply; a rejected registration does not settle under the mocks, so the message is tested here.
  test("fails the deployment when the subnets are all in one zone: subnetZoneProblem names them and the fix", () => {
    expect(subnetZoneProblem([{ id: "s1", availabilityZone: "a" }, { id: "s2", availabilityZone: "b" }])).toBeUndefined();
    expect(subnetZoneProblem([{ id: "s1", availabilityZone: "a" }, { id: "s2", availabilityZone: "a" }])).toMatch(
      /eks\.subnetIds must be in at least two availability zones.*s1 \(a\), s2 \(a\).*Add a subnet in another zone, or leave eks\.subnetIds out/,
    );
  });
});
