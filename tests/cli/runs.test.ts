/** `mlops runs list|show|compare` over the records two real training runs left in a registry. */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTraining, type TrainResult } from "../../runtime/train/index.js";
import { captureLogger, dataDir, specIn } from "../runtime/train/helpers.js";
import { mlops } from "../helpers/cli.js";

let dir: string;
let cleanup: () => Promise<void>;
let registry: string;
let good: TrainResult;
let bad: TrainResult;

beforeAll(async () => {
  ({ dir, cleanup } = await dataDir({ rows: 600 }));
  registry = `file://${join(dir, "registry")}`;
  const opts = { logger: captureLogger().logger, progress: "none" as const };
  good = await runTraining(specIn(dir, { trainer: { builtin: "logistic-regression", l2: 1 } }), opts);
  bad = await runTraining(specIn(dir, { trainer: { builtin: "logistic-regression", l2: 50 }, gate: { minimum: { auc: 0.99999 } } }), opts);
}, 120_000);
afterAll(() => cleanup());

describe("mlops runs", () => {
  it("list shows each run with its status, version and final metrics; --json gives the records", async () => {
    const r = await mlops(["runs", "list", "fraud", "--registry", registry]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^RUN\s+STATUS\s+VERSION\s+STARTED\s+DURATION\s+METRICS$/);
    expect(lines[1]).toMatch(new RegExp(`^${good.runId}\\s+registered\\s+1\\s+\\S+Z\\s+[\\d.]+s\\s+.*auc=0\\.\\d+`));
    expect(lines[2]).toMatch(new RegExp(`^${bad.runId}\\s+gate-failed\\s+\\S+Z`));
    const json = JSON.parse((await mlops(["runs", "list", "fraud", "--registry", registry, "--json"])).stdout);
    expect(json.runs.map((x: { runId: string }) => x.runId)).toEqual([good.runId, bad.runId]);
    expect(json.runs[0]).toMatchObject({ status: "registered", version: 1, model: "fraud" });
  }, 60_000);

  it("show prints params, metrics, the gate's checks and why it failed; --json the record", async () => {
    const r = await mlops(["runs", "show", bad.runId, "--registry", registry]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`run       ${bad.runId}`);
    expect(r.stdout).toContain("status    gate-failed");
    expect(r.stdout).toContain("  l2 = 50");
    expect(r.stdout).toMatch(/gate      failed\n  FAIL auc 0\.\d+ >= 0\.99999/);
    expect(r.stdout).toMatch(/error     gate failed: auc 0\.\d{4} is below the minimum 0\.99999/);
    const json = JSON.parse((await mlops(["runs", "show", good.runId, "--registry", registry, "--json"])).stdout);
    expect(json).toMatchObject({ runId: good.runId, status: "registered", version: 1, gate: { passed: true } });
    expect(json.metrics.loss.length).toBeGreaterThan(1);
  }, 60_000);

  it("compare puts params and final metrics side by side and marks the rows that differ", async () => {
    const r = await mlops(["runs", "compare", good.runId, bad.runId, "--registry", registry]);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout.split("\n");
    expect(rows[0]).toMatch(new RegExp(`^\\s+${good.runId}\\s+${bad.runId}\\s+DIFF$`));
    expect(rows.find((l) => l.startsWith("status"))).toMatch(/registered\s+gate-failed/);
    expect(rows.find((l) => l.startsWith("param l2 "))).toMatch(/^param l2\s+1\s+50\s+\*$/);
    expect(rows.find((l) => l.startsWith("param seed "))).toMatch(/^param seed\s+42\s+42$/);
    expect(rows.find((l) => l.startsWith("metric logLoss "))).toMatch(/\*$/);
    const json = JSON.parse((await mlops(["runs", "compare", good.runId, bad.runId, "--registry", registry, "--json"])).stdout);
    expect(json.runs.map((x: { status: string }) => x.status)).toEqual(["registered", "gate-failed"]);
    expect(json.rows).toContainEqual({ kind: "param", name: "l2", values: ["1", "50"], differs: true });
    expect(json.rows).toContainEqual({ kind: "metric", name: "logLoss", values: [good.metrics.logLoss, bad.metrics.logLoss], differs: true });
    expect(good.metrics.logLoss).not.toBe(bad.metrics.logLoss);
  }, 60_000);

  it("names an unknown run, a bad id and too few runs, exiting 2", async () => {
    const missing = await mlops(["runs", "show", "run-20200101T000000Z-000000", "--registry", registry]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/Run "run-20200101T000000Z-000000" does not exist in file:\/\/.*mlops runs list <model>/);
    const badId = await mlops(["runs", "show", "../x", "--registry", registry]);
    expect(badId.stderr).toMatch(/^error: run: is not a run id; received "\.\.\/x"/);
    const one = await mlops(["runs", "compare", good.runId, "--registry", registry]);
    expect(one.code).toBe(2);
    expect(one.stderr).toMatch(/give at least two runs to compare \(received 1\)/);
  }, 60_000);
});
