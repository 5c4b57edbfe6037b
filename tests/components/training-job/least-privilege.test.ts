// Issue 7 item 20: a training job's role writes only what a run of its own model needs in the registry.
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { defaultCheckpointUri } from "../../../runtime/train/checkpoint.js";
import { Registry } from "../../../src/registry/index.js";
import { openStore } from "../../../src/store/index.js";
import { KEY, OTHER_KEY, kmsStatements, VIA_S3 } from "../../helpers/kms.js";
import { byType, policyOf, reset, setupMocks, waitForResources } from "../../helpers/pulumi-mocks.js";
import { tinyOnnx } from "../../helpers/tiny-onnx.js";
import { allows, allowsList, objectArn } from "./policy-match.js";

type Mod = typeof import("../../../components/training-cluster/index.js");
let mod: Mod;
let n = 0;

beforeAll(async () => {
  await setupMocks({ stack: "dev" });
  mod = await import("../../../components/training-cluster/index.js");
});
beforeEach(() => reset());

const REGISTRY = "s3://models/registry";
const jobArgs = {
  registry: { uri: pulumi.output(REGISTRY) },
  model: "fraud",
  dataset: { uri: "s3://data/fraud/train.parquet", label: "is_fraud" },
  trainer: { builtin: "logistic-regression" as const },
  gate: { mustBeat: "champion" },
  gpusPerWorker: 0,
};

/** A job "nightly" of model "fraud" on a fresh EKS cluster; returns its role's policy. */
async function jobPolicy(extra: Record<string, unknown> = {}) {
  const name = `lp${++n}`;
  new mod.TrainingCluster(name, { eks: { version: "1.35", subnetIds: ["subnet-a", "subnet-b"] }, nodePools: [] }).addTrainingJob("nightly", { ...jobArgs, ...extra });
  await waitForResources();
  return policyOf(`${name}-nightly-role`);
}

describe("a training job's role in the registry", () => {
  test("cannot write or delete another model's versions or aliases", async () => {
    const policy = await jobPolicy();
    for (const key of ["models/other/aliases/champion.json", "models/other/versions/0000000001.json", "models/fraud-2/aliases/champion.json"]) {
      expect(allows(policy, "s3:PutObject", objectArn(`${REGISTRY}/${key}`)), key).toBe(false);
      expect(allows(policy, "s3:DeleteObject", objectArn(`${REGISTRY}/${key}`)), key).toBe(false);
    }
  });

  test("cannot write at the registry root or anywhere outside its prefixes", async () => {
    const policy = await jobPolicy();
    for (const key of ["x.json", "models/index.json", "checkpoints/other/run-1/ckpt.pt", "something/else"]) {
      expect(allows(policy, "s3:PutObject", objectArn(`${REGISTRY}/${key}`)), key).toBe(false);
    }
    expect(allows(policy, "s3:PutObject", objectArn(REGISTRY))).toBe(false);
  });

  test("may add blobs but never delete them (they are shared by every model)", async () => {
    const policy = await jobPolicy();
    const blob = objectArn(`${REGISTRY}/blobs/sha256/${"a".repeat(64)}`);
    expect(allows(policy, "s3:PutObject", blob)).toBe(true);
    expect(allows(policy, "s3:GetObject", blob)).toBe(true);
    expect(allows(policy, "s3:DeleteObject", blob)).toBe(false);
  });

  test("covers every key a registration of its model writes, with an alias moved", async () => {
    const policy = await jobPolicy();
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "mlops-lp-"));
    try {
      const registry = new Registry(openStore(`file://${dir}`));
      await registry.register("fraud", tinyOnnx({ doc: "v1" }), { alias: "challenger" });
      await registry.register("fraud", tinyOnnx({ doc: "v2" }), { alias: "champion" });
      const written = (await fs.readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join("/"));
      expect(written.length).toBeGreaterThanOrEqual(5);
      for (const key of written) expect(allows(policy, "s3:PutObject", objectArn(`${REGISTRY}/${key}`)), key).toBe(true);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  test("may read and write its default checkpoint prefix, and no other job's", async () => {
    const policy = await jobPolicy();
    const mine = `${defaultCheckpointUri(REGISTRY, "nightly", "run-1")}/step-10.pt`;
    expect(allows(policy, "s3:PutObject", objectArn(mine))).toBe(true);
    expect(allows(policy, "s3:DeleteObject", objectArn(mine))).toBe(true);
    expect(allowsList(policy, "arn:aws:s3:::models", "registry/checkpoints/nightly/run-1/")).toBe(true);
    expect(allows(policy, "s3:PutObject", objectArn(`${defaultCheckpointUri(REGISTRY, "nightly-2", "run-1")}/step-10.pt`))).toBe(false);
  });

  test("may write the checkpoint.uri it is given instead of the registry's checkpoints", async () => {
    const policy = await jobPolicy({ checkpoint: { uri: "s3://scratch/ckpt/fraud" } });
    expect(allows(policy, "s3:PutObject", objectArn("s3://scratch/ckpt/fraud/step-10.pt"))).toBe(true);
    expect(allows(policy, "s3:PutObject", objectArn(`${defaultCheckpointUri(REGISTRY, "nightly", "run-1")}/step-10.pt`))).toBe(false);
  });

  test("lists only its own prefixes, and the models/ folder itself (named when its model is missing)", async () => {
    const policy = await jobPolicy();
    const bucket = "arn:aws:s3:::models";
    expect(allowsList(policy, bucket, "registry/models/fraud/versions/")).toBe(true);
    expect(allowsList(policy, bucket, "registry/models/")).toBe(true);
    expect(allowsList(policy, bucket, "registry/models/other/aliases/")).toBe(false);
    expect(allowsList(policy, bucket, "registry/")).toBe(false);
    expect(allowsList(policy, bucket, "")).toBe(false);
  });

  test("reads the dataset, and writes nothing of it", async () => {
    const policy = await jobPolicy();
    expect(allows(policy, "s3:GetObject", objectArn("s3://data/fraud/train.parquet"))).toBe(true);
    expect(allows(policy, "s3:PutObject", objectArn("s3://data/fraud/train.parquet"))).toBe(false);
  });
});

describe("datasetKmsKeyArn", () => {
  const policyJson = () => byType("aws:iam/rolePolicy:RolePolicy").at(-1)!.inputs.policy as string;

  test("lets the role decrypt with the dataset's key, only through S3, and not encrypt with it", async () => {
    await jobPolicy({ datasetKmsKeyArn: KEY });
    expect(kmsStatements(policyJson())).toEqual([expect.objectContaining({ Sid: "KmsRead", Action: ["kms:Decrypt"], Resource: [KEY], Condition: VIA_S3 })]);
  });

  test("keeps the registry's key read/write beside it", async () => {
    await jobPolicy({ registry: REGISTRY, registryKmsKeyArn: OTHER_KEY.replace("key/other", "key/2222"), datasetKmsKeyArn: pulumi.output(KEY) });
    const statements = kmsStatements(policyJson());
    expect(statements.map((s) => [s.Action, s.Resource])).toEqual([
      [["kms:Decrypt"], [KEY]],
      [["kms:Decrypt", "kms:GenerateDataKey"], ["arn:aws:kms:eu-west-1:123456789012:key/2222"]],
    ]);
  });

  test("fails when it is not a key ARN, naming the field and the fix", () => {
    const cluster = new mod.TrainingCluster(`lp${++n}`, { eks: { version: "1.35", subnetIds: ["subnet-a", "subnet-b"] }, nodePools: [] });
    expect(() => cluster.addTrainingJob("nightly", { ...jobArgs, datasetKmsKeyArn: "alias/data" })).toThrow(/datasetKmsKeyArn: is not a KMS key ARN; received "alias\/data".*key's ARN/s);
  });
});
