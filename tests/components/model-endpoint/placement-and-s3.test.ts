/**
 * Where the pods run (a cluster's serving pool, or their GPUs) and how they reach an S3-compatible registry
 * without IRSA (kind with MinIO): static credentials in a Secret, referenced by the Deployment.
 */
import { makeEndpoint } from "./helpers.js";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { SERVING_PLACEMENT, type Placement } from "../../../components/shared/constants.js";
import { podSpecOf, validateK8sObjects } from "../../helpers/k8s.js";
import { findResource, isSecretOutput, k8sObjects, k8sObjectsOfKind, reset, setupMocks, waitForResources } from "../../helpers/pulumi-mocks.js";

type EndpointMod = typeof import("../../../components/model-endpoint/index.js");
type EndpointArgs = import("../../../components/model-endpoint/index.js").ModelEndpointArgs;
let mod: EndpointMod;
let k8s: typeof import("@pulumi/kubernetes");
let n = 0;

beforeAll(async () => {
  await setupMocks({ project: "mlops", stack: "dev" });
  k8s = await import("@pulumi/kubernetes");
  mod = await import("../../../components/model-endpoint/index.js");
});
beforeEach(() => reset());

async function make(over: Partial<EndpointArgs> = {}) {
  const name = `fraud${++n}`;
  return { name, endpoint: await makeEndpoint(mod, name, over), physical: `mlops-dev-${name}` };
}
const pod = () => podSpecOf(k8sObjectsOfKind("Deployment")[0]!)!;
const env = () => pod().containers[0].env as Array<{ name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }>;

/** A stand-in cluster object: a provider and where it wants serving pods, as a TrainingCluster with a serving pool exposes it. */
/** Whether both credentials are recorded as secret (the whole stringData, or each key). */
const bothSecret = (paths: readonly string[]) =>
  ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"].every((k) => paths.some((p) => p === "/stringData" || p === `/stringData/${k}`));

function clusterWithServingPool(placement: Placement = SERVING_PLACEMENT) {
  return { provider: new k8s.Provider(`pool${++n}`, { kubeconfig: "apiVersion: v1" }), servingPlacement: placement };
}

describe("on a cluster with a serving pool", () => {
  test("selects the serving pool's nodes and tolerates its taint", async () => {
    await make({ kubernetes: clusterWithServingPool() });
    expect(pod().nodeSelector).toEqual({ "mlops.dev/node-pool": "serving" });
    expect(pod().tolerations).toEqual([{ key: "mlops.dev/serving", operator: "Equal", value: "true", effect: "NoSchedule" }]);
  });

  test("follows the placement the cluster states", async () => {
    const placement: Placement = { nodeSelector: { pool: "web" }, tolerations: [{ key: "web", operator: "Exists", effect: "NoExecute" }] };
    await make({ kubernetes: clusterWithServingPool(placement) });
    expect([pod().nodeSelector, pod().tolerations]).toEqual([{ pool: "web" }, [{ key: "web", operator: "Exists", effect: "NoExecute" }]]);
  });

  test("keeps a GPU endpoint on its GPU placement, not on the CPU serving pool", async () => {
    await make({ kubernetes: clusterWithServingPool(), gpu: { count: 1, nodeSelector: { "nvidia.com/gpu.product": "A10G" } } });
    expect(pod().nodeSelector).toEqual({ "nvidia.com/gpu.product": "A10G" });
    expect(pod().tolerations).toEqual([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
  });

  test("renders objects that validate against the schema", async () => {
    await make({ kubernetes: clusterWithServingPool() });
    expect(validateK8sObjects(k8sObjects())).toEqual({ errors: [], metadataOnly: [] });
  });
});

describe("on a cluster without a serving pool", () => {
  test("sets no nodeSelector and no tolerations", async () => {
    await make({ kubernetes: { provider: new k8s.Provider(`plain${++n}`, { kubeconfig: "apiVersion: v1" }) } });
    expect([pod().nodeSelector, pod().tolerations]).toEqual([undefined, undefined]);
  });
});

describe("an S3-compatible registry with static credentials (kind with MinIO)", () => {
  const s3 = () => ({
    endpoint: "http://minio.minio.svc.cluster.local:9000",
    region: "us-east-1",
    credentials: { accessKeyId: pulumi.secret("minio-key-canary"), secretAccessKey: pulumi.secret("minio-secret-canary") },
  });

  test("stores the credentials in a Secret, as Pulumi secrets", async () => {
    const { endpoint, physical } = await make({ s3: s3() });
    const secret = findResource("kubernetes:core/v1:Secret");
    expect(secret.object!.metadata.name).toBe(`${physical}-s3`);
    expect(secret.inputs.stringData).toEqual({ AWS_ACCESS_KEY_ID: "minio-key-canary", AWS_SECRET_ACCESS_KEY: "minio-secret-canary" });
    expect(bothSecret(secret.secretPaths)).toBe(true);
    expect(await isSecretOutput(endpoint.nodes.s3Secret!.stringData)).toBe(true);
  });

  test("marks credentials given in plain as secret", async () => {
    await make({ s3: { credentials: { accessKeyId: "plain-key", secretAccessKey: "plain-secret" } } });
    expect(bothSecret(findResource("kubernetes:core/v1:Secret").secretPaths)).toBe(true);
  });

  test("references the credentials from the Deployment and never carries their values", async () => {
    const { physical } = await make({ s3: s3() });
    for (const key of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]) {
      expect(env()).toContainEqual({ name: key, valueFrom: { secretKeyRef: { name: `${physical}-s3`, key } } });
    }
    const deployment = JSON.stringify(findResource("kubernetes:apps/v1:Deployment").inputs);
    expect(deployment).not.toContain("minio-key-canary");
    expect(deployment).not.toContain("minio-secret-canary");
  });

  test("gives the runtime the endpoint and region in plain, outside the spec", async () => {
    await make({ s3: s3() });
    expect(env()).toContainEqual({ name: "MLOPS_S3_ENDPOINT", value: "http://minio.minio.svc.cluster.local:9000" });
    expect(env()).toContainEqual({ name: "AWS_REGION", value: "us-east-1" });
    expect(env().find((e) => e.name === "MLOPS_ENDPOINT_SPEC")!.value).not.toContain("minio");
  });

  test("creates the Secret before the Deployment", async () => {
    await make({ s3: s3() });
    expect(findResource("kubernetes:apps/v1:Deployment").options.dependencies.some((u) => u.includes("kubernetes:core/v1:Secret"))).toBe(true);
  });

  test("asks a cluster for no IAM role: the static credentials are what the pods use", async () => {
    const asked: string[] = [];
    const target = { provider: new k8s.Provider(`irsa${++n}`, { kubeconfig: "apiVersion: v1" }), addServiceAccountRole: (name: string) => void asked.push(name) };
    await make({ kubernetes: target, s3: s3() });
    expect(asked).toEqual([]);
  });

  test("renders objects that validate against the schema", async () => {
    await make({ s3: s3() });
    expect(validateK8sObjects(k8sObjects())).toEqual({ errors: [], metadataOnly: [] });
  });

  test("renders no S3 Secret and no S3 variables by default", async () => {
    await make();
    expect(k8sObjectsOfKind("Secret")).toEqual([]);
    expect(env().map((e) => e.name)).toEqual(["MLOPS_ENDPOINT_SPEC"]);
  });

  test("fails when the endpoint is not an http(s) URL", () => {
    expect(() => new mod.ModelEndpoint(`bad${++n}`, {
      registry: "s3://models/team",
      model: "fraud@champion",
      kubernetes: { kubeconfig: "apiVersion: v1" },
      image: "registry.example.com/mlops-runtime:1",
      s3: { endpoint: "minio:9000" },
    })).toThrow(/s3\.endpoint.*http\(s\) URL/s);
  });
});
