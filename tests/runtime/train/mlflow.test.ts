/**
 * The MLflow tracking REST subset `mlops train` serves to command trainers: request and response shapes
 * as MLflow's REST docs and protos give them (driven here with fetch), MLflow's error shape and codes,
 * bounded request bodies; then a real Python script using only urllib, run as a command trainer, whose
 * logged params and metrics end up in the run record.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Registry } from "../../../src/registry/index.js";
import { readRun } from "../../../src/runs/store.js";
import { runTraining } from "../../../runtime/train/index.js";
import { startTrackingServer, type TrackingServer } from "../../../runtime/train/mlflow/server.js";
import { captureLogger, dataDir, PYTHON, specIn, TRAINERS } from "./helpers.js";

const SCRIPT = new URL("./mlflow_trainer.py", import.meta.url).pathname;

describe("the MLflow tracking API, by the documented shapes", () => {
  let server: TrackingServer;
  const metrics: [string, number, number, number][] = [];
  const params: [string, string][] = [];
  beforeAll(async () => {
    server = await startTrackingServer(
      { logMetric: (...m) => metrics.push(m), logParam: (...p) => params.push(p) },
      { artifactRoot: "file:///tmp/mlops-mlflow-test", defaultRunName: "run-20260102T030405Z-abcdef", maxRequestBytes: 64 * 1024 },
    );
  });
  afterAll(() => server.close());

  const api = async (method: "GET" | "POST", endpoint: string, body?: unknown, prefix = "/api/2.0/mlflow/") => {
    const res = await fetch(`${server.uri}${prefix}${endpoint}`, {
      method,
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": "application/json" } } : {}),
    });
    expect(res.headers.get("content-type")).toBe("application/json");
    return { status: res.status, body: (await res.json()) as any };
  };
  const createRun = async (body: object = {}) => (await api("POST", "runs/create", body)).body.run.info.run_id as string;

  it("has the default experiment 0; get-by-name answers 404 RESOURCE_DOES_NOT_EXIST until create makes it", async () => {
    const def = await api("GET", "experiments/get?experiment_id=0");
    expect(def.status).toBe(200);
    expect(def.body.experiment).toMatchObject({ experiment_id: "0", name: "Default", lifecycle_stage: "active" });
    expect(def.body.experiment.artifact_location).toBe("file:///tmp/mlops-mlflow-test/0");
    const missing = await api("GET", "experiments/get-by-name?experiment_name=fraud");
    expect(missing).toEqual({ status: 404, body: { error_code: "RESOURCE_DOES_NOT_EXIST", message: "Could not find experiment with name 'fraud'" } });
    const created = await api("POST", "experiments/create", { name: "fraud", tags: [{ key: "team", value: "risk" }] });
    expect(created.status).toBe(200);
    expect(Object.keys(created.body)).toEqual(["experiment_id"]);
    const byName = await api("GET", "experiments/get-by-name?experiment_name=fraud");
    expect(byName.body.experiment).toMatchObject({ experiment_id: created.body.experiment_id, name: "fraud", tags: [{ key: "team", value: "risk" }] });
    const again = await api("POST", "experiments/create", { name: "fraud" });
    expect(again.status).toBe(400);
    expect(again.body.error_code).toBe("RESOURCE_ALREADY_EXISTS");
  });

  it("runs/create answers a Run {info, data, inputs} in the default experiment, named after the mlops run", async () => {
    const r = await api("POST", "runs/create", { start_time: 1700000000000, user_id: "ci", tags: [{ key: "mlflow.source.name", value: "train.py" }] });
    expect(r.status).toBe(200);
    expect(Object.keys(r.body.run).sort()).toEqual(["data", "info", "inputs"]);
    const info = r.body.run.info;
    expect(info.run_id).toMatch(/^[0-9a-f]{32}$/);
    expect(info).toMatchObject({ run_uuid: info.run_id, experiment_id: "0", user_id: "ci", status: "RUNNING", start_time: 1700000000000, lifecycle_stage: "active", run_name: "run-20260102T030405Z-abcdef" });
    expect(info.artifact_uri).toBe(`file:///tmp/mlops-mlflow-test/0/${info.run_id}/artifacts`);
    expect(r.body.run.data).toEqual({ metrics: [], params: [], tags: expect.arrayContaining([{ key: "mlflow.source.name", value: "train.py" }, { key: "mlflow.runName", value: info.run_name }]) });
    const noExp = await api("POST", "runs/create", { experiment_id: "99" });
    expect(noExp).toEqual({ status: 404, body: { error_code: "RESOURCE_DOES_NOT_EXIST", message: "Could not find experiment with ID 99" } });
  });

  it("log-metric takes int64 as numbers or protobuf-JSON strings, NaN included; the sink gets the finite points", async () => {
    const id = await createRun();
    metrics.length = 0;
    expect(await api("POST", "runs/log-metric", { run_id: id, key: "loss", value: 0.5, timestamp: 1700000000001, step: 1 })).toEqual({ status: 200, body: {} });
    expect((await api("POST", "runs/log-metric", { run_uuid: id, key: "loss", value: 0.25, timestamp: "1700000000002", step: "2" })).status).toBe(200);
    expect((await api("POST", "runs/log-metric", { run_id: id, key: "loss", value: "NaN", timestamp: 1700000000003, step: 3 })).status).toBe(200);
    expect(metrics).toEqual([["loss", 0.5, 1, 1700000000001], ["loss", 0.25, 2, 1700000000002]]);
    const got = await api("GET", `runs/get?run_id=${id}`);
    expect(got.body.run.data.metrics).toEqual([{ key: "loss", value: "NaN", timestamp: 1700000000003, step: 3 }]);
  });

  it("refuses bad metrics with 400 INVALID_PARAMETER_VALUE naming the parameter", async () => {
    const id = await createRun();
    const noTs = await api("POST", "runs/log-metric", { run_id: id, key: "loss", value: 1 });
    expect(noTs.status).toBe(400);
    expect(noTs.body).toEqual({ error_code: "INVALID_PARAMETER_VALUE", message: expect.stringContaining("'timestamp'") });
    const badKey = await api("POST", "runs/log-metric", { run_id: id, key: "a*b", value: 1, timestamp: 1 });
    expect(badKey.body.error_code).toBe("INVALID_PARAMETER_VALUE");
    expect(badKey.body.message).toContain('"a*b"');
    const badValue = await api("POST", "runs/log-metric", { run_id: id, key: "loss", value: "high", timestamp: 1 });
    expect(badValue.body.message).toContain("'value'");
    const noRun = await api("POST", "runs/log-metric", { key: "loss", value: 1, timestamp: 1 });
    expect(noRun.body).toMatchObject({ error_code: "INVALID_PARAMETER_VALUE", message: expect.stringContaining("'run_id'") });
    const unknown = await api("POST", "runs/log-metric", { run_id: "0".repeat(32), key: "loss", value: 1, timestamp: 1 });
    expect(unknown).toEqual({ status: 404, body: { error_code: "RESOURCE_DOES_NOT_EXIST", message: `Run with id=${"0".repeat(32)} not found` } });
  });

  it("params are immutable: the same value again is fine, another value is INVALID_PARAMETER_VALUE", async () => {
    const id = await createRun();
    expect((await api("POST", "runs/log-parameter", { run_id: id, key: "lr", value: "0.1" })).body).toEqual({});
    expect((await api("POST", "runs/log-parameter", { run_id: id, key: "lr", value: "0.1" })).status).toBe(200);
    const changed = await api("POST", "runs/log-parameter", { run_id: id, key: "lr", value: "0.2" });
    expect(changed.status).toBe(400);
    expect(changed.body.error_code).toBe("INVALID_PARAMETER_VALUE");
    expect(changed.body.message).toMatch(/^Changing param values is not allowed\. Param with key='lr' was already logged with value='0\.1'/);
    const tooLong = await api("POST", "runs/log-parameter", { run_id: id, key: "big", value: "x".repeat(6001) });
    expect(tooLong.body.message).toContain("6000");
  });

  it("log-batch logs metrics, params and tags together; a bad entry or an over-limit batch logs nothing", async () => {
    const id = await createRun();
    metrics.length = 0;
    params.length = 0;
    const ok = await api("POST", "runs/log-batch", {
      run_id: id,
      metrics: [{ key: "auc", value: 0.8, timestamp: 5, step: 1 }, { key: "auc", value: 0.9, timestamp: 6, step: 2 }],
      params: [{ key: "depth", value: "4" }],
      tags: [{ key: "stage", value: "dev" }],
    });
    expect(ok).toEqual({ status: 200, body: {} });
    expect(metrics).toEqual([["auc", 0.8, 1, 5], ["auc", 0.9, 2, 6]]);
    expect(params).toEqual([["depth", "4"]]);
    const bad = await api("POST", "runs/log-batch", { run_id: id, metrics: [{ key: "auc", value: 0.95, timestamp: 7, step: 3 }, { key: "auc", value: 0.99, step: 4 }] });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain("'metrics[1].timestamp'");
    const tooMany = await api("POST", "runs/log-batch", { run_id: id, params: Array.from({ length: 101 }, (_, i) => ({ key: `p${i}`, value: "1" })) });
    expect(tooMany.body).toMatchObject({ error_code: "INVALID_PARAMETER_VALUE", message: expect.stringContaining("at most 100 params") });
    expect(metrics).toHaveLength(2);
    expect(params).toHaveLength(1);
    expect((await api("POST", "runs/set-tag", { run_id: id, key: "owner", value: "risk" })).body).toEqual({});
    const got = (await api("GET", `runs/get?run_id=${id}`)).body.run;
    expect(got.data.metrics).toEqual([{ key: "auc", value: 0.9, timestamp: 6, step: 2 }]);
    expect(got.data.params).toEqual([{ key: "depth", value: "4" }]);
    expect(got.data.tags).toEqual(expect.arrayContaining([{ key: "stage", value: "dev" }, { key: "owner", value: "risk" }]));
  });

  it("runs/update sets status, end time and name, answering run_info; an unknown status is refused", async () => {
    const id = await createRun({ run_name: "first" });
    const bad = await api("POST", "runs/update", { run_id: id, status: "DONE" });
    expect(bad.body).toMatchObject({ error_code: "INVALID_PARAMETER_VALUE", message: expect.stringContaining("FINISHED") });
    const done = await api("POST", "runs/update", { run_id: id, status: "FINISHED", end_time: 1700000009999, run_name: "second" });
    expect(done.status).toBe(200);
    expect(Object.keys(done.body)).toEqual(["run_info"]);
    expect(done.body.run_info).toMatchObject({ run_id: id, status: "FINISHED", end_time: 1700000009999, run_name: "second" });
  });

  it("answers unknown endpoints, wrong methods, bad JSON and oversized bodies in MLflow's error shape", async () => {
    expect(await api("GET", "runs/search")).toMatchObject({ status: 404, body: { error_code: "ENDPOINT_NOT_FOUND" } });
    expect(await api("GET", "runs/log-metric")).toMatchObject({ status: 405, body: { error_code: "BAD_REQUEST" } });
    expect(await api("POST", "runs/create", "{not json")).toMatchObject({ status: 400, body: { error_code: "MALFORMED_REQUEST" } });
    expect(await api("POST", "runs/create", "[1]")).toMatchObject({ status: 400, body: { error_code: "MALFORMED_REQUEST" } });
    const big = await api("POST", "runs/create", { tags: [{ key: "t", value: "x".repeat(70 * 1024) }] });
    expect(big).toMatchObject({ status: 413, body: { error_code: "REQUEST_LIMIT_EXCEEDED" } });
    expect(big.body.message).toContain("65536");
    // Still answering, and the older preview prefix is the same API.
    expect((await api("GET", "experiments/get?experiment_id=0", undefined, "/api/2.0/preview/mlflow/")).status).toBe(200);
  });
});

describe("a Python trainer reporting through MLflow's REST API with urllib", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await dataDir()));
  afterAll(() => cleanup());

  it("its params and metric curves, and the metrics file's lines, land in the run record; bad file lines are named", async () => {
    const { logger, records } = captureLogger();
    const spec = specIn(dir, { trainer: { command: [PYTHON, SCRIPT], params: { epochs: "60" }, env: { FIXTURES: TRAINERS } } });
    const result = await runTraining(spec, { logger, progress: "none" });
    expect(result.status).toBe("registered");
    expect(result.runId).toMatch(/^run-\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    const registry = await Registry.open(`file://${join(dir, "registry")}`);
    const run = (await readRun(registry.store, "fraud", result.runId))!;
    expect(run).toMatchObject({ status: "registered", version: result.version!.version, model: "fraud" });
    expect(result.version!.lineage.runId).toBe(run.runId);
    expect(run.metrics.train_loss!.map((p) => p.step)).toEqual([10, 20, 30, 40, 50, 60]);
    expect(run.metrics.train_loss![5]!.value).toBeLessThan(run.metrics.train_loss![0]!.value);
    expect(run.metrics.val_auc!.map((p) => [p.step, p.value])).toEqual([[1, 0.81], [2, 0.84]]);
    expect(run.metrics.file_metric).toEqual([expect.objectContaining({ step: 3, value: 1.5 })]);
    expect(run.params).toMatchObject({ epochs: "60", optimizer: "gd", batch: "full", source: "file" });
    // The runtime's holdout score is the final value of auc.
    expect(run.metrics.auc!.at(-1)!.value).toBe(result.metrics.auc);

    const msgs = records().map((r) => String(r.msg));
    expect(msgs).toContain("param conflict: 400 INVALID_PARAMETER_VALUE");
    expect(msgs).toContain("trainer done");
    const warning = records().find((r) => String(r.msg).startsWith("metrics file MLOPS_METRICS_FILE: 2 bad lines"));
    expect(warning?.problems).toEqual([
      'line 3: is not JSON; received "not json at all"',
      'line 4: metric "file_metric" needs a finite number "value"; received "{\\"metric\\": \\"file_metric\\", \\"value\\": \\"high\\"}"',
    ]);
    // The server lived for the run only.
    const uri = msgs.find((m) => m.startsWith("tracking uri: "))!.slice("tracking uri: ".length);
    await expect(fetch(`${uri}/api/2.0/mlflow/experiments/get?experiment_id=0`)).rejects.toThrow();
  }, 120_000);
});
