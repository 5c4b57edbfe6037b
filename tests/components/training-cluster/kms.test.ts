import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { MlopsError } from "../../../src/errors.js";
import { byType, reset, setupMocks, waitForResources, type RecordedResource } from "../../helpers/pulumi-mocks.js";
import { KEY, kmsStatements, VIA_S3 } from "../../helpers/kms.js";

type ClusterMod = typeof import("../../../components/training-cluster/index.js");
let mod: ClusterMod;
let registryMod: typeof import("../../../components/model-registry/index.js");
let n = 0;

beforeAll(async () => {
  await setupMocks({ stack: "dev" });
  mod = await import("../../../components/training-cluster/index.js");
  registryMod = await import("../../../components/model-registry/index.js");
});
beforeEach(() => reset());


function eksCluster() {
  return new mod.TrainingCluster(`k${++n}`, { eks: { version: "1.35", subnetIds: ["subnet-a", "subnet-b"] }, nodePools: [] });
}
const jobArgs = {
  model: "fraud",
  dataset: { uri: "s3://data/fraud/train.parquet", label: "is_fraud" },
  trainer: { builtin: "logistic-regression" as const },
  gpusPerWorker: 0,
};
/** The one inline policy of the job's role (`<cluster>-<job>-s3`). */
function jobPolicy(): string {
  const policies = byType("aws:iam/rolePolicy:RolePolicy").filter((r: RecordedResource) => r.name.endsWith("-train-s3"));
  expect(policies).toHaveLength(1);
  return policies[0]!.inputs.policy as string;
}

describe("a training job's role", () => {
  test("gets no KMS statement for a registry without a KMS key", async () => {
    const registry = new registryMod.ModelRegistry(`models${++n}`);
    eksCluster().addTrainingJob("train", { ...jobArgs, registry });
    await waitForResources();
    expect(kmsStatements(jobPolicy())).toEqual([]);
  });

  test("may decrypt and generate data keys with a ModelRegistry's KMS key, only through S3", async () => {
    const registry = new registryMod.ModelRegistry(`models${++n}`, { storage: { s3: { kmsKeyArn: KEY } } });
    eksCluster().addTrainingJob("train", { ...jobArgs, registry });
    await waitForResources();
    expect(kmsStatements(jobPolicy())).toEqual([
      expect.objectContaining({ Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: [KEY], Condition: VIA_S3 }),
    ]);
  });

  test("uses registryKmsKeyArn for a registry given as an s3:// URI", async () => {
    eksCluster().addTrainingJob("train", { ...jobArgs, registry: "s3://models/reg", registryKmsKeyArn: pulumi.output(KEY) });
    await waitForResources();
    expect(kmsStatements(jobPolicy())).toEqual([expect.objectContaining({ Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: [KEY] })]);
  });

  test("fails when registryKmsKeyArn is not a key ARN", () => {
    expect(() => eksCluster().addTrainingJob("train", { ...jobArgs, registry: "s3://models/reg", registryKmsKeyArn: "alias/models" })).toThrow(
      /registryKmsKeyArn: is not a KMS key ARN; received "alias\/models"/,
    );
  });
});

describe("addServiceAccountRole with kmsKeyArns", () => {
  const roleArgs = { namespace: "batch", serviceAccount: "scorer", read: ["s3://models/reg"] };
  const saPolicy = () => byType("aws:iam/rolePolicy:RolePolicy").find((r) => r.name.endsWith("-scorer-s3"))!.inputs.policy as string;

  test("lets a role that only reads decrypt, nothing more", async () => {
    eksCluster().addServiceAccountRole("scorer", { ...roleArgs, kmsKeyArns: [KEY] });
    await waitForResources();
    expect(kmsStatements(saPolicy())).toEqual([expect.objectContaining({ Action: ["kms:Decrypt"], Resource: [KEY], Condition: VIA_S3 })]);
  });

  test("skips a key that resolves to undefined", async () => {
    eksCluster().addServiceAccountRole("scorer", { ...roleArgs, kmsKeyArns: [pulumi.output<string | undefined>(undefined)] });
    await waitForResources();
    expect(kmsStatements(saPolicy())).toEqual([]);
  });

  test("fails when a key is not a key ARN", () => {
    expect(() => eksCluster().addServiceAccountRole("scorer", { ...roleArgs, kmsKeyArns: ["alias/models"] })).toThrow(MlopsError);
  });
});
