import { beforeAll, beforeEach, describe, expect, test, vi } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { MlopsError } from "../../../src/errors.js";
import {
  byType,
  findResource,
  hasResource,
  isSecretOutput,
  k8sObjects,
  k8sObjectsOfKind,
  outputOf,
  reset,
  resources,
  setupMocks,
  waitForResources,
} from "../../helpers/pulumi-mocks.js";
import { validateK8sObjects } from "../../helpers/k8s.js";

/** The GPU pool's node group (found by its name prefix: node groups get no fixed name). */
const POOL_NG = { nodeGroupNamePrefix: "mlops-dev-ml-a100-" };

type Mod = typeof import("../../../components/training-cluster/index.js");
let mod: Mod;

beforeAll(async () => {
  await setupMocks({
    stack: "dev",
    // EKS reports the Auto Scaling group behind a managed node group once it exists.
    outputs: (a) => (a.type === "aws:eks/nodeGroup:NodeGroup" ? { resources: [{ autoscalingGroups: [{ name: `eks-${a.name}-asg` }] }] } : undefined),
  });
  mod = await import("../../../components/training-cluster/index.js");
});
beforeEach(() => reset());

const eks = { subnetIds: ["subnet-a", "subnet-b"] };
const a100 = { name: "a100", instanceType: "p4d.24xlarge", gpusPerNode: 8, min: 0, max: 4, spot: true };

async function eksCluster(extra: Partial<import("../../../components/training-cluster/args.js").TrainingClusterArgs> = {}) {
  const cluster = new mod.TrainingCluster("ml", { eks, nodePools: [a100], teams: [{ name: "fraud", gpuQuota: 16 }], ...extra });
  await waitForResources();
  return cluster;
}

describe("EKS", () => {
  test("creates the cluster named after project, stage and name", async () => {
    await eksCluster();
    expect(hasResource("aws:eks/cluster:Cluster", { name: "mlops-dev-ml", vpcConfig: { subnetIds: ["subnet-a", "subnet-b"] } })).toBe(true);
  });

  test("uses EKS_DEFAULT_VERSION (1.35) by default", async () => {
    await eksCluster();
    expect(mod.EKS_DEFAULT_VERSION).toBe("1.35");
    expect(findResource("aws:eks/cluster:Cluster").inputs.version).toBe("1.35");
  });

  test("sets the STANDARD upgrade policy, so the cluster never drifts into paid extended support", async () => {
    await eksCluster();
    expect(findResource("aws:eks/cluster:Cluster").inputs.upgradePolicy).toEqual({ supportType: "STANDARD" });
  });

  test("warns when the configured version is past its end of standard support", async () => {
    const warn = vi.spyOn(pulumi.log, "warn").mockImplementation(async () => {});
    try {
      await eksCluster({ eks: { ...eks, version: "1.31" } });
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/eks\.version "1\.31" is past its end of EKS standard support \(2025-11-26\).*"1\.35"/), expect.anything());
    } finally {
      warn.mockRestore();
    }
  });

  test("gives no node group a fixed name, so a replacing change creates the new group first", async () => {
    await eksCluster({ nodePools: [a100, { name: "l4", instanceType: "g6.xlarge", gpusPerNode: 1 }] });
    const groups = byType("aws:eks/nodeGroup:NodeGroup");
    expect(groups).toHaveLength(4);
    for (const ng of groups) expect(ng.inputs.nodeGroupName).toBeUndefined();
    expect(groups.map((ng) => ng.inputs.nodeGroupNamePrefix).sort()).toEqual(["mlops-dev-ml-a100-", "mlops-dev-ml-l4-", "mlops-dev-ml-serving-", "mlops-dev-ml-system-"]);
  });

  test("lets desiredSize follow min, so raising a pool's min from 0 to 1 is one update EKS accepts", async () => {
    await eksCluster({ nodePools: [{ ...a100, min: 0 }] });
    expect(findResource("aws:eks/nodeGroup:NodeGroup", POOL_NG).inputs.scalingConfig).toEqual({ minSize: 0, maxSize: 4, desiredSize: 0 });
    reset();
    const ignored: string[] = [];
    await eksCluster({ nodePools: [{ ...a100, min: 1 }], transform: { nodeGroup: (_a, o) => void ignored.push(...(o.ignoreChanges ?? [])) } });
    expect(findResource("aws:eks/nodeGroup:NodeGroup", POOL_NG).inputs.scalingConfig).toEqual({ minSize: 1, maxSize: 4, desiredSize: 1 });
    // Were desiredSize ignored, the update would send minSize 1 with the old desiredSize 0.
    expect(ignored).not.toContain("scalingConfig.desiredSize");
  });

  test("labels GPU nodes k8s.amazonaws.com/accelerator and tags the Auto Scaling group for it", async () => {
    await eksCluster();
    expect(findResource("aws:eks/nodeGroup:NodeGroup", POOL_NG).inputs.labels).toMatchObject({ "k8s.amazonaws.com/accelerator": "nvidia-a100" });
    expect(byType("aws:autoscaling/tag:Tag").map((r) => r.inputs.tag)).toContainEqual({
      key: "k8s.io/cluster-autoscaler/node-template/label/k8s.amazonaws.com/accelerator",
      value: "nvidia-a100",
      propagateAtLaunch: false,
    });
  });

  test("creates an OIDC provider for service-account roles from the cluster's issuer", async () => {
    await eksCluster();
    const oidc = findResource("aws:iam/openIdConnectProvider:OpenIdConnectProvider");
    expect(oidc.inputs.clientIdLists).toEqual(["sts.amazonaws.com"]);
    expect(oidc.inputs.url).toMatch(/^https:\/\/oidc\.eks\./);
  });

  test("makes a GPU node group with the NVIDIA AMI, spot capacity, scale from zero, taint and labels", async () => {
    await eksCluster();
    const ng = findResource("aws:eks/nodeGroup:NodeGroup", POOL_NG);
    expect(ng.inputs).toMatchObject({
      amiType: "AL2023_x86_64_NVIDIA",
      capacityType: "SPOT",
      instanceTypes: ["p4d.24xlarge"],
      scalingConfig: { minSize: 0, maxSize: 4, desiredSize: 0 },
      taints: [{ key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" }],
      labels: { "mlops.dev/node-pool": "a100", "mlops.dev/gpu-type": "nvidia-a100" },
    });
  });

  test("tags the GPU node group for the autoscaler's scale-from-zero", async () => {
    await eksCluster();
    const tags = findResource("aws:eks/nodeGroup:NodeGroup", POOL_NG).inputs.tags;
    expect(tags).toMatchObject({
      "k8s.io/cluster-autoscaler/enabled": "true",
      "k8s.io/cluster-autoscaler/mlops-dev-ml": "owned",
      "k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu": "8",
      "k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu": "true:NoSchedule",
      "k8s.io/cluster-autoscaler/node-template/label/mlops.dev/node-pool": "a100",
    });
  });

  test("copies the scale-from-zero tags onto the node group's Auto Scaling group", async () => {
    await eksCluster();
    const asgTags = byType("aws:autoscaling/tag:Tag").map((r) => r.inputs);
    expect(asgTags).toContainEqual({
      autoscalingGroupName: "eks-ml-a100-asg",
      tag: { key: "k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu", value: "8", propagateAtLaunch: false },
    });
    expect(asgTags).toContainEqual(expect.objectContaining({ tag: expect.objectContaining({ key: "k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu", value: "true:NoSchedule" }) }));
  });

  test("uses on-demand capacity when spot is not asked for", async () => {
    await eksCluster({ nodePools: [{ ...a100, spot: false }] });
    expect(hasResource("aws:eks/nodeGroup:NodeGroup", { ...POOL_NG, capacityType: "ON_DEMAND" })).toBe(true);
  });

  test("creates an untainted on-demand system node group", async () => {
    await eksCluster();
    const sys = findResource("aws:eks/nodeGroup:NodeGroup", { nodeGroupNamePrefix: "mlops-dev-ml-system-" });
    expect(sys.inputs).toMatchObject({ capacityType: "ON_DEMAND", instanceTypes: ["m6i.large"], scalingConfig: { minSize: 2, maxSize: 4 } });
    expect(sys.inputs.taints).toBeUndefined();
  });

  test("deploys the cluster autoscaler with auto-discovery and a service-account role", async () => {
    await eksCluster();
    const ca = findResource("kubernetes:helm.sh/v3:Release", { chart: "cluster-autoscaler" });
    expect(ca.inputs).toMatchObject({
      repositoryOpts: { repo: "https://kubernetes.github.io/autoscaler" },
      namespace: "kube-system",
      values: {
        autoDiscovery: { clusterName: "mlops-dev-ml" },
        awsRegion: "us-east-1",
        image: { tag: "v1.35.0" },
        rbac: { serviceAccount: { name: "cluster-autoscaler", annotations: { "eks.amazonaws.com/role-arn": expect.stringMatching(/^arn:aws:iam/) } } },
      },
    });
    const trust = JSON.parse(findResource("aws:iam/role:Role", { assumeRolePolicy: (p: string) => p.includes("cluster-autoscaler") }).inputs.assumeRolePolicy);
    expect(Object.values(trust.Statement[0].Condition.StringEquals)).toContain("system:serviceaccount:kube-system:cluster-autoscaler");
  });

  test("outputs a secret kubeconfig that uses aws eks get-token", async () => {
    const cluster = await eksCluster();
    expect(await isSecretOutput(cluster.kubeconfig)).toBe(true);
    const kc = JSON.parse(await outputOf(cluster.kubeconfig));
    expect(kc.users[0].user.exec.args).toEqual(["eks", "get-token", "--cluster-name", "mlops-dev-ml", "--output", "json", "--region", "us-east-1"]);
  });

  test("hands every Kubernetes object to its own provider", async () => {
    await eksCluster();
    const provider = findResource("pulumi:providers:kubernetes");
    expect(provider.secretPaths).toContain("/kubeconfig");
    for (const r of byType("kubernetes:core/v1:Namespace")) expect(r.provider).toMatch(/pulumi:providers:kubernetes::ml-k8s::/);
  });

  test("outputs the node pool names", async () => {
    const cluster = await eksCluster({ nodePools: [a100, { name: "l4", instanceType: "g6.xlarge", gpusPerNode: 1 }] });
    expect(await outputOf(cluster.nodePoolNames)).toEqual(["a100", "l4"]);
  });
});

describe("kubeconfig", () => {
  const pools = [{ name: "a10", gpusPerNode: 1, labels: { "node.kubernetes.io/instance-type": "g5.xlarge" } }];

  test("creates no AWS resource and passes the kubeconfig to the provider as a secret", async () => {
    const cluster = new mod.TrainingCluster("onprem", { kubeconfig: "apiVersion: v1\nkind: Config", nodePools: pools });
    await waitForResources();
    expect(byType("aws:eks/cluster:Cluster")).toHaveLength(0);
    expect(findResource("pulumi:providers:kubernetes").secretPaths).toContain("/kubeconfig");
    expect(await isSecretOutput(cluster.kubeconfig)).toBe(true);
  });

  test("deploys no cluster autoscaler", async () => {
    new mod.TrainingCluster("onprem2", { kubeconfig: "x", nodePools: pools });
    await waitForResources();
    expect(hasResource("kubernetes:helm.sh/v3:Release", { chart: "cluster-autoscaler" })).toBe(false);
  });

  test("pins the device plugin to the pool's own labels", async () => {
    new mod.TrainingCluster("onprem3", { kubeconfig: "x", nodePools: pools });
    await waitForResources();
    const dp = findResource("kubernetes:helm.sh/v3:Release", { chart: "nvidia-device-plugin" });
    expect(dp.inputs.values.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: "node.kubernetes.io/instance-type", operator: "In", values: ["g5.xlarge"] }] },
    ]);
  });
});

describe("add-ons", () => {
  test("installs the NVIDIA device plugin chart tolerating the GPU taint", async () => {
    await eksCluster();
    const dp = findResource("kubernetes:helm.sh/v3:Release", { chart: "nvidia-device-plugin" });
    expect(dp.inputs.repositoryOpts).toEqual({ repo: "https://nvidia.github.io/k8s-device-plugin" });
    expect(dp.inputs.values.tolerations).toContainEqual({ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" });
  });

  test("installs the GPU agents in the one namespace that allows privileged pods", async () => {
    await eksCluster({ dcgmExporter: true });
    for (const chart of ["nvidia-device-plugin", "dcgm-exporter"]) {
      expect(findResource("kubernetes:helm.sh/v3:Release", { chart }).inputs.namespace).toBe("mlops-gpu-system");
    }
    const privileged = k8sObjectsOfKind("Namespace").filter((n) => n.metadata.labels?.["pod-security.kubernetes.io/enforce"] === "privileged");
    expect(privileged.map((n) => n.metadata.name)).toEqual(["mlops-gpu-system"]);
  });

  test("leaves the DCGM exporter out by default", async () => {
    await eksCluster();
    expect(hasResource("kubernetes:helm.sh/v3:Release", { chart: "dcgm-exporter" })).toBe(false);
  });

  test("keeps the device plugin off Bottlerocket pools, whose AMI runs its own", async () => {
    await eksCluster({ nodePools: [a100, { name: "br", instanceType: "g6.xlarge", gpusPerNode: 1, amiType: "BOTTLEROCKET_x86_64_NVIDIA" }] });
    const dp = findResource("kubernetes:helm.sh/v3:Release", { chart: "nvidia-device-plugin" });
    expect(dp.inputs.values.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: "mlops.dev/node-pool", operator: "In", values: ["a100"] }] },
    ]);
  });

  test("installs no device plugin when every pool is Bottlerocket", async () => {
    await eksCluster({ nodePools: [{ ...a100, amiType: "BOTTLEROCKET_x86_64_NVIDIA" }] });
    expect(hasResource("kubernetes:helm.sh/v3:Release", { chart: "nvidia-device-plugin" })).toBe(false);
  });

  test("leaves the device plugin out when told the cluster has one", async () => {
    await eksCluster({ devicePlugin: false });
    expect(hasResource("kubernetes:helm.sh/v3:Release", { chart: "nvidia-device-plugin" })).toBe(false);
  });
});

describe("tenancy", () => {
  test("gives each team a restricted namespace and a GPU ResourceQuota", async () => {
    await eksCluster({ teams: [{ name: "fraud", gpuQuota: 16, cpuQuota: "64" }] });
    // Cluster-scoped names carry the stack (mocks: project "mlops", stack "dev"), so two stacks can share a cluster.
    const ns = k8sObjectsOfKind("Namespace").find((n) => n.metadata.name === "mlops-dev-fraud");
    expect(ns?.metadata.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    const quota = k8sObjectsOfKind("ResourceQuota").find((q) => q.metadata.namespace === "mlops-dev-fraud");
    expect(quota?.spec.hard).toEqual({ "requests.nvidia.com/gpu": "16", "requests.cpu": "64" });
  });

  test("creates the training and serving priority classes", async () => {
    await eksCluster();
    expect(k8sObjectsOfKind("PriorityClass").map((p) => [p.metadata.name, p.preemptionPolicy])).toEqual([
      ["mlops-dev-training", "Never"],
      ["mlops-dev-serving", "PreemptLowerPriority"],
    ]);
  });

  test("with Kueue: a flavor per pool, a ClusterQueue and a LocalQueue per team, after the Kueue release", async () => {
    await eksCluster({ nodePools: [a100, { name: "l4", instanceType: "g6.xlarge", gpusPerNode: 1 }], kueue: {} });
    expect(findResource("kubernetes:helm.sh/v3:Release", { chart: "oci://registry.k8s.io/kueue/charts/kueue" }).inputs.namespace).toBe("kueue-system");
    expect(k8sObjectsOfKind("ResourceFlavor").map((f) => [f.metadata.name, f.spec.nodeLabels])).toEqual([
      ["mlops-dev-cpu", undefined],
      ["mlops-dev-a100", { "mlops.dev/node-pool": "a100" }],
      ["mlops-dev-l4", { "mlops.dev/node-pool": "l4" }],
    ]);
    const cq = k8sObjectsOfKind("ClusterQueue")[0]!;
    expect(cq.metadata.name).toBe("mlops-dev-fraud");
    expect(cq.spec.resourceGroups[0].flavors.map((f: any) => f.name)).toEqual(["mlops-dev-a100", "mlops-dev-l4", "mlops-dev-cpu"]);
    expect(k8sObjectsOfKind("LocalQueue")).toEqual([
      expect.objectContaining({ metadata: expect.objectContaining({ name: "fraud", namespace: "mlops-dev-fraud" }), spec: { clusterQueue: "mlops-dev-fraud" } }),
    ]);
    expect(byType("kubernetes:kueue.x-k8s.io/v1beta1:ClusterQueue")).toHaveLength(1);
  });
});

test("every Kubernetes object the cluster emits validates against the schema", async () => {
  await eksCluster({ kueue: {}, dcgmExporter: true });
  const { errors } = validateK8sObjects(k8sObjects());
  expect(k8sObjects().length).toBeGreaterThan(5);
  expect(errors).toEqual([]);
});

test("fails when both eks and kubeconfig are given, before creating any child", async () => {
  expect(() => new mod.TrainingCluster("bad", { eks, kubeconfig: "x" })).toThrow(MlopsError);
  await waitForResources();
  expect(resources().filter((r) => r.type !== "mlops:training:TrainingCluster")).toEqual([]);
});
