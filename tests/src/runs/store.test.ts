/** Run records in a registry's object store (contract 3): keys, ids, listing, finding, corrupt records. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MlopsError, NotFoundError } from "../../../src/errors.js";
import { checkRunId, finalMetrics, findRun, listRuns, newRunId, readRun, requireRun, runKey, RUN_ID_PATTERN, writeRun } from "../../../src/runs/store.js";
import type { RunRecord } from "../../../src/runs/types.js";
import { FileStore } from "../../../src/store/index.js";

let dir: string;
let store: FileStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-runs-"));
  store = new FileStore(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const record = (over: Partial<RunRecord> = {}): RunRecord => ({
  runId: "run-20260102T030405Z-a1b2c3",
  model: "fraud",
  status: "running",
  startedAt: "2026-01-02T03:04:05.000Z",
  params: { l2: "1" },
  metrics: { loss: [{ step: 1, value: 0.7, timestamp: 1 }, { step: 2, value: 0.5, timestamp: 2 }] },
  ...over,
});

describe("run records", () => {
  it("generates ids run-<yyyymmddThhmmssZ>-<6 hex> from the start time", () => {
    const id = newRunId(new Date("2026-01-02T03:04:05.678Z"));
    expect(id).toMatch(/^run-20260102T030405Z-[0-9a-f]{6}$/);
    expect(RUN_ID_PATTERN.test(id)).toBe(true);
    expect(newRunId()).not.toBe(newRunId());
  });

  it("stores a record at models/<model>/runs/<runId>.json, 2-space JSON, and reads it back", async () => {
    const uri = await writeRun(store, record());
    expect(runKey("fraud", "run-20260102T030405Z-a1b2c3")).toBe("models/fraud/runs/run-20260102T030405Z-a1b2c3.json");
    expect(uri).toBe(store.uriOf("models/fraud/runs/run-20260102T030405Z-a1b2c3.json"));
    const text = (await store.get("models/fraud/runs/run-20260102T030405Z-a1b2c3.json"))!.toString();
    expect(text).toBe(JSON.stringify(record(), null, 2) + "\n");
    expect(await readRun(store, "fraud", "run-20260102T030405Z-a1b2c3")).toEqual(record());
    expect(await readRun(store, "fraud", "run-20260102T030405Z-ffffff")).toBeUndefined();
    expect(finalMetrics(record())).toEqual({ loss: 0.5 });
  });

  it("a later write replaces the record (running, then its outcome)", async () => {
    await writeRun(store, record());
    await writeRun(store, record({ status: "registered", version: 3, endedAt: "2026-01-02T03:05:00.000Z", durationSeconds: 55 }));
    expect(await readRun(store, "fraud", record().runId)).toMatchObject({ status: "registered", version: 3, durationSeconds: 55 });
  });

  it("lists a model's runs by start time and finds a run by id alone, whatever its model", async () => {
    await writeRun(store, record({ runId: "run-20260102T030405Z-000002", startedAt: "2026-01-02T03:04:06.000Z" }));
    await writeRun(store, record({ runId: "run-20260102T030405Z-000001" }));
    // Ids given by a spec or a Kubernetes Job (`<job>.<uid>`) are records too.
    await writeRun(store, record({ runId: "nightly.5f0c-11", model: "churn" }));
    await store.put("models/fraud/runs/notes.txt", "not a run");
    expect((await listRuns(store, "fraud")).map((r) => r.runId)).toEqual(["run-20260102T030405Z-000001", "run-20260102T030405Z-000002"]);
    expect(await listRuns(store, "nothing")).toEqual([]);
    expect((await findRun(store, "nightly.5f0c-11"))?.model).toBe("churn");
    expect(await findRun(store, "run-20260102T030405Z-999999")).toBeUndefined();
    await expect(requireRun(store, "run-20260102T030405Z-999999")).rejects.toThrow(NotFoundError);
  });

  it("skips a corrupt record in a listing and names it when read", async () => {
    await writeRun(store, record());
    await store.put("models/fraud/runs/run-20260102T030405Z-bad000.json", "{ nope");
    await store.put("models/fraud/runs/run-20260102T030405Z-bad001.json", JSON.stringify({ runId: "other", model: "fraud" }));
    expect((await listRuns(store, "fraud")).map((r) => r.runId)).toEqual([record().runId]);
    await expect(readRun(store, "fraud", "run-20260102T030405Z-bad000")).rejects.toThrow(/run-20260102T030405Z-bad000\.json is corrupt: not JSON/);
    await expect(readRun(store, "fraud", "run-20260102T030405Z-bad001")).rejects.toThrow(/does not describe run run-20260102T030405Z-bad001/);
  });

  it("refuses ids and model names that are not keys, naming the field and the fix", async () => {
    for (const bad of ["..", "", "a/b", "run 1", "x".repeat(129)]) {
      expect(() => checkRunId(bad), bad).toThrow(MlopsError);
    }
    expect(() => checkRunId("a/b")).toThrow(/^run: is not a run id; received "a\/b"\. Give an id as `mlops runs list <model>` prints it/);
    await expect(listRuns(store, "Bad Name")).rejects.toThrow(/model name: is not a valid model name/);
    await expect(writeRun(store, record({ runId: "../../escape" }))).rejects.toThrow(MlopsError);
  });
});
