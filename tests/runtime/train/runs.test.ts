/**
 * Every `mlops train` run leaves a run record (src/runs) whatever its outcome: registered (with the
 * version, params, metric curves, dataset digest, code revision, image digest, duration and gate
 * checks), gate-failed (the checks and their values), failed (a crashed trainer, a bad dataset, a
 * SIGTERM), the error free of the trainer's secrets. The record is written `running` when the run starts.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Registry } from "../../../src/registry/index.js";
import { listRuns, readRun } from "../../../src/runs/store.js";
import { runTraining } from "../../../runtime/train/index.js";
import { redactSecrets } from "../../../runtime/train/runs.js";
import { BIN } from "../../helpers/cli.js";
import { captureLogger, dataDir, PYTHON, specIn } from "./helpers.js";

describe("run records of mlops train", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await dataDir({ rows: 600 })));
  afterEach(() => cleanup());
  const store = async () => (await Registry.open(`file://${join(dir, "registry")}`)).store;
  const quiet = () => ({ logger: captureLogger().logger, progress: "none" as const });

  it("a registered run: version, params, loss curve with steps, holdout metrics, digests, revision, duration, gate checks", async () => {
    const before = process.env.MLOPS_IMAGE_DIGEST;
    process.env.MLOPS_IMAGE_DIGEST = "sha256:" + "ab".repeat(32);
    let result;
    try {
      result = await runTraining(
        specIn(dir, { trainer: { builtin: "logistic-regression", l2: 2 }, gate: { minimum: { auc: 0.6 } }, lineage: { codeRevision: "0123abc" } }),
        quiet(),
      );
    } finally {
      if (before === undefined) delete process.env.MLOPS_IMAGE_DIGEST;
      else process.env.MLOPS_IMAGE_DIGEST = before;
    }
    expect(result.status).toBe("registered");
    const runs = await listRuns(await store(), "fraud");
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    const mv = result.version!;
    expect(run).toMatchObject({
      runId: result.runId,
      status: "registered",
      version: mv.version,
      params: { l2: "2", maxIterations: "200", holdoutFraction: "0.2", seed: "42", workers: "1" },
      datasetDigest: mv.lineage.datasetDigest,
      codeRevision: "0123abc",
      imageDigest: "sha256:" + "ab".repeat(32),
    });
    expect(mv.lineage.runId).toBe(run.runId);
    expect(run.runId).toMatch(/^run-\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(run.durationSeconds).toBeGreaterThan(0);
    expect(Date.parse(run.endedAt!) - Date.parse(run.startedAt)).toBeCloseTo(run.durationSeconds! * 1000, -2);
    // The solver's loss per iteration is the curve; it goes down.
    const loss = run.metrics.loss!;
    expect(loss.length).toBeGreaterThan(1);
    expect(loss.map((p) => p.step)).toEqual([...loss.map((p) => p.step)].sort((a, b) => a - b));
    expect(loss.at(-1)!.value).toBeLessThan(loss[0]!.value);
    for (const [k, v] of Object.entries(mv.metrics)) expect(run.metrics[k]!.at(-1)!.value, k).toBe(v);
    expect(run.gate).toEqual({
      passed: true,
      checks: [
        { metric: "auc", op: ">=", bound: 0.6, value: mv.metrics.auc, passed: true },
        { metric: "auc", op: ">", bound: 0.5, value: mv.metrics.auc, passed: true },
      ],
    });
    expect(run.error).toBeUndefined();
  }, 120_000);

  it("a gate-failed run: the checks with their values and why, no version", async () => {
    const result = await runTraining(specIn(dir, { trainer: { builtin: "logistic-regression" }, gate: { minimum: { auc: 0.99999 }, maximum: { logLoss: 5 } } }), quiet());
    expect(result.status).toBe("gate-failed");
    const run = (await readRun(await store(), "fraud", result.runId))!;
    expect(run.status).toBe("gate-failed");
    expect(run.version).toBeUndefined();
    expect(run.gate!.passed).toBe(false);
    expect(run.gate!.checks.slice(0, 2)).toEqual([
      { metric: "auc", op: ">=", bound: 0.99999, value: result.metrics.auc, passed: false },
      { metric: "logLoss", op: "<=", bound: 5, value: result.metrics.logLoss, passed: true },
    ]);
    expect(run.error).toMatch(/^gate failed: auc 0\.\d{4} is below the minimum 0\.99999/);
    expect(run.metrics.auc!.at(-1)!.value).toBe(result.metrics.auc);
  }, 120_000);

  it("a crashed command trainer: running while it ran, then failed with the exit code and no secrets", async () => {
    const script = [
      "import json, os, sys",
      "rec = json.load(open(os.path.join(os.environ['REG'], 'models', 'fraud', 'runs', os.environ['MLOPS_RUN_ID'] + '.json')))",
      "print('record while running:', rec['status'], flush=True)",
      "print('connecting with', os.environ['API_TOKEN'], flush=True)",
      "print('password=hunter2', flush=True)",
      "sys.exit(3)",
    ].join("\n");
    const spec = specIn(dir, { runId: "crash-1", trainer: { command: [PYTHON, "-c", script], env: { REG: join(dir, "registry"), API_TOKEN: "tok-9f8e7d6c5b4a" } } });
    const { logger, records } = captureLogger();
    const err = await runTraining(spec, { logger, progress: "none" }).then(() => new Error("resolved"), (e: unknown) => e as Error);
    expect(err.message).toMatch(/trainer exited with code 3/);
    expect(records().map((r) => r.msg)).toContain("record while running: running");
    const run = (await readRun(await store(), "fraud", "crash-1"))!;
    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/^trainer exited with code 3/);
    expect(run.error).toContain("connecting with <API_TOKEN: not shown>");
    expect(run.error).toContain("[a line that looks like a credential, not shown]");
    expect(run.error).not.toContain("tok-9f8e7d6c5b4a");
    expect(run.error).not.toContain("hunter2");
    expect(run.durationSeconds).toBeGreaterThan(0);
    expect(run.params).toMatchObject({ workers: "1" });
  }, 120_000);

  it("a running run's record shows what was logged so far, rewritten every few seconds", async () => {
    const script = [
      "import json, os, sys, time",
      "open(os.environ['MLOPS_METRICS_FILE'], 'a').write(json.dumps({'metric': 'live', 'value': 0.42, 'step': 7}) + '\\n')",
      "path = os.path.join(os.environ['REG'], 'models', 'fraud', 'runs', os.environ['MLOPS_RUN_ID'] + '.json')",
      "for _ in range(600):",
      "    rec = json.load(open(path))",
      "    if rec['metrics'].get('live'):",
      "        print('seen live:', rec['status'], rec['metrics']['live'][0]['step'], rec['metrics']['live'][0]['value'], flush=True)",
      "        sys.exit(5)",
      "    time.sleep(0.1)",
      "sys.exit(6)",
    ].join("\n");
    const { logger, records } = captureLogger();
    const spec = specIn(dir, { runId: "live-1", trainer: { command: [PYTHON, "-c", script], env: { REG: join(dir, "registry") } } });
    await expect(runTraining(spec, { logger, progress: "none" })).rejects.toThrow(/exited with code 5/);
    expect(records().map((r) => r.msg)).toContain("seen live: running 7 0.42");
    const run = (await readRun(await store(), "fraud", "live-1"))!;
    expect(run.status).toBe("failed");
    expect(run.metrics.live).toEqual([expect.objectContaining({ step: 7, value: 0.42 })]);
  }, 120_000);

  it("a bad dataset: failed, the error naming the column", async () => {
    const spec = specIn(dir, { runId: "bad-data", trainer: { builtin: "logistic-regression" }, dataset: { uri: `file://${join(dir, "data.csv")}`, label: "fraudulent" } });
    const err = await runTraining(spec, quiet()).then(() => new Error("resolved"), (e: unknown) => e as Error);
    const run = (await readRun(await store(), "fraud", "bad-data"))!;
    expect(run.status).toBe("failed");
    expect(run.error).toBe(err.message);
    expect(run.error).toContain("fraudulent");
    expect(run.datasetDigest).toBeUndefined();
  }, 60_000);

  it("`mlops train` stopped by SIGTERM: failed, saying so", async () => {
    const spec = specIn(dir, { trainer: { command: [PYTHON, "-c", "import time\nprint('training', flush=True)\ntime.sleep(120)"] } });
    const file = join(dir, "spec.json");
    await writeFile(file, JSON.stringify(spec));
    const child = execa(process.execPath, [BIN, "train", "--spec", file, "--run-id", "sig-1"], { cwd: dir, reject: false, stdin: "ignore" });
    try {
      const key = "models/fraud/runs/sig-1.json";
      const s = await store();
      for (let i = 0; i < 600 && !(await s.exists(key)); i++) await new Promise((r) => setTimeout(r, 100));
      expect((await readRun(s, "fraud", "sig-1"))?.status).toBe("running");
      child.kill("SIGTERM");
      const exited = await child;
      expect(exited.exitCode, String(exited.stderr)).toBe(143);
      const run = (await readRun(s, "fraud", "sig-1"))!;
      expect(run.status).toBe("failed");
      expect(run.error).toMatch(/^terminated by SIGTERM: training was stopped \(abort\/SIGTERM\)/);
      expect(run.endedAt).toBeDefined();
    } finally {
      child.kill("SIGKILL");
      await child.catch(() => undefined);
    }
  }, 120_000);
});

describe("redactSecrets", () => {
  it("replaces the values of secret-named variables and hides credential-looking lines, keeping the rest", () => {
    const text = "exit 1\nusing key AKIAxyz123 and wJalrSECRET\nAuthorization: Bearer abc.def\nplain line";
    const out = redactSecrets(text, [{ AWS_SECRET_ACCESS_KEY: "wJalrSECRET", HOME: "/root", SHORT_TOKEN: "abc" }]);
    expect(out).toBe("exit 1\nusing key AKIAxyz123 and <AWS_SECRET_ACCESS_KEY: not shown>\n[a line that looks like a credential, not shown]\nplain line");
  });
});
