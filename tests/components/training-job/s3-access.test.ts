// A training job on a cluster without IRSA (kind, MinIO, an access key): the S3 endpoint in plain env,
// the credentials in a Secret the pods read by reference, never in the Job.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { MlopsError } from "../../../src/errors.js";
import { byType, k8sObjectsOfKind, reset, setupMocks, waitForResources } from "../../helpers/pulumi-mocks.js";
import { podSpecOf } from "../../helpers/k8s.js";

let mod: typeof import("../../../components/training-cluster/index.js");
let n = 0;

beforeAll(async () => {
  await setupMocks({ stack: "dev" });
  mod = await import("../../../components/training-cluster/index.js");
});
beforeEach(() => reset());

const CANARY = "CANARY-s3-secret-7d1c";
const s3 = { endpoint: "http://minio.minio.svc.cluster.local:9000", region: "us-east-1", credentials: { accessKeyId: "minio", secretAccessKey: pulumi.secret(CANARY) } };
const jobArgs = {
  registry: "s3://models/registry",
  model: "fraud",
  dataset: { uri: "s3://data/fraud/train.parquet", label: "is_fraud" },
  trainer: { builtin: "logistic-regression" as const },
  gpusPerWorker: 0,
};
const kubeconfigCluster = () => new mod.TrainingCluster(`s${++n}`, { kubeconfig: "apiVersion: v1" });
const eksCluster = () => new mod.TrainingCluster(`e${++n}`, { eks: { subnetIds: ["subnet-a", "subnet-b"] } });
const envOf = () => Object.fromEntries((podSpecOf(k8sObjectsOfKind("Job")[0]!)!.containers[0].env as any[]).map((e) => [e.name, e.value ?? e.valueFrom]));

describe("s3", () => {
  test("puts the credentials in a Secret, as Pulumi secrets, and the pods read them by reference", async () => {
    kubeconfigCluster().addTrainingJob("fraud", { ...jobArgs, s3 });
    await waitForResources();
    const secret = byType("kubernetes:core/v1:Secret").find((r) => r.object?.metadata.name === "fraud-s3")!;
    expect(secret.inputs.stringData).toEqual({ AWS_ACCESS_KEY_ID: "minio", AWS_SECRET_ACCESS_KEY: CANARY });
    // The whole stringData (or each key) is secret: the mocks record where secrets were.
    for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]) expect(secret.secretPaths.some((p) => p === "/stringData" || p === `/stringData/${k}`)).toBe(true);
    expect(envOf()).toMatchObject({
      MLOPS_S3_ENDPOINT: "http://minio.minio.svc.cluster.local:9000",
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: { secretKeyRef: { name: "fraud-s3", key: "AWS_ACCESS_KEY_ID" } },
      AWS_SECRET_ACCESS_KEY: { secretKeyRef: { name: "fraud-s3", key: "AWS_SECRET_ACCESS_KEY" } },
    });
    expect(JSON.stringify(k8sObjectsOfKind("Job"))).not.toContain(CANARY);
  });

  test("creates the Job after the Secret it reads", async () => {
    kubeconfigCluster().addTrainingJob("fraud", { ...jobArgs, s3 });
    await waitForResources();
    const secret = byType("kubernetes:core/v1:Secret").find((r) => r.object?.metadata.name === "fraud-s3")!;
    expect(byType("kubernetes:batch/v1:Job")[0]!.options.dependencies.some((urn) => urn.endsWith(`::${secret.name}`))).toBe(true);
  });

  test("makes no IAM role when static credentials are given (they win over IRSA)", async () => {
    eksCluster().addTrainingJob("fraud", { ...jobArgs, s3 });
    await waitForResources();
    expect(byType("aws:iam/role:Role").filter((r) => r.name.endsWith("-fraud-role"))).toEqual([]);
  });

  test("sets only the endpoint without credentials, and makes no Secret", async () => {
    kubeconfigCluster().addTrainingJob("fraud", { ...jobArgs, s3: { endpoint: "http://minio:9000" } });
    await waitForResources();
    expect(envOf().MLOPS_S3_ENDPOINT).toBe("http://minio:9000");
    expect(envOf()).not.toHaveProperty("AWS_ACCESS_KEY_ID");
    expect(byType("kubernetes:core/v1:Secret")).toEqual([]);
  });

  test("fails when env sets a variable s3 owns", () => {
    expect(() => kubeconfigCluster().addTrainingJob("fraud", { ...jobArgs, s3, env: { AWS_REGION: "eu-west-1" } })).toThrow(MlopsError);
    expect(() => kubeconfigCluster().addTrainingJob("fraud", { ...jobArgs, s3, env: { AWS_REGION: "eu-west-1" } })).toThrow(/env\.AWS_REGION: is set by s3/);
  });

  test("fails when the endpoint is not a URL", () => {
    expect(() => kubeconfigCluster().addTrainingJob("fraud", { ...jobArgs, s3: { endpoint: "minio:9000" } })).toThrow(/s3\.endpoint: must be an http\(s\) URL/);
  });
});
