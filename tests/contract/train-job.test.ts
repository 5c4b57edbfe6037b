/**
 * Contract: the TrainSpec and pod environment that `TrainingCluster.addTrainingJob` renders boot the
 * real `mlops train` runtime, which trains, gates and registers into the (S3) registry the job names.
 * The pod is played by a local process: its env is resolved from the rendered Job the way the kubelet
 * does it, and it runs the container's args through the same CLI entrypoint as the image.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceAccountRolePolicy } from "../../components/shared/irsa.js";
import { renderTrainingJob } from "../../components/training-job/manifests.js";
import { normalizeTrainingJob, trainingJobS3Access, underUri } from "../../components/training-job/normalize.js";
import { allows, objectArn } from "../components/training-job/policy-match.js";
import { resolvePodEnv } from "../helpers/pod-env.js";
import { Registry } from "../../src/registry/index.js";
import { openStore } from "../../src/store/index.js";
import { ROOT, mlops } from "../helpers/cli.js";
import { startS3, type TestS3 } from "../helpers/s3.js";

let s3: TestS3;
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
  s3 = await startS3("contract");
  const store = openStore(`s3://${s3.bucket}/data`, { env: { ...process.env, ...s3.env } });
  await store.put("breast-cancer.csv", await readFile(join(ROOT, "examples", "breast-cancer", "data.csv")));
});
afterAll(async () => s3?.stop());

describe("the TrainSpec rendered by addTrainingJob", () => {
  it("boots mlops train from the pod environment and registers the gated model", async () => {
    const registryUri = `s3://${s3.bucket}/registry`;
    const args = {
      registry: registryUri,
      model: "cancer",
      dataset: { uri: `s3://${s3.bucket}/data/breast-cancer.csv`, label: "label" },
      trainer: { builtin: "logistic-regression" as const },
      gate: { minimum: { auc: 0.95 } },
    };
    const rendered = renderTrainingJob("nightly", args, cluster, registryUri);
    const job = rendered.job!;
    const container = job.spec.template.spec.containers[0];
    const podEnv = resolvePodEnv(job, { jobName: "nightly-x1", jobUid: "6f1c2d" });
    expect(container.args).toEqual(["train"]);

    const r = await mlops(container.args, { env: { ...podEnv, ...s3.env, HOME: process.env.HOME ?? "/tmp", TMPDIR: process.env.TMPDIR ?? "/tmp" }, timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.status).toBe("registered");
    expect(result.runId).toBe(podEnv.MLOPS_RUN_ID);

    const registry = new Registry(openStore(registryUri, { env: { ...process.env, ...s3.env } }));
    const aliases = await registry.aliases("cancer");
    expect(aliases.challenger).toBe(1);
    const mv = await registry.get("cancer", 1);
    expect(mv.lineage.runId).toBe(podEnv.MLOPS_RUN_ID);
    expect(mv.lineage.datasetUri).toBe(`s3://${s3.bucket}/data/breast-cancer.csv`);

    // s3rver enforces no IAM: check that every key the run wrote is one the job's role may write.
    const access = trainingJobS3Access(normalizeTrainingJob("nightly", args, cluster), (p) => underUri(registryUri, p));
    const policy = serviceAccountRolePolicy([...access.read], [...access.write], [], "aws", { put: [...access.put], list: [...access.list] });
    const written = await openStore(registryUri, { env: { ...process.env, ...s3.env } }).list("");
    expect(written.some((k) => k.startsWith("models/cancer/aliases/"))).toBe(true);
    for (const key of written) expect(allows(policy, "s3:PutObject", objectArn(`${registryUri}/${key}`)), key).toBe(true);
  });

  it("fails at boot naming the field when the rendered spec is tampered with", async () => {
    const registryUri = `s3://${s3.bucket}/registry`;
    const rendered = renderTrainingJob(
      "bad",
      { registry: registryUri, model: "cancer", dataset: { uri: `s3://${s3.bucket}/data/breast-cancer.csv`, label: "label" }, trainer: { builtin: "logistic-regression" } },
      cluster,
      registryUri,
    );
    const podEnv = resolvePodEnv(rendered.job!, { jobName: "bad-x1", jobUid: "1" });
    const spec = JSON.parse(podEnv.MLOPS_TRAIN_SPEC!);
    spec.split.holdoutFraction = 2;
    const r = await mlops(["train"], { env: { ...podEnv, MLOPS_TRAIN_SPEC: JSON.stringify(spec), ...s3.env } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("split.holdoutFraction");
  });
});
