import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { byType, findResource, outputOf, reset, setupMocks, waitForResources } from "../../helpers/pulumi-mocks.js";
import { eksKubeconfig } from "../../../components/training-cluster/eks.js";
import { eksWarnings, normalizeEks } from "../../../components/training-cluster/normalize.js";

type Mod = typeof import("../../../components/training-cluster/index.js");
let mod: Mod;
beforeAll(async () => {
  await setupMocks({ stack: "dev" });
  mod = await import("../../../components/training-cluster/index.js");
});
beforeEach(() => reset());

const eks = { subnetIds: ["subnet-a", "subnet-b"] };
async function cluster(extra: Partial<import("../../../components/training-cluster/args.js").EksArgs> = {}, nodePools: import("../../../components/training-cluster/args.js").GpuNodePoolArgs[] = []) {
  const c = new mod.TrainingCluster("ml", { eks: { ...eks, ...extra }, nodePools });
  await waitForResources();
  return c;
}
const clusterInputs = () => findResource("aws:eks/cluster:Cluster").inputs;

describe("endpoint access", () => {
  test("uses a public endpoint open to 0.0.0.0/0 and a private endpoint by default", async () => {
    await cluster();
    expect(clusterInputs().vpcConfig).toMatchObject({ endpointPublicAccess: true, endpointPrivateAccess: true, publicAccessCidrs: ["0.0.0.0/0"] });
  });

  test("restricts the public endpoint to eks.publicAccessCidrs", async () => {
    await cluster({ publicAccessCidrs: ["203.0.113.0/24"] });
    expect(clusterInputs().vpcConfig.publicAccessCidrs).toEqual(["203.0.113.0/24"]);
  });

  test("fails when both endpoints are turned off", () => {
    expect(() => new mod.TrainingCluster("bad", { eks: { ...eks, endpointPublicAccess: false, endpointPrivateAccess: false } })).toThrow(/eks\.endpointPrivateAccess: is false together with endpointPublicAccess/);
  });

  test("warns in prod while the public endpoint is open to the internet, not elsewhere", () => {
    const open = normalizeEks(eks, "prod");
    expect(eksWarnings(open, "prod")).toEqual([expect.stringMatching(/eks\.publicAccessCidrs lets the whole internet reach the prod cluster's API endpoint.*Set eks\.publicAccessCidrs/)]);
    expect(eksWarnings(open, "staging")).toEqual([]);
    expect(eksWarnings(normalizeEks({ ...eks, publicAccessCidrs: ["203.0.113.0/24"] }, "prod"), "prod")).toEqual([]);
  });
});

test("sends api, audit and authenticator logs to CloudWatch by default", async () => {
  await cluster();
  expect(clusterInputs().enabledClusterLogTypes).toEqual(["api", "audit", "authenticator"]);
});

test("uses the API_AND_CONFIG_MAP authentication mode by default", async () => {
  await cluster();
  expect(clusterInputs().accessConfig).toEqual({ authenticationMode: "API_AND_CONFIG_MAP", bootstrapClusterCreatorAdminPermissions: true });
});

test("gives each of eks.adminRoleArns an access entry with the cluster admin policy", async () => {
  const arn = "arn:aws:iam::123456789012:role/ci-deploy";
  await cluster({ adminRoleArns: [arn] });
  expect(findResource("aws:eks/accessEntry:AccessEntry").inputs).toMatchObject({ clusterName: "mlops-dev-ml", principalArn: arn, type: "STANDARD" });
  expect(findResource("aws:eks/accessPolicyAssociation:AccessPolicyAssociation").inputs).toEqual({
    clusterName: "mlops-dev-ml",
    principalArn: arn,
    policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
    accessScope: { type: "cluster" },
  });
});

test("fails when an admin role is not an IAM role ARN", () => {
  expect(() => new mod.TrainingCluster("bad", { eks: { ...eks, adminRoleArns: ["ci-deploy"] } })).toThrow(/eks\.adminRoleArns\[0\]: must be an IAM role ARN/);
});

describe("launch templates", () => {
  test("require IMDSv2 with a hop limit of 1 on every node group", async () => {
    await cluster({}, [{ name: "a100", instanceType: "p4d.24xlarge", gpusPerNode: 8 }]);
    const lts = byType("aws:ec2/launchTemplate:LaunchTemplate");
    const groups = byType("aws:eks/nodeGroup:NodeGroup");
    expect(lts).toHaveLength(3);
    for (const lt of lts) expect(lt.inputs.metadataOptions).toEqual({ httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 });
    expect(groups.map((g) => g.inputs.launchTemplate.id).sort()).toEqual(lts.map((l) => l.id).sort());
    for (const g of groups) expect(g.inputs.launchTemplate.version).toBe("1");
  });

  test("put the disk size in the template, not on the node group (EKS refuses both)", async () => {
    await cluster({}, [{ name: "a100", instanceType: "p4d.24xlarge", gpusPerNode: 8, diskSizeGiB: 500 }]);
    const ng = findResource("aws:eks/nodeGroup:NodeGroup", { nodeGroupNamePrefix: "mlops-dev-ml-a100-" });
    expect(ng.inputs.diskSize).toBeUndefined();
    const lt = byType("aws:ec2/launchTemplate:LaunchTemplate").find((l) => l.id === ng.inputs.launchTemplate.id)!;
    expect(lt.inputs.blockDeviceMappings).toEqual([{ deviceName: "/dev/xvda", ebs: { volumeSize: 500, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }]);
  });

  test("size Bottlerocket's data volume (/dev/xvdb)", async () => {
    await cluster({}, [{ name: "l4", instanceType: "g6.xlarge", gpusPerNode: 1, amiType: "BOTTLEROCKET_x86_64_NVIDIA" }]);
    const ng = findResource("aws:eks/nodeGroup:NodeGroup", { nodeGroupNamePrefix: "mlops-dev-ml-l4-" });
    const lt = byType("aws:ec2/launchTemplate:LaunchTemplate").find((l) => l.id === ng.inputs.launchTemplate.id)!;
    expect(lt.inputs.blockDeviceMappings[0].deviceName).toBe("/dev/xvdb");
  });
});

describe("kubeconfig", () => {
  const base = { clusterName: "c", endpoint: "https://k", caData: "ca", region: "us-east-1" };
  const exec = (k: string) => JSON.parse(k).users[0].user.exec;

  test("assumes eks.kubeconfig.roleArn through aws eks get-token", () => {
    expect(exec(eksKubeconfig({ ...base, roleArn: "arn:aws:iam::123456789012:role/admin" })).args).toEqual(
      expect.arrayContaining(["--role-arn", "arn:aws:iam::123456789012:role/admin"]),
    );
  });

  test("uses the AWS profile eks.kubeconfig.profile", () => {
    expect(exec(eksKubeconfig({ ...base, profile: "ml-admin" })).env).toEqual([{ name: "AWS_PROFILE", value: "ml-admin" }]);
    expect(exec(eksKubeconfig(base)).env).toBeUndefined();
  });

  test("carries them into the cluster's kubeconfig output", async () => {
    const c = await cluster({ kubeconfig: { roleArn: "arn:aws:iam::123456789012:role/admin", profile: "ml" } });
    const e = exec(await outputOf(c.kubeconfig));
    expect(e.args).toContain("--role-arn");
    expect(e.env).toEqual([{ name: "AWS_PROFILE", value: "ml" }]);
  });
});
