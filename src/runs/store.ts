import { randomBytes } from "node:crypto";
import { MlopsError, NotFoundError } from "../errors.js";
import { MODEL_NAME_PATTERN } from "../spec/model-ref.js";
import type { ObjectStore } from "../store/types.js";
import type { MetricPoint, RunRecord } from "./types.js";

/** A generated run id: `run-<yyyymmddThhmmssZ>-<6 hex>`. */
export const RUN_ID_PATTERN = /^run-\d{8}T\d{6}Z-[0-9a-f]{6}$/;
/**
 * Any run id a record may carry: a generated one, or one a spec, `--run-id` or `MLOPS_RUN_ID` gave
 * (`<job name>.<job uid>` on Kubernetes): letters, digits, ".", "_" and "-", as TrainSpec.runId allows.
 */
export const ANY_RUN_ID_PATTERN = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,128}$/;
const STATUSES = new Set(["running", "gate-failed", "registered", "failed"]);

/** A fresh run id for a run starting at `at`: `run-20260102T030405Z-a1b2c3`. */
export function newRunId(at: Date = new Date()): string {
  const stamp = at.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "");
  return `run-${stamp}-${randomBytes(3).toString("hex")}`;
}

/** The object key of a run record: `models/<model>/runs/<runId>.json`. */
export function runKey(model: string, runId: string): string {
  checkModel(model);
  checkRunId(runId);
  return `models/${model}/runs/${runId}.json`;
}

/** Writes (creates or replaces) a run record; returns its URI. */
export async function writeRun(store: ObjectStore, record: RunRecord): Promise<string> {
  const key = runKey(record.model, record.runId);
  await store.put(key, JSON.stringify(record, null, 2) + "\n");
  return store.uriOf(key);
}

/** One run record, or undefined when there is none. @throws MlopsError when the object is not a run record */
export async function readRun(store: ObjectStore, model: string, runId: string): Promise<RunRecord | undefined> {
  const key = runKey(model, runId);
  const bytes = await store.get(key);
  return bytes ? parseRun(bytes, store.uriOf(key), model, runId) : undefined;
}

/** Every run of `model`, oldest first (by start time, then id). Corrupt records are skipped. */
export async function listRuns(store: ObjectStore, model: string): Promise<RunRecord[]> {
  checkModel(model);
  const prefix = `models/${model}/runs/`;
  const ids = (await store.list(prefix))
    .map((k) => k.slice(prefix.length))
    .filter((rest) => rest.endsWith(".json") && ANY_RUN_ID_PATTERN.test(rest.slice(0, -".json".length)))
    .map((rest) => rest.slice(0, -".json".length));
  const out: RunRecord[] = [];
  for (let i = 0; i < ids.length; i += 16) {
    const batch = await Promise.allSettled(ids.slice(i, i + 16).map((id) => readRun(store, model, id)));
    for (const r of batch) if (r.status === "fulfilled" && r.value) out.push(r.value);
  }
  const order = (a: RunRecord, b: RunRecord) => (a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0);
  return out.sort(order);
}

/** The run with id `runId` in any model (found by scanning `models/*\/runs/`), or undefined. */
export async function findRun(store: ObjectStore, runId: string): Promise<RunRecord | undefined> {
  checkRunId(runId);
  const suffix = `/runs/${runId}.json`;
  for (const key of await store.list("models/")) {
    const m = /^models\/([^/]+)\/runs\/[^/]+\.json$/.exec(key);
    if (m && key.endsWith(suffix)) return readRun(store, m[1]!, runId);
  }
  return undefined;
}

/** The final (last logged) value of each metric of a run. */
export function finalMetrics(record: Pick<RunRecord, "metrics">): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, points] of Object.entries(record.metrics)) {
    const last = points[points.length - 1];
    if (last) out[name] = last.value;
  }
  return out;
}

/** Like {@link findRun} but a missing run is a NotFoundError naming the store. */
export async function requireRun(store: ObjectStore, runId: string): Promise<RunRecord> {
  const run = await findRun(store, runId);
  if (!run) throw new NotFoundError(`Run "${runId}" does not exist in ${store.uri}. List a model's runs with: mlops runs list <model>.`);
  return run;
}

export function checkRunId(runId: string, field = "run"): string {
  if (typeof runId !== "string" || !ANY_RUN_ID_PATTERN.test(runId)) {
    throw MlopsError.of(field, "is not a run id", runId, 'Give an id as `mlops runs list <model>` prints it, e.g. "run-20260102T030405Z-a1b2c3".');
  }
  return runId;
}

function checkModel(model: string): void {
  if (typeof model !== "string" || !MODEL_NAME_PATTERN.test(model)) {
    throw MlopsError.of("model name", "is not a valid model name", model, 'Use 1-63 lowercase letters, digits, ".", "_" and "-", starting with a letter or digit (e.g. "fraud-detector").');
  }
}

function parseRun(bytes: Buffer, where: string, model: string, runId: string): RunRecord {
  let r: RunRecord;
  try {
    r = JSON.parse(bytes.toString("utf8")) as RunRecord;
  } catch (err) {
    throw new MlopsError(`Run record ${where} is corrupt: not JSON (${(err as Error).message}). Delete it or restore it from a backup.`);
  }
  const ok =
    r !== null && typeof r === "object" && r.runId === runId && r.model === model && STATUSES.has(r.status) &&
    typeof r.startedAt === "string" && typeof r.params === "object" && r.params !== null &&
    typeof r.metrics === "object" && r.metrics !== null &&
    Object.values(r.metrics).every((pts) => Array.isArray(pts) && pts.every(isPoint));
  if (!ok) throw new MlopsError(`Run record ${where} is corrupt: it does not describe run ${runId} of model "${model}". Delete it or restore it from a backup.`);
  return r;
}

function isPoint(p: unknown): p is MetricPoint {
  const q = p as MetricPoint;
  return q !== null && typeof q === "object" && typeof q.step === "number" && typeof q.value === "number" && typeof q.timestamp === "number";
}
