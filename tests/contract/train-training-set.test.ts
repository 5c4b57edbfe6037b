/**
 * Contract: a training job on a FeatureStore training set. The TrainSpec and pod environment that
 * `addTrainingJob` renders for `dataset: { trainingSet: "<name>:latest", featureRegistry }` boot the real
 * `mlops train`, which copies the training set out of the (S3) feature registry, verifies it, trains and
 * registers with its lineage; and the job's role covers what the run read and wrote, and no more.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { serviceAccountRolePolicy } from "../../components/shared/irsa.js";
import { renderTrainingJob } from "../../components/training-job/manifests.js";
import { normalizeTrainingJob, trainingJobS3Access, underUri } from "../../components/training-job/normalize.js";
import { Registry } from "../../src/registry/index.js";
import { openStore } from "../../src/store/index.js";
import { allows, allowsList, objectArn } from "../components/training-job/policy-match.js";
import { mlops } from "../helpers/cli.js";
import { resolvePodEnv } from "../helpers/pod-env.js";
import { startS3, type TestS3 } from "../helpers/s3.js";
import { saveTrainingSet, writeEntities, writeFeatureStore } from "../runtime/train/training-set-data.js";

let s3: TestS3;
let dir: string;
const saved = { ...process.env };
const cluster = {
  instance: "mlops-dev-ml",
  partOf: "pulumi-mlops",
  pools: [],
  teams: [],
  kueueTeams: [],
  namespaces: { default: "pulumi-mlops-dev-training", byTeam: {} },
  priorityClassName: "pulumi-mlops-dev-training",
  cpuInstanceTypes: [],
};

beforeAll(async () => {
  s3 = await startS3("ts-contract");
  // The features command reads the S3 endpoint and credentials from its environment.
  Object.assign(process.env, s3.env);
  dir = await mkdtemp(join(tmpdir(), "mlops-ts-contract-"));
  const { spec } = await writeFeatureStore(dir);
  // The same store, its registry on S3 (as a FeatureStore component's is).
  const doc = YAML.parse(await readFile(spec, "utf8"));
  doc.registry = `s3://${s3.bucket}/features/registry`;
  doc.online = { embedded: { path: join(dir, "online") } };
  await writeFile(spec, YAML.stringify(doc));
  await writeEntities(join(dir, "entities.csv"), 500, 5);
  await saveTrainingSet(spec, join(dir, "entities.csv"), "fraud-train", join(dir, "out.parquet"));
}, 60_000);
afterAll(async () => {
  process.env = saved;
  await s3?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("a training job on a FeatureStore training set", () => {
  it("boots mlops train from the pod environment, trains on the training set and records it", async () => {
    const registryUri = `s3://${s3.bucket}/registry`;
    const featureRegistry = `s3://${s3.bucket}/features/registry`;
    const args = {
      registry: registryUri,
      model: "fraud",
      dataset: { trainingSet: "fraud-train:latest", featureRegistry: { registryUri: featureRegistry }, label: "label" },
      trainer: { builtin: "logistic-regression" as const },
    };
    const rendered = renderTrainingJob("nightly", args, cluster, registryUri);
    const podEnv = resolvePodEnv(rendered.job!, { jobName: "nightly-x1", jobUid: "9a1b" });
    expect(JSON.parse(podEnv.MLOPS_TRAIN_SPEC!).dataset).toEqual({ trainingSet: "fraud-train:latest", featureRegistry, label: "label", exclude: [] });

    const r = await mlops(["train"], { env: { ...podEnv, ...s3.env, HOME: process.env.HOME ?? "/tmp", TMPDIR: process.env.TMPDIR ?? "/tmp" }, timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const env = { ...process.env, ...s3.env };
    const mv = await new Registry(openStore(registryUri, { env })).get("fraud", 1);
    expect(mv.lineage.trainingSet).toMatchObject({ name: "fraud-train", version: 1, registry: featureRegistry, views: { txn_stats: 1 } });
    expect(mv.lineage.datasetUri).toBe(`${featureRegistry}/training-sets/fraud-train/0000000001/data.parquet`);

    // s3rver enforces no IAM: check the job's role against the keys the run read and wrote.
    const access = trainingJobS3Access(normalizeTrainingJob("nightly", args, cluster), (p) => underUri(registryUri, p), (p) => underUri(featureRegistry, p));
    const policy = serviceAccountRolePolicy([...access.read], [...access.write], [], "aws", { put: [...access.put], list: [...access.list] });
    const features = await openStore(featureRegistry, { env }).list("");
    const trainingSetKeys = features.filter((k) => k.startsWith("training-sets/fraud-train/"));
    expect(trainingSetKeys.length).toBeGreaterThanOrEqual(3);
    for (const key of trainingSetKeys) {
      expect(allows(policy, "s3:GetObject", objectArn(`${featureRegistry}/${key}`)), key).toBe(true);
      expect(allows(policy, "s3:PutObject", objectArn(`${featureRegistry}/${key}`)), key).toBe(false);
    }
    for (const key of features.filter((k) => k.startsWith("views/"))) expect(allows(policy, "s3:GetObject", objectArn(`${featureRegistry}/${key}`)), key).toBe(false);
    const bucket = `arn:aws:s3:::${s3.bucket}`;
    expect(allowsList(policy, bucket, "features/registry/training-sets/fraud-train/")).toBe(true);
    expect(allowsList(policy, bucket, "features/registry/training-sets/")).toBe(true);
    expect(allowsList(policy, bucket, "features/registry/")).toBe(false);
    // The run's writes, the pinned :latest among them, are all under the job's own prefixes.
    const written = await openStore(registryUri, { env }).list("");
    expect(written.some((k) => k.includes("/.mlops/training-sets/"))).toBe(true);
    for (const key of written) expect(allows(policy, "s3:PutObject", objectArn(`${registryUri}/${key}`)), key).toBe(true);
  });
});
