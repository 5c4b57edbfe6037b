/**
 * Two stacks on one cluster (issue 7, item 7): the cluster-scoped objects a stack owns carry the stack in
 * their names, so a second dev stack on a shared cluster creates nothing the first one has.
 */
import { describe, expect, test } from "vitest";
import { byType, k8sObjectsOfKind, reset, setupMocks, waitForResources } from "../../helpers/pulumi-mocks.js";
import { podSpecOf } from "../../helpers/k8s.js";
import type { TrainingClusterArgs } from "../../../components/training-cluster/args.js";

const CLUSTER_SCOPED = ["Namespace", "PriorityClass", "ClusterQueue", "ResourceFlavor"];
const shared: TrainingClusterArgs = {
  kubeconfig: "x",
  nodePools: [{ name: "l4", gpusPerNode: 1, labels: { "node.kubernetes.io/instance-type": "g6.xlarge" } }],
  teams: [{ name: "fraud", gpuQuota: 4 }],
};
const jobArgs = {
  registry: "s3://models/registry",
  model: "fraud",
  dataset: { uri: "s3://data/fraud/train.parquet", label: "is_fraud" },
  trainer: { builtin: "logistic-regression" as const },
  gpusPerWorker: 0,
};

/** Renders the cluster (and a job in team fraud) as stack `stack` would, and lists what it creates cluster-wide. */
async function render(stack: string, args: TrainingClusterArgs) {
  await setupMocks({ project: "mlops", stack });
  const mod = await import("../../../components/training-cluster/index.js");
  reset();
  const cluster = new mod.TrainingCluster("ml", args);
  cluster.addTrainingJob("nightly", { ...jobArgs, team: "fraud" });
  await waitForResources();
  const objects = CLUSTER_SCOPED.flatMap((kind) => k8sObjectsOfKind(kind).map((o) => `${kind} ${o.metadata.name}`));
  const releases = byType("kubernetes:helm.sh/v3:Release").map((r) => `Release ${r.inputs.name}@${r.inputs.namespace}`);
  const job = k8sObjectsOfKind("Job").find((j) => j.metadata.name === "nightly")!;
  return { cluster, owned: [...objects, ...releases], job };
}

function collisions(a: readonly string[], b: readonly string[]): string[] {
  return a.filter((x) => b.includes(x));
}

describe("two stacks on one cluster", () => {
  test("create no colliding Namespace, PriorityClass or Helm release when the second leaves the GPU agents to the first", async () => {
    const alice = await render("dev-alice", { ...shared, dcgmExporter: true });
    const bob = await render("dev-bob", { ...shared, devicePlugin: false });
    expect(alice.owned).toContain("Release nvidia-device-plugin@mlops-gpu-system");
    expect(bob.owned).toEqual(expect.arrayContaining(["Namespace mlops-dev-bob-training", "Namespace mlops-dev-bob-fraud", "PriorityClass mlops-dev-bob-serving"]));
    expect(collisions(alice.owned, bob.owned)).toEqual([]);
  });

  test("create no colliding ResourceFlavor or ClusterQueue; only the Kueue controller is one per cluster", async () => {
    const alice = await render("dev-alice", { ...shared, kueue: {} });
    const bob = await render("dev-bob", { ...shared, devicePlugin: false, kueue: {} });
    expect(bob.owned).toEqual(expect.arrayContaining(["ResourceFlavor mlops-dev-bob-l4", "ResourceFlavor mlops-dev-bob-cpu", "ClusterQueue mlops-dev-bob-fraud"]));
    // The controller's CRDs and webhooks are cluster-wide: one stack installs it (see TenancyNames).
    expect(collisions(alice.owned, bob.owned)).toEqual(["Release kueue@kueue-system"]);
  });

  test("create no colliding cluster-scoped object or release when the second sets kueue.installController: false", async () => {
    const alice = await render("dev-alice", { ...shared, kueue: {} });
    const bob = await render("dev-bob", { ...shared, devicePlugin: false, kueue: { installController: false } });
    expect(alice.owned).toContain("Release kueue@kueue-system");
    // Bob still has his own flavors and queues; only the controller is left to Alice's stack.
    expect(bob.owned).toEqual(expect.arrayContaining(["ResourceFlavor mlops-dev-bob-l4", "ResourceFlavor mlops-dev-bob-cpu", "ClusterQueue mlops-dev-bob-fraud"]));
    expect(bob.owned.filter((o) => o.startsWith("Release "))).toEqual([]);
    expect(collisions(alice.owned, bob.owned)).toEqual([]);
  });

  test("create the LocalQueues too without the controller, depending on no release", async () => {
    const { cluster } = await render("dev-bob", { ...shared, devicePlugin: false, kueue: { installController: false } });
    expect(k8sObjectsOfKind("LocalQueue")).toEqual([expect.objectContaining({ metadata: expect.objectContaining({ name: "fraud", namespace: "mlops-dev-bob-fraud" }) })]);
    expect(cluster.nodes.releases.kueue).toBeUndefined();
    const queued = byType("kubernetes:kueue.x-k8s.io/v1beta1:ResourceFlavor").concat(byType("kubernetes:kueue.x-k8s.io/v1beta1:ClusterQueue"), byType("kubernetes:kueue.x-k8s.io/v1beta1:LocalQueue"));
    expect(queued).toHaveLength(4);
    expect(queued.flatMap((r) => r.options.dependencies).filter((u) => u.includes("helm.sh"))).toEqual([]);
  });

  test("run each stack's jobs in its own namespaces, with its own PriorityClass", async () => {
    const { job } = await render("dev-bob", { ...shared, devicePlugin: false });
    expect(job.metadata.namespace).toBe("mlops-dev-bob-fraud");
    expect(podSpecOf(job)!.priorityClassName).toBe("mlops-dev-bob-training");
  });

  test("give a team's ClusterQueue the team's namespace and its LocalQueue the ClusterQueue", async () => {
    await render("dev-bob", { ...shared, devicePlugin: false, kueue: {} });
    const cq = k8sObjectsOfKind("ClusterQueue")[0]!;
    expect(cq.spec.namespaceSelector).toEqual({ matchLabels: { "kubernetes.io/metadata.name": "mlops-dev-bob-fraud" } });
    expect(k8sObjectsOfKind("LocalQueue")[0]).toMatchObject({ metadata: { name: "fraud", namespace: "mlops-dev-bob-fraud" }, spec: { clusterQueue: "mlops-dev-bob-fraud" } });
  });

  test("names the serving PriorityClass it creates in servingPriorityClassName", async () => {
    const { cluster } = await render("dev-bob", { ...shared, devicePlugin: false });
    const serving = k8sObjectsOfKind("PriorityClass").find((p) => p.preemptionPolicy === "PreemptLowerPriority")!;
    expect(cluster.servingPriorityClassName).toBe("mlops-dev-bob-serving");
    expect(serving.metadata.name).toBe(cluster.servingPriorityClassName);
  });
});
