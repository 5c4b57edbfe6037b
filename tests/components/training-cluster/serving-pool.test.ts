import { beforeAll, beforeEach, expect, test } from "vitest";
import { byType, findResource, reset, setupMocks, waitForResources } from "../../helpers/pulumi-mocks.js";
import { SERVING_PLACEMENT } from "../../../components/shared/constants.js";

type Mod = typeof import("../../../components/training-cluster/index.js");
let mod: Mod;
beforeAll(async () => {
  await setupMocks({ stack: "dev", outputs: (a) => (a.type === "aws:eks/nodeGroup:NodeGroup" ? { resources: [{ autoscalingGroups: [{ name: `eks-${a.name}-asg` }] }] } : undefined) });
  mod = await import("../../../components/training-cluster/index.js");
});
beforeEach(() => reset());

const eks = { subnetIds: ["subnet-a", "subnet-b"] };
const SERVING_NG = { nodeGroupNamePrefix: "mlops-dev-ml-serving-" };

test("creates an on-demand m6i.xlarge serving node group, 1 to 10 nodes, by default", async () => {
  new mod.TrainingCluster("ml", { eks });
  await waitForResources();
  expect(findResource("aws:eks/nodeGroup:NodeGroup", SERVING_NG).inputs).toMatchObject({
    instanceTypes: ["m6i.xlarge"],
    capacityType: "ON_DEMAND",
    amiType: "AL2023_x86_64_STANDARD",
    scalingConfig: { minSize: 1, maxSize: 10, desiredSize: 1 },
  });
});

test("labels and taints the serving nodes as SERVING_POOL", async () => {
  new mod.TrainingCluster("ml", { eks });
  await waitForResources();
  const ng = findResource("aws:eks/nodeGroup:NodeGroup", SERVING_NG).inputs;
  expect(ng.labels).toEqual({ "mlops.dev/node-pool": "serving" });
  expect(ng.taints).toEqual([{ key: "mlops.dev/serving", value: "true", effect: "NO_SCHEDULE" }]);
});

test("tags the serving group's Auto Scaling group for scale-from-zero, with no GPU resource", async () => {
  new mod.TrainingCluster("ml", { eks, nodePools: [] });
  await waitForResources();
  const tags = Object.fromEntries(byType("aws:autoscaling/tag:Tag").filter((t) => t.inputs.autoscalingGroupName === "eks-ml-serving-asg").map((t) => [t.inputs.tag.key, t.inputs.tag.value]));
  expect(tags).toEqual({
    "k8s.io/cluster-autoscaler/enabled": "true",
    "k8s.io/cluster-autoscaler/mlops-dev-ml": "owned",
    "k8s.io/cluster-autoscaler/node-template/label/mlops.dev/node-pool": "serving",
    "k8s.io/cluster-autoscaler/node-template/taint/mlops.dev/serving": "true:NoSchedule",
  });
});

test("exposes SERVING_PLACEMENT as servingPlacement", async () => {
  const c = new mod.TrainingCluster("ml", { eks });
  await waitForResources();
  expect(c.servingPlacement).toEqual(SERVING_PLACEMENT);
});

test("sizes the group from eks.servingNodes", async () => {
  new mod.TrainingCluster("ml", { eks: { ...eks, servingNodes: { instanceType: "c6i.2xlarge", min: 0, max: 30 } } });
  await waitForResources();
  expect(findResource("aws:eks/nodeGroup:NodeGroup", SERVING_NG).inputs).toMatchObject({ instanceTypes: ["c6i.2xlarge"], scalingConfig: { minSize: 0, maxSize: 30, desiredSize: 0 } });
});

test("leaves the group out, and servingPlacement undefined, with servingNodes: false", async () => {
  const c = new mod.TrainingCluster("ml", { eks: { ...eks, servingNodes: false } });
  await waitForResources();
  expect(byType("aws:eks/nodeGroup:NodeGroup").map((n) => n.inputs.nodeGroupNamePrefix)).toEqual(["mlops-dev-ml-system-"]);
  expect(c.servingPlacement).toBeUndefined();
});

test("has no servingPlacement on a cluster reached by kubeconfig", async () => {
  const kubeconfig = JSON.stringify({ apiVersion: "v1", kind: "Config", clusters: [{ name: "c", cluster: { server: "https://k" } }], contexts: [{ name: "c", context: { cluster: "c", user: "u" } }], "current-context": "c", users: [{ name: "u", user: { token: "t".repeat(40) } }] });
  const c = new mod.TrainingCluster("kc", { kubeconfig });
  await waitForResources();
  expect(c.servingPlacement).toBeUndefined();
});

test("fails when a GPU pool is named like the serving pool", () => {
  expect(() => new mod.TrainingCluster("bad", { eks, nodePools: [{ name: "serving", instanceType: "g5.xlarge", gpusPerNode: 1 }] })).toThrow(/nodePools\[0\]\.name: is the serving pool's name.*servingNodes: false/);
});
