import { beforeAll, beforeEach, expect, test, vi } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { byType, findResource, reset, setupMocks, trustOf, waitForResources } from "../../helpers/pulumi-mocks.js";

type Mod = typeof import("../../../components/training-cluster/index.js");
let mod: Mod;
beforeAll(async () => {
  await setupMocks({ stack: "dev" });
  mod = await import("../../../components/training-cluster/index.js");
});
beforeEach(() => reset());

const eks = { subnetIds: ["subnet-a", "subnet-b"] };
async function cluster(extra: Partial<import("../../../components/training-cluster/args.js").EksArgs> = {}) {
  const c = new mod.TrainingCluster("ml", { eks: { ...eks, ...extra } });
  await waitForResources();
  return c;
}
const addon = (name: string) => findResource("aws:eks/addon:Addon", { addonName: name });

test("manages vpc-cni, kube-proxy, coredns and metrics-server as EKS add-ons pinned for 1.35 by default", async () => {
  await cluster();
  const versions = Object.fromEntries(byType("aws:eks/addon:Addon").map((a) => [a.inputs.addonName, a.inputs.addonVersion]));
  expect(versions).toEqual({
    "vpc-cni": "v1.22.4-eksbuild.3",
    "kube-proxy": "v1.35.3-eksbuild.29",
    coredns: "v1.13.2-eksbuild.31",
    "metrics-server": "v0.9.0-eksbuild.6",
  });
  for (const a of byType("aws:eks/addon:Addon")) {
    expect(a.inputs).toMatchObject({ clusterName: "mlops-dev-ml", resolveConflictsOnCreate: "OVERWRITE", resolveConflictsOnUpdate: "OVERWRITE" });
  }
});

test("turns on VPC CNI network policy enforcement", async () => {
  await cluster();
  expect(JSON.parse(addon("vpc-cni").inputs.configurationValues)).toEqual({ enableNetworkPolicy: "true" });
});

test("gives the VPC CNI its own service-account role with AmazonEKS_CNI_Policy, and not the node role", async () => {
  await cluster();
  const cniRole = byType("aws:iam/role:Role").find((r) => r.name === "ml-vpc-cni-role")!;
  expect(addon("vpc-cni").inputs.serviceAccountRoleArn).toBe(cniRole.state.arn);
  expect(JSON.stringify(trustOf("ml-vpc-cni-role"))).toContain("system:serviceaccount:kube-system:aws-node");
  const attachments = byType("aws:iam/rolePolicyAttachment:RolePolicyAttachment");
  const cni = attachments.filter((a) => a.inputs.policyArn === "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy");
  expect(cni.map((a) => a.inputs.role)).toEqual([cniRole.state.name]);
  const nodeRole = byType("aws:iam/role:Role").find((r) => r.name === "ml-node-role")!;
  expect(attachments.filter((a) => a.inputs.role === nodeRole.state.name).map((a) => a.inputs.policyArn).sort()).toEqual([
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
  ]);
});

test("creates the node groups after vpc-cni and kube-proxy, and coredns and metrics-server after the system nodes", async () => {
  await cluster();
  const urn = (r: { name: string; type: string }) => `urn:pulumi:dev::mlops::mlops:training:TrainingCluster$${r.type}::${r.name}`;
  const system = findResource("aws:eks/nodeGroup:NodeGroup", { nodeGroupNamePrefix: "mlops-dev-ml-system-" });
  expect(system.options.dependencies).toEqual(expect.arrayContaining([urn(addon("vpc-cni")), urn(addon("kube-proxy"))]));
  expect(addon("coredns").options.dependencies).toContain(urn(system));
  expect(addon("metrics-server").options.dependencies).toContain(urn(system));
});

test("uses eks.addonVersions over the table", async () => {
  await cluster({ addonVersions: { coredns: "v1.13.2-eksbuild.11" } });
  expect(addon("coredns").inputs.addonVersion).toBe("v1.13.2-eksbuild.11");
  expect(addon("vpc-cni").inputs.addonVersion).toBe("v1.22.4-eksbuild.3");
});

test("leaves the version to EKS, and warns, for a Kubernetes version the table lacks", async () => {
  const warn = vi.spyOn(pulumi.log, "warn").mockImplementation(async () => {});
  try {
    await cluster({ version: "1.34" });
    expect(addon("coredns").inputs.addonVersion).toBeUndefined();
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/eks\.version "1\.34" has no pinned EKS add-on versions.*eks\.addonVersions/), expect.anything());
  } finally {
    warn.mockRestore();
  }
});

test("leaves metrics-server out with metricsServer: false", async () => {
  await cluster({ metricsServer: false });
  expect(byType("aws:eks/addon:Addon").map((a) => a.inputs.addonName).sort()).toEqual(["coredns", "kube-proxy", "vpc-cni"]);
});

test("fails when an add-on version is not an EKS add-on version", () => {
  expect(() => new mod.TrainingCluster("bad", { eks: { ...eks, addonVersions: { "vpc-cni": "1.22" } } })).toThrow(/eks\.addonVersions\.vpc-cni: must be an EKS add-on version such as v1\.22\.4-eksbuild\.3/);
});
