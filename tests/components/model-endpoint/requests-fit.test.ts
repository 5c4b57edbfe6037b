/**
 * Requests that fit (issue 7, item 8): on a TrainingCluster with a serving pool, an endpoint's cpu and memory
 * are checked against the allocatable of the pool's instance type, so a pod that could never schedule fails
 * at construction instead of staying Pending.
 */
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { SERVING_PLACEMENT } from "../../../components/shared/constants.js";
import { mlopsFailure } from "../../helpers/errors.js";
import { k8sObjectsOfKind, reset, setupMocks, waitForResources } from "../../helpers/pulumi-mocks.js";

type EndpointMod = typeof import("../../../components/model-endpoint/index.js");
type EndpointArgs = import("../../../components/model-endpoint/index.js").ModelEndpointArgs;
type ClusterMod = typeof import("../../../components/training-cluster/index.js");
let mod: EndpointMod;
let clusterMod: ClusterMod;
let k8s: typeof import("@pulumi/kubernetes");
let n = 0;

beforeAll(async () => {
  await setupMocks({ project: "mlops", stack: "dev" });
  k8s = await import("@pulumi/kubernetes");
  mod = await import("../../../components/model-endpoint/index.js");
  clusterMod = await import("../../../components/training-cluster/index.js");
});
beforeEach(() => reset());

const eks = { version: "1.35", subnetIds: ["subnet-a", "subnet-b"] };

function endpoint(kubernetes: EndpointArgs["kubernetes"], over: Partial<EndpointArgs> = {}) {
  return new mod.ModelEndpoint(`fraud${++n}`, { registry: "s3://models/team", model: "fraud@champion", kubernetes, image: "registry.example.com/mlops-runtime:1", ...over });
}

describe("TrainingCluster.servingInstanceTypes", () => {
  test("is the serving pool's instance type, m6i.xlarge by default", () => {
    expect(new clusterMod.TrainingCluster(`c${++n}`, { eks, nodePools: [] }).servingInstanceTypes).toEqual(["m6i.xlarge"]);
    expect(new clusterMod.TrainingCluster(`c${++n}`, { eks: { ...eks, servingNodes: { instanceType: "m7i.2xlarge" } }, nodePools: [] }).servingInstanceTypes).toEqual(["m7i.2xlarge"]);
  });

  test("is undefined without a serving pool", () => {
    expect(new clusterMod.TrainingCluster(`c${++n}`, { eks: { ...eks, servingNodes: false }, nodePools: [] }).servingInstanceTypes).toBeUndefined();
    expect(new clusterMod.TrainingCluster(`c${++n}`, { kubeconfig: "apiVersion: v1" }).servingInstanceTypes).toBeUndefined();
  });
});

describe("an endpoint on a cluster with a serving pool", () => {
  test("fails when it asks 8 CPU of the default m6i.xlarge serving pool, naming the field, the allocatable and the fix", () => {
    const cluster = new clusterMod.TrainingCluster(`c${++n}`, { eks, nodePools: [] });
    const err = mlopsFailure(() => endpoint(cluster, { resources: { cpu: "8" } }));
    expect(err.problems).toEqual([expect.stringMatching(/^args\.resources\.cpu: does not fit a m6i\.xlarge node: its allocatable CPU is 3920m .*received "8"\. Request at most "3920m".*or use a larger instance type\./)]);
  });

  test("fails when its memory exceeds the pool's allocatable", () => {
    const cluster = new clusterMod.TrainingCluster(`c${++n}`, { eks, nodePools: [] });
    const err = mlopsFailure(() => endpoint(cluster, { resources: { memory: "16Gi" } }));
    expect(err.problems).toEqual([expect.stringMatching(/^args\.resources\.memory: does not fit a m6i\.xlarge node: its allocatable memory is 15391Mi .*received "16Gi"\. Request at most "15391Mi"/)]);
  });

  test("passes with the default 1 CPU / 1024Mi", async () => {
    endpoint(new clusterMod.TrainingCluster(`c${++n}`, { eks, nodePools: [] }));
    await waitForResources();
    expect(k8sObjectsOfKind("Deployment")).toHaveLength(1);
  });

  test("reads servingInstanceTypes duck-typed, like servingPlacement", () => {
    const stub = { provider: new k8s.Provider(`p${++n}`, { kubeconfig: "apiVersion: v1" }), servingPlacement: SERVING_PLACEMENT, servingInstanceTypes: ["m6i.large"] };
    expect(mlopsFailure(() => endpoint(stub, { resources: { cpu: "2" } })).problems).toEqual([expect.stringMatching(/^args\.resources\.cpu: does not fit a m6i\.large node/)]);
  });

  test("checks a GPU endpoint against the instance type its nodeSelector pins, not the serving pool", () => {
    const cluster = new clusterMod.TrainingCluster(`c${++n}`, { eks, nodePools: [] });
    const err = mlopsFailure(() => endpoint(cluster, { resources: { cpu: "8" }, gpu: { count: 2, nodeSelector: { "node.kubernetes.io/instance-type": "g5.xlarge" } } }));
    expect(err.problems).toEqual([expect.stringMatching(/^args\.resources\.cpu: does not fit a g5\.xlarge node/), expect.stringMatching(/^args\.gpu\.count: is more than a g5\.xlarge node has \(1 GPUs\)/)]);
  });

  test("does not check a GPU endpoint whose instance types it cannot tell", async () => {
    endpoint(new clusterMod.TrainingCluster(`c${++n}`, { eks, nodePools: [] }), { resources: { cpu: "8" }, gpu: { count: 1, nodeSelector: { "karpenter.k8s.aws/instance-gpu-name": "a10g" } } });
    await waitForResources();
    expect(k8sObjectsOfKind("Deployment")).toHaveLength(1);
  });
});

describe("an endpoint on a cluster without a serving pool", () => {
  test("is not checked (its nodes' instance types are not known)", async () => {
    endpoint(new clusterMod.TrainingCluster(`c${++n}`, { eks: { ...eks, servingNodes: false }, nodePools: [] }), { resources: { cpu: "8" } });
    endpoint({ kubeconfig: "apiVersion: v1" }, { resources: { cpu: "8" } });
    await waitForResources();
    expect(k8sObjectsOfKind("Deployment")).toHaveLength(2);
  });
});
