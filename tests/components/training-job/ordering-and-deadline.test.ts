import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { byType, k8sObjectsOfKind, reset, setupMocks, waitForResources } from "../../helpers/pulumi-mocks.js";

let mod: typeof import("../../../components/training-cluster/index.js");
let jobMod: typeof import("../../../components/training-job/index.js");
let n = 0;

beforeAll(async () => {
  await setupMocks({ stack: "dev" });
  mod = await import("../../../components/training-cluster/index.js");
  jobMod = await import("../../../components/training-job/index.js");
});
beforeEach(() => reset());

const jobArgs = {
  registry: { uri: pulumi.output("s3://models/registry") },
  model: "fraud",
  dataset: { uri: "s3://data/fraud/train.parquet", label: "is_fraud" },
  trainer: { builtin: "logistic-regression" as const },
};
const cluster = () => new mod.TrainingCluster(`o${++n}`, { kubeconfig: "apiVersion: v1" });

/** True when the recorded resource of `type` waits for the job's ServiceAccount. */
function waitsForServiceAccount(type: string): boolean {
  const sa = byType("kubernetes:core/v1:ServiceAccount").find((r) => r.object?.metadata.name === "fraud-trainer")!;
  const workload = byType(type)[0]!;
  return workload.options.dependencies.some((urn) => urn.endsWith(`::${sa.name}`));
}

describe("ordering", () => {
  test("creates the Job after its ServiceAccount", async () => {
    cluster().addTrainingJob("fraud", jobArgs);
    await waitForResources();
    expect(waitsForServiceAccount("kubernetes:batch/v1:Job")).toBe(true);
  });

  test("creates the CronJob after its ServiceAccount", async () => {
    cluster().addTrainingJob("fraud", { ...jobArgs, schedule: "0 3 * * *" });
    await waitForResources();
    expect(waitsForServiceAccount("kubernetes:batch/v1:CronJob")).toBe(true);
  });
});

describe("activeDeadlineSeconds", () => {
  test("stops a Job after a day by default", async () => {
    cluster().addTrainingJob("fraud", jobArgs);
    await waitForResources();
    expect(jobMod.TRAINING_JOB_DEFAULTS.activeDeadlineSeconds).toBe(86_400);
    expect(k8sObjectsOfKind("Job")[0]!.spec.activeDeadlineSeconds).toBe(86_400);
  });

  test("stops each CronJob run after a day by default", async () => {
    cluster().addTrainingJob("fraud", { ...jobArgs, schedule: "0 3 * * *" });
    await waitForResources();
    expect(k8sObjectsOfKind("CronJob")[0]!.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(86_400);
  });

  test("uses the deadline given", async () => {
    cluster().addTrainingJob("fraud", { ...jobArgs, activeDeadlineSeconds: 3 * 86_400 });
    await waitForResources();
    expect(k8sObjectsOfKind("Job")[0]!.spec.activeDeadlineSeconds).toBe(3 * 86_400);
  });
});
