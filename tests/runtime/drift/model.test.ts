/**
 * `mlops drift --model`'s runtime: the training job saves a reference profile with each version; a
 * model's payload logs in a time window are compared against the profile of the version its alias
 * points to; the run is recorded in the registry and pushed under `{job, model}`; the errors name
 * what is missing; and on drift a TrainSpec runs here and its gate registers a challenger.
 */
import { createServer, type Server } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MlopsError } from "../../../src/errors.js";
import { seededRandom } from "../../../src/random.js";
import { latestDriftResult } from "../../../src/registry/drift-results.js";
import { Registry } from "../../../src/registry/index.js";
import { getProfile } from "../../../src/registry/profiles.js";
import { openStore } from "../../../src/store/index.js";
import { parseWindow, runModelDrift } from "../../../runtime/drift/index.js";
import { batchKey, recordLine } from "../../../runtime/serve/payload-record.js";
import { runTraining } from "../../../runtime/train/index.js";
import { captureLogger, specIn, writeClassificationCsv } from "../train/helpers.js";

let dir: string;
let registryUri: string;
let payloadUri: string;
const NOW = Date.now();
const HOUR = 3_600_000;

/** `n` rows of 4 standard normal features, plus `shift` on each. */
function rows(n: number, seed: number, shift = 0): number[][] {
  const rand = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand());
  return Array.from({ length: n }, () => [0, 1, 2, 3].map(() => normal() + shift));
}

/** Writes payload records of `data` (requests of 10 rows) at time `at`, as the serving runtime lays them out. */
async function logRequests(data: number[][], at: number, model = "fraud"): Promise<void> {
  const store = openStore(payloadUri);
  const lines: string[] = [];
  for (let i = 0; i < data.length; i += 10) {
    const chunk = data.slice(i, i + 10);
    const input = JSON.stringify({ inputs: [{ name: "input", datatype: "FP64", shape: [chunk.length, 4], data: chunk.flat() }] });
    lines.push(recordLine({ model, version: "1", requestId: `r${i}`, input, output: '{"outputs":[]}' }, at, "fraud-ep", "primary"));
  }
  await store.put(batchKey(model, "fraud-ep", "primary", at), lines.join("\n") + "\n");
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-drift-model-"));
  registryUri = `file://${join(dir, "registry")}`;
  payloadUri = `file://${join(dir, "payloads")}`;
  await writeClassificationCsv(join(dir, "data.csv"), { rows: 1000 });
  const trained = await runTraining(specIn(dir, { trainer: { builtin: "logistic-regression" }, alias: "champion" }), { logger: captureLogger().logger, progress: "none" });
  expect(trained.status).toBe("registered");
  await logRequests(rows(300, 1), NOW - 10 * 60_000); // normal traffic, 10 minutes ago
  await logRequests(rows(300, 2, 1.5), NOW - 3 * HOUR); // shifted traffic, 3 hours ago
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("the reference profile saved by the training job", () => {
  it("is stored beside version 1: the train split's features, in the model's input order", async () => {
    const registry = new Registry(openStore(registryUri));
    const profile = (await getProfile(registry.store, "fraud", 1)) as { kind: string; rows: number; features: string[]; columns: Record<string, { rows: number; exact: boolean; mean: number }> };
    expect(profile).toBeDefined();
    expect(profile.kind).toBe("mlops-drift-profile");
    expect(profile.features).toEqual(["x1", "x2", "x3", "x4"]);
    expect(Object.keys(profile.columns)).toEqual(["x1", "x2", "x3", "x4"]);
    // holdoutFraction 0.2 of 1000 rows: the profile is of the 800 training rows, every value kept.
    expect(profile.rows).toBe(800);
    expect(profile.columns.x1!.rows).toBe(800);
    expect(profile.columns.x1!.exact).toBe(true);
    expect(Math.abs(profile.columns.x1!.mean)).toBeLessThan(0.2);
  });
});

describe("runModelDrift", () => {
  const window = (since: string, until?: string) => parseWindow(since, until, new Date(NOW));

  it("finds no drift in the last hour's normal traffic, and records the run", async () => {
    const out = join(dir, "out-normal");
    const r = await runModelDrift({ model: "fraud@champion", registry: registryUri, payloadUri, window: window("1h"), out });
    expect(r.version.version).toBe(1);
    expect(r.payload).toMatchObject({ files: 1, records: 30, rows: 300 });
    expect(Object.keys(r.report.columns)).toEqual(["x1", "x2", "x3", "x4"]);
    expect(r.report.columns.x1!.test).toBe("ks"); // 800 reference rows: Evidently's small-reference choice
    expect(r.report.dataset_drift).toBe(false);
    expect(r.report.data_quality.reference.kind).toBe("profile");
    const latest = await latestDriftResult(openStore(registryUri), "fraud");
    const reports = `${registryUri}/models/fraud/drift-reports/${r.record.at.replace(/[:.]/g, "-")}`;
    expect(latest).toEqual({ at: r.record.at, model: "fraud", version: 1, alias: "champion", dataset_drift: false, share_drifted: r.report.share_drifted, drifted: r.record.drifted, report: reports });
    // The reports outlive the job's folder: copied into the registry, byte for byte.
    const store = openStore(registryUri);
    const key = `models/fraud/drift-reports/${r.record.at.replace(/[:.]/g, "-")}`;
    const { readFile } = await import("node:fs/promises");
    expect((await store.get(`${key}/report.json`))!.equals(await readFile(join(out, "report.json")))).toBe(true);
    expect((await store.get(`${key}/report.html`))!.toString()).toMatch(/^<!doctype html>/i);
  });

  it("finds drift in the shifted window, names every drifted column and writes both reports", async () => {
    const r = await runModelDrift({ model: "fraud:1", registry: registryUri, payloadUri, window: window("4h", "2h"), out: join(dir, "out-shift") });
    expect(r.payload.rows).toBe(300);
    expect(r.report.dataset_drift).toBe(true);
    expect(r.record.drifted).toEqual(["x1", "x2", "x3", "x4"]);
    expect(r.record.alias).toBeUndefined();
    expect(r.paths.html).toBe(join(dir, "out-shift", "report.html"));
    expect((await latestDriftResult(openStore(registryUri), "fraud"))!.dataset_drift).toBe(true);
  });

  it("pushes the metrics grouped by job and model", async () => {
    const seen: { method: string; url: string; body: string }[] = [];
    const server: Server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        seen.push({ method: req.method!, url: req.url!, body });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    try {
      const port = (server.address() as { port: number }).port;
      await runModelDrift({ model: "fraud@champion", registry: registryUri, payloadUri, window: window("4h", "2h"), out: join(dir, "out-push"), pushgateway: { url: `http://127.0.0.1:${port}` } });
      expect(seen).toHaveLength(1);
      expect(seen[0]!.method).toBe("PUT");
      expect(seen[0]!.url).toBe("/metrics/job/mlops_drift/model/fraud");
      expect(seen[0]!.body).toMatch(/^mlops_drift_dataset_drift 1$/m);
    } finally {
      server.close();
    }
  });

  it("says which window and URI had no records, and how to fix it", async () => {
    const err = await runModelDrift({ model: "fraud@champion", registry: registryUri, payloadUri, window: window("2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"), out: join(dir, "x") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlopsError);
    const msg = (err as Error).message;
    expect(msg).toContain(`no payload records of model fraud under ${payloadUri}/fraud/ from 2026-01-01T00:00:00.000Z to 2026-01-01T01:00:00.000Z (--since 2026-01-01T00:00:00Z --until 2026-01-01T01:00:00Z)`);
    expect(msg).toMatch(/logging\.uri is that URI and logging\.sampleRate > 0.*widen --since/);
  });

  it("says a version has no reference profile and how to write one", async () => {
    const registry = new Registry(openStore(registryUri));
    const { readFile } = await import("node:fs/promises");
    const { EXAMPLE_MODEL } = await import("../../helpers/cli.js");
    await registry.register("plain", await readFile(EXAMPLE_MODEL), { alias: "champion" });
    const err = await runModelDrift({ model: "plain@champion", registry: registryUri, payloadUri, window: window("1h"), out: join(dir, "x") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlopsError);
    expect((err as Error).message).toContain("plain@champion is plain:1, which has no reference profile (");
    expect((err as Error).message).toContain("models/plain/profiles/0000000001.json");
    expect((err as Error).message).toContain("mlops drift profile <training data> --model plain:1");
  });

  it("on drift runs the TrainSpec here: its gate registers a challenger and the champion stays", async () => {
    const spec = specIn(dir, { trainer: { builtin: "logistic-regression" }, alias: "challenger", gate: { minimum: { auc: 0.6 } } });
    const r = await runModelDrift({ model: "fraud@champion", registry: registryUri, payloadUri, window: window("4h", "2h"), out: join(dir, "out-train"), onDriftTrain: spec, logger: captureLogger().logger });
    expect(r.train?.status).toBe("registered");
    const registry = new Registry(openStore(registryUri));
    const aliases = await registry.aliases("fraud");
    expect(aliases.champion).toBe(1);
    expect(aliases.challenger).toBe(r.train!.version!.version);
    // The retrained version has its own reference profile.
    expect(await getProfile(registry.store, "fraud", r.train!.version!.version)).toBeDefined();
    // No drift, no training.
    const calm = await runModelDrift({ model: "fraud@champion", registry: registryUri, payloadUri, window: window("1h"), out: join(dir, "out-calm"), onDriftTrain: spec, logger: captureLogger().logger });
    expect(calm.train).toBeUndefined();
  }, 60_000);

  it("a gate that fails registers nothing", async () => {
    const spec = specIn(dir, { trainer: { builtin: "logistic-regression" }, alias: "challenger", gate: { minimum: { auc: 0.999 } } });
    const registry = new Registry(openStore(registryUri));
    const before = (await registry.list("fraud")).length;
    const r = await runModelDrift({ model: "fraud@champion", registry: registryUri, payloadUri, window: window("4h", "2h"), out: join(dir, "out-gate"), onDriftTrain: spec, logger: captureLogger().logger });
    expect(r.train?.status).toBe("gate-failed");
    expect((await registry.list("fraud")).length).toBe(before);
  }, 60_000);
});
