import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { parseTrainSpec, TRAIN_SPEC_ENV } from "../../../src/spec/train.js";
import { byType, findResource, hasResource, k8sObjects, k8sObjectsOfKind, outputOf, policyOf, reset, setupMocks, trustOf, waitForResources } from "../../helpers/pulumi-mocks.js";
import { podSecurityRestrictedViolations, podSpecOf, validateK8sObjects } from "../../helpers/k8s.js";

type Mod = typeof import("../../../components/training-cluster/index.js");
let mod: Mod;

beforeAll(async () => {
  await setupMocks({ stack: "dev" });
  mod = await import("../../../components/training-cluster/index.js");
});
beforeEach(() => reset());

const registry = { uri: pulumi.output("s3://models/registry") };
const jobArgs = {
  registry,
  model: "fraud",
  dataset: { uri: "s3://data/fraud/train.parquet", label: "is_fraud" },
  trainer: { builtin: "logistic-regression" as const },
};

function eksCluster(name: string) {
  return new mod.TrainingCluster(name, {
    eks: { version: "1.35", subnetIds: ["subnet-a", "subnet-b"] },
    nodePools: [{ name: "a100", instanceType: "p4d.24xlarge", gpusPerNode: 8 }],
    teams: [{ name: "fraud", gpuQuota: 16 }],
    kueue: {},
  });
}

describe("on EKS", () => {
  test("gives the job a role only its ServiceAccount can assume", async () => {
    eksCluster("c1").addTrainingJob("fraud", { ...jobArgs, team: "fraud" });
    await waitForResources();
    const cond = trustOf("c1-fraud-role").Statement[0]!.Condition.StringEquals;
    expect(Object.values(cond)).toEqual(["system:serviceaccount:mlops-dev-fraud:fraud-trainer", "sts.amazonaws.com"]);
    const sa = k8sObjectsOfKind("ServiceAccount").find((s) => s.metadata.name === "fraud-trainer");
    expect(sa?.metadata.annotations?.["eks.amazonaws.com/role-arn"]).toMatch(/^arn:aws:iam/);
  });

  test("lets the role reach only its model's prefix and the blobs in the registry, the dataset and the checkpoint prefix", async () => {
    eksCluster("c2").addTrainingJob("fraud", { ...jobArgs, checkpoint: { uri: "s3://scratch/ckpt/fraud" } });
    await waitForResources();
    const resources = policyOf("c2-fraud-role").Statement.flatMap((s) => [s.Resource].flat());
    expect(resources.sort()).toEqual(
      [
        "arn:aws:s3:::data/fraud/train.parquet",
        "arn:aws:s3:::data/fraud/train.parquet/*",
        "arn:aws:s3:::models/registry/models/fraud",
        "arn:aws:s3:::models/registry/models/fraud/*",
        "arn:aws:s3:::models/registry/blobs/sha256",
        "arn:aws:s3:::models/registry/blobs/sha256/*",
        "arn:aws:s3:::scratch/ckpt/fraud",
        "arn:aws:s3:::scratch/ckpt/fraud/*",
        "arn:aws:s3:::data",
        "arn:aws:s3:::models",
        "arn:aws:s3:::scratch",
      ].sort(),
    );
  });

  test("uses the role it is given instead of creating one", async () => {
    eksCluster("c3").addTrainingJob("fraud", { ...jobArgs, serviceAccountRoleArn: "arn:aws:iam::1:role/mine" });
    await waitForResources();
    expect(hasResource("aws:iam/role:Role", { assumeRolePolicy: (p: string) => p.includes("fraud-trainer") })).toBe(false);
    expect(k8sObjectsOfKind("ServiceAccount")[0]?.metadata.annotations).toEqual({ "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/mine" });
  });
});

describe("on an existing cluster", () => {
  const cluster = () =>
    new mod.TrainingCluster(`k${Math.random().toString(36).slice(2, 7)}`, {
      kubeconfig: "x",
      nodePools: [{ name: "a10", gpusPerNode: 4, labels: { gpu: "a10" } }],
    });

  test("creates a Job whose spec env parses as a TrainSpec with the registry's URI", async () => {
    const job = cluster().addTrainingJob("fraud", jobArgs);
    await waitForResources();
    const obj = k8sObjectsOfKind("Job")[0]!;
    const env = podSpecOf(obj)!.containers[0].env.find((e: any) => e.name === TRAIN_SPEC_ENV);
    expect(parseTrainSpec(JSON.parse(env.value))).toMatchObject({ registry: "s3://models/registry", model: "fraud", trainer: { builtin: "logistic-regression" } });
    expect(await outputOf(job.kind)).toBe("Job");
    expect(await outputOf(job.jobName)).toBe("fraud");
    expect(await outputOf(job.namespace)).toBe("mlops-dev-training");
  });

  test("creates no IAM role", async () => {
    cluster().addTrainingJob("fraud", jobArgs);
    await waitForResources();
    expect(byType("aws:iam/role:Role")).toHaveLength(0);
  });

  test("makes an Indexed Job and a headless Service for several workers", async () => {
    cluster().addTrainingJob("dist", { ...jobArgs, workers: 2, gpusPerWorker: 4 });
    await waitForResources();
    expect(k8sObjectsOfKind("Job")[0]!.spec).toMatchObject({ completionMode: "Indexed", completions: 2, parallelism: 2 });
    expect(k8sObjectsOfKind("Service")[0]!.spec).toMatchObject({ clusterIP: "None", publishNotReadyAddresses: true });
  });

  test("makes a CronJob with Forbid for a schedule, and outputs the on-demand command", async () => {
    const job = cluster().addTrainingJob("nightly", { ...jobArgs, schedule: "0 3 * * *" });
    await waitForResources();
    expect(k8sObjectsOfKind("CronJob")[0]!.spec).toMatchObject({ schedule: "0 3 * * *", concurrencyPolicy: "Forbid" });
    expect(await outputOf(job.kind)).toBe("CronJob");
    expect(await outputOf(job.runOnDemandCommand)).toBe("kubectl create job --from=cronjob/nightly nightly-manual-$(date +%s) -n mlops-dev-training");
  });

  test("outputs a manual Job manifest with the rendered spec", async () => {
    const job = cluster().addTrainingJob("fraud", jobArgs);
    await waitForResources();
    const manifest = (await outputOf(job.manualJobManifest)) as any;
    expect(manifest.metadata.generateName).toBe("fraud-manual-");
    const env = manifest.spec.template.spec.containers[0].env.find((e: any) => e.name === TRAIN_SPEC_ENV);
    expect(parseTrainSpec(JSON.parse(env.value)).registry).toBe("s3://models/registry");
  });

  test("accepts the registry as a plain s3:// URI", async () => {
    const job = cluster().addTrainingJob("fraud", { ...jobArgs, registry: "s3://other/reg" });
    await waitForResources();
    expect(parseTrainSpec(JSON.parse(await outputOf(job.trainSpec))).registry).toBe("s3://other/reg");
  });

  test("applies a transform to the Job", async () => {
    cluster().addTrainingJob("patched", { ...jobArgs, transform: { job: { metadata: { annotations: { team: "risk" } } } } });
    await waitForResources();
    expect(k8sObjectsOfKind("Job").find((j) => j.metadata.name === "patched")!.metadata.annotations).toMatchObject({ team: "risk", "pulumi.com/skipAwait": "true" });
  });

  test("fails when nodePool names an unknown pool", () => {
    expect(() => cluster().addTrainingJob("fraud", { ...jobArgs, nodePool: "h100" })).toThrow(/nodePool: names no node pool of this cluster; received "h100"\. Use one of: a10\./);
  });
});

test("every object of every job kind validates and its pods meet Pod Security restricted", async () => {
  const c = eksCluster("all");
  c.addTrainingJob("one", { ...jobArgs, team: "fraud" });
  c.addTrainingJob("many", { ...jobArgs, workers: 3 });
  c.addTrainingJob("cron", { ...jobArgs, schedule: "@daily", workers: 2 });
  await waitForResources();
  expect(validateK8sObjects(k8sObjects()).errors).toEqual([]);
  const pods = k8sObjects().map(podSpecOf).filter((p) => p !== undefined);
  expect(pods).toHaveLength(3);
  expect(pods.flatMap((p) => podSecurityRestrictedViolations(p!))).toEqual([]);
});
