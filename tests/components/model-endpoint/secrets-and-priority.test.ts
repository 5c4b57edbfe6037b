import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { byType, findResource, k8sObjectsOfKind, reset, setupMocks, waitForResources } from "../../helpers/pulumi-mocks.js";
import { podSpecOf } from "../../helpers/k8s.js";
import { mlopsFailure } from "../../helpers/errors.js";

type EndpointMod = typeof import("../../../components/model-endpoint/index.js");
type EndpointArgs = import("../../../components/model-endpoint/index.js").ModelEndpointArgs;
type ClusterMod = typeof import("../../../components/training-cluster/index.js");
let mod: EndpointMod;
let clusterMod: ClusterMod;
let k8s: typeof import("@pulumi/kubernetes");
let MlopsError: typeof import("../../../src/errors.js").MlopsError;
let n = 0;

const CANARY = "CANARY-9f3b";
const jsonKubeconfig = JSON.stringify({
  apiVersion: "v1",
  kind: "Config",
  clusters: [{ name: "c", cluster: { server: "https://example:6443" } }],
  users: [{ name: "u", user: { token: CANARY } }],
  contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
  "current-context": "c",
});

beforeAll(async () => {
  await setupMocks({ project: "mlops", stack: "dev" });
  k8s = await import("@pulumi/kubernetes");
  mod = await import("../../../components/model-endpoint/index.js");
  clusterMod = await import("../../../components/training-cluster/index.js");
  ({ MlopsError } = await import("../../../src/errors.js"));
});
beforeEach(() => reset());

function endpoint(kubernetes: EndpointArgs["kubernetes"], over: Partial<EndpointArgs> = {}) {
  const name = `fraud${++n}`;
  new mod.ModelEndpoint(name, { registry: "s3://models/team", model: "fraud@champion", kubernetes, image: "registry.example.com/mlops-runtime:1", ...over });
  return name;
}


async function deploymentPod() {
  await waitForResources();
  return podSpecOf(k8sObjectsOfKind("Deployment")[0]!)!;
}

describe("kubeconfig in JSON form", () => {
  test("is accepted by ModelEndpoint and becomes its provider's kubeconfig", async () => {
    endpoint({ kubeconfig: jsonKubeconfig });
    await waitForResources();
    expect(findResource("pulumi:providers:kubernetes").inputs.kubeconfig).toBe(jsonKubeconfig);
  });

  test("is accepted by TrainingCluster", async () => {
    new clusterMod.TrainingCluster(`kc${++n}`, { kubeconfig: jsonKubeconfig });
    await waitForResources();
    expect(findResource("pulumi:providers:kubernetes").secretPaths).toContain("/kubeconfig");
  });
});

describe("secrets never appear in errors", () => {
  test("a broken kubeconfig given to ModelEndpoint", () => {
    const err = mlopsFailure(() => endpoint({ kubeconfig: jsonKubeconfig.slice(0, -3) }));
    expect(err.message).toContain("kubernetes.kubeconfig: is not valid JSON");
    expect(err.message).toContain("not shown: secret");
    expect(err.message).not.toContain(CANARY);
  });

  test("a broken kubeconfig given to TrainingCluster", () => {
    const err = mlopsFailure(() => new clusterMod.TrainingCluster(`bad${++n}`, { kubeconfig: `users:\n - token: ${CANARY}\n  x: [` }));
    expect(err.message).toContain("kubeconfig: is not valid YAML");
    expect(err.message).not.toContain(CANARY);
  });

  test("a kubeconfig given together with a provider", () => {
    const provider = new k8s.Provider(`p${++n}`, { kubeconfig: "apiVersion: v1" });
    const err = mlopsFailure(() => endpoint({ provider, kubeconfig: jsonKubeconfig } as unknown as EndpointArgs["kubernetes"]));
    expect(err.message).toContain("gives both provider and kubeconfig");
    expect(err.message).not.toContain(CANARY);
  });

  test("an auth token of the wrong type", () => {
    const err = mlopsFailure(() => endpoint({ kubeconfig: "apiVersion: v1" }, { auth: { token: { value: CANARY } as unknown as string } }));
    expect(err.message).toContain("auth.token");
    expect(err.message).not.toContain(CANARY);
  });
});

describe("serving priority", () => {
  test("gives the pods the TrainingCluster's serving PriorityClass, created first", async () => {
    const cluster = new clusterMod.TrainingCluster(`pc${++n}`, { kubeconfig: "apiVersion: v1" });
    endpoint(cluster);
    const pod = await deploymentPod();
    expect(pod.priorityClassName).toBe(cluster.servingPriorityClassName);
    const serving = byType("kubernetes:scheduling.k8s.io/v1:PriorityClass").find((r) => r.object?.metadata.name === cluster.servingPriorityClassName)!;
    const deployment = byType("kubernetes:apps/v1:Deployment")[0]!;
    expect(deployment.options.dependencies.some((urn) => urn.endsWith(`::${serving.name}`))).toBe(true);
  });

  test("sets no PriorityClass on a cluster reached by kubeconfig (it may not have one)", async () => {
    endpoint({ kubeconfig: "apiVersion: v1" });
    expect((await deploymentPod()).priorityClassName).toBeUndefined();
  });

  test("uses the class given", async () => {
    endpoint({ kubeconfig: "apiVersion: v1" }, { priorityClassName: "business-critical" });
    expect((await deploymentPod()).priorityClassName).toBe("business-critical");
  });

  test("sets none on a TrainingCluster with priorityClassName: false", async () => {
    endpoint(new clusterMod.TrainingCluster(`pc${++n}`, { kubeconfig: "apiVersion: v1" }), { priorityClassName: false });
    expect((await deploymentPod()).priorityClassName).toBeUndefined();
  });
});
