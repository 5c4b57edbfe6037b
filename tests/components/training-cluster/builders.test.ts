import { describe, expect, test } from "vitest";
import { normalizeClusterArgs } from "../../../components/training-cluster/normalize.js";
import { scaleFromZeroTags, eksTaints, tolerationsFor } from "../../../components/training-cluster/node-pools.js";
import { clusterAutoscalerPolicy } from "../../../components/training-cluster/iam.js";
import { devicePluginValues } from "../../../components/training-cluster/addons.js";
import { eksKubeconfig, nodeGroupNamePrefix, NODE_GROUP_NAME_PREFIX_MAX, scalingConfig } from "../../../components/training-cluster/eks.js";
import { clusterQueueManifest, priorityClassManifests, tenancyNames } from "../../../components/training-cluster/tenancy.js";

const cfg = normalizeClusterArgs({
  eks: { subnetIds: ["subnet-a", "subnet-b"] },
  nodePools: [{ name: "a100", instanceType: "p4d.24xlarge", gpusPerNode: 8, labels: { tier: "train" } }],
  teams: [{ name: "fraud", gpuQuota: 16 }],
});
const pool = cfg.pools[0]!;

describe("node pools", () => {
  test("tags a GPU group for scale-from-zero: labels, the GPU taint, the GPU count and auto-discovery", () => {
    expect(scaleFromZeroTags(pool, "mlops-dev-ml")).toEqual({
      "k8s.io/cluster-autoscaler/enabled": "true",
      "k8s.io/cluster-autoscaler/mlops-dev-ml": "owned",
      "k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu": "8",
      "k8s.io/cluster-autoscaler/node-template/label/tier": "train",
      "k8s.io/cluster-autoscaler/node-template/label/mlops.dev/node-pool": "a100",
      "k8s.io/cluster-autoscaler/node-template/label/mlops.dev/gpu-type": "nvidia-a100",
      "k8s.io/cluster-autoscaler/node-template/label/nvidia.com/gpu.present": "true",
      "k8s.io/cluster-autoscaler/node-template/label/k8s.amazonaws.com/accelerator": "nvidia-a100",
      "k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu": "true:NoSchedule",
    });
  });

  test("spells taints the EKS way on the node group and the Kubernetes way in tolerations", () => {
    expect(eksTaints(pool)).toEqual([{ key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" }]);
    expect(tolerationsFor(pool)).toEqual([{ key: "nvidia.com/gpu", operator: "Equal", value: "true", effect: "NoSchedule" }]);
  });

  test("has the device plugin tolerate the GPU taint and run only on the pools", () => {
    const values = devicePluginValues(cfg.pools) as any;
    expect(values.tolerations).toContainEqual({ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" });
    expect(values.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: "mlops.dev/node-pool", operator: "In", values: ["a100"] }] },
    ]);
  });
});

describe("node groups", () => {
  test("name a group by a prefix that keeps the whole pool name, within the provider's 37 characters", () => {
    expect(nodeGroupNamePrefix("mlops-dev-ml", "a100")).toBe("mlops-dev-ml-a100-");
    const long = nodeGroupNamePrefix("platform-production-training-cluster-east", "a100-spot-pool");
    expect(long.length).toBeLessThanOrEqual(NODE_GROUP_NAME_PREFIX_MAX);
    expect(long).toMatch(/^platform-[a-z-]*[a-z]-a100-spot-pool-$/);
  });

  test("render desiredSize as min, so a raised min is sent together with a desiredSize EKS accepts", () => {
    expect(scalingConfig(0, 4)).toEqual({ minSize: 0, maxSize: 4, desiredSize: 0 });
    expect(scalingConfig(1, 4)).toEqual({ minSize: 1, maxSize: 4, desiredSize: 1 });
  });

  test("keep the device plugin off Bottlerocket pools", () => {
    const mixed = normalizeClusterArgs({
      eks: { subnetIds: ["subnet-a", "subnet-b"] },
      nodePools: [
        { name: "a100", instanceType: "p4d.24xlarge", gpusPerNode: 8 },
        { name: "br", instanceType: "g6.xlarge", gpusPerNode: 1, amiType: "BOTTLEROCKET_x86_64_NVIDIA" },
      ],
    });
    const values = devicePluginValues(mixed.pools) as any;
    expect(values.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: "mlops.dev/node-pool", operator: "In", values: ["a100"] }] },
    ]);
  });
});

describe("IAM", () => {
  test("limits scaling to groups the cluster owns", () => {
    const scale = clusterAutoscalerPolicy("c1").Statement[1]!;
    expect(scale.Action).toEqual(["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]);
    expect(scale.Condition).toEqual({ StringEquals: { "aws:ResourceTag/k8s.io/cluster-autoscaler/c1": "owned" } });
  });

});

describe("tenancy", () => {
  const owner = { name: "ml", instance: "mlops-dev-ml", partOf: "mlops" };
  const names = tenancyNames({ project: "mlops", stage: "dev" }, cfg.pools, cfg.teams);

  test("makes training never preempt and serving preempt lower priorities", () => {
    const [training, serving] = priorityClassManifests(names.priorityClasses, owner);
    expect(training).toMatchObject({ metadata: { name: "mlops-dev-training" }, preemptionPolicy: "Never" });
    expect(serving).toMatchObject({ metadata: { name: "mlops-dev-serving" }, preemptionPolicy: "PreemptLowerPriority" });
    expect((serving as any).value).toBeGreaterThan((training as any).value);
  });

  test("gives a one-pool team's ClusterQueue flavor the whole GPU quota and the default cpu and memory", () => {
    const cq = clusterQueueManifest(cfg.teams[0]!, cfg.pools, names, owner) as any;
    expect(cq.spec.resourceGroups[0].flavors[0]).toEqual({
      name: "mlops-dev-a100",
      resources: [
        { name: "cpu", nominalQuota: "1000" },
        { name: "memory", nominalQuota: "8Ti" },
        { name: "nvidia.com/gpu", nominalQuota: 16 },
      ],
    });
  });
});

test("builds a kubeconfig that authenticates with aws eks get-token", () => {
  const kc = JSON.parse(eksKubeconfig({ clusterName: "c1", endpoint: "https://x", caData: "Q0E=", region: "eu-west-1" }));
  expect(kc.clusters[0].cluster).toEqual({ server: "https://x", "certificate-authority-data": "Q0E=" });
  expect(kc.users[0].user.exec).toMatchObject({ command: "aws", args: ["eks", "get-token", "--cluster-name", "c1", "--output", "json", "--region", "eu-west-1"] });
});
