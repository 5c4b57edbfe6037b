import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { materialize, materializeMemoryLimit, PARTITION_CHUNKS } from "../../../runtime/features/materialize.js";
import type { OnlineStore } from "../../../runtime/features/online/types.js";
import { readWatermark } from "../../../src/features/watermarks.js";
import type { FeatureStoreSpec } from "../../../src/spec/features.js";
import { openStore } from "../../../src/store/index.js";
import { ONLINE_KINDS, useOnline, writeCsv } from "./online/helpers.js";

const HEADER = ["customer_id", "event_timestamp", "created_at", "spend_7d", "txn_count_7d", "tier"];
const at = (iso: string) => new Date(iso);

async function readRow(store: OnlineStore, spec: FeatureStoreSpec, ids: string[]) {
  const [got] = await store.read([{ view: spec.views[0]!, features: ["spend_7d", "tier"], keys: ids }]);
  return ids.map((_, i) => ({ ts: got!.eventMicros[i]!, spend: got!.values[0]![i], tier: got!.values[1]![i] }));
}

const micros = (iso: string) => Date.parse(iso) * 1000;

describe.each(ONLINE_KINDS)("materialize into the %s store", (kind) => {
  const fx = useOnline(kind);
  const csv = () => join(fx().dir, "txn_stats.csv");

  it("writes the latest row per entity within [start, end], ties broken by the created time", async () => {
    const { spec, store } = fx();
    await writeCsv(csv(), HEADER, [
      [1, "2026-01-01T10:00:00Z", "2026-01-01T10:00:00Z", 1.5, 1, "bronze"],
      [1, "2026-01-01T11:00:00Z", "2026-01-01T11:00:00Z", 2.5, 2, "silver"],
      [1, "2026-01-01T11:00:00Z", "2026-01-01T11:30:00Z", 3.5, 3, "gold"], // same event time, created later: wins
      [1, "2026-01-01T13:00:00Z", "2026-01-01T13:00:00Z", 9.5, 9, "after-end"],
      [2, "2026-01-01T08:00:00Z", "2026-01-01T08:00:00Z", 7, 7, "before-start"],
      [3, "2026-01-01T12:00:00Z", "2026-01-01T12:00:00Z", "", 4, "end-inclusive"],
    ]);
    const [summary] = await materialize(spec, { start: at("2026-01-01T09:00:00Z"), end: at("2026-01-01T12:00:00Z"), now: at("2026-01-02T00:00:00Z"), store });
    expect(summary).toMatchObject({ view: "txn_stats", start: "2026-01-01T09:00:00.000Z", end: "2026-01-01T12:00:00.000Z", rowsRead: 2, rowsWritten: 2, rowsSkipped: 0, watermark: "2026-01-01T12:00:00.000Z" });
    expect(await readRow(store, spec, ["1", "2", "3"])).toEqual([
      { ts: micros("2026-01-01T11:00:00Z"), spend: "3.5", tier: '"gold"' },
      { ts: NaN, spend: undefined, tier: undefined },
      { ts: micros("2026-01-01T12:00:00Z"), spend: "null", tier: '"end-inclusive"' },
    ]);
  });

  it("never overwrites a newer value already in the store (a push after the window)", async () => {
    const { spec, store } = fx();
    await store.write(spec.views[0]!, [{ key: "1", eventMicros: micros("2026-01-01T12:30:00Z"), createdMicros: -1, values: ["100", "100", '"pushed"'] }]);
    await writeCsv(csv(), HEADER, [
      [1, "2026-01-01T11:00:00Z", "2026-01-01T11:00:00Z", 2.5, 2, "older"],
      [2, "2026-01-01T11:00:00Z", "2026-01-01T11:00:00Z", 4.5, 4, "fresh"],
    ]);
    const [summary] = await materialize(spec, { start: at("2026-01-01T00:00:00Z"), end: at("2026-01-01T12:00:00Z"), now: at("2026-01-02T00:00:00Z"), store });
    expect(summary).toMatchObject({ rowsRead: 2, rowsWritten: 1, rowsSkipped: 1 });
    expect((await readRow(store, spec, ["1", "2"])).map((r) => r.tier)).toEqual(['"pushed"', '"fresh"']);
  });

  it("fails when the end is in the future, writing nothing", async () => {
    const { spec, store } = fx();
    await writeCsv(csv(), HEADER, [[1, "2026-01-01T11:00:00Z", "2026-01-01T11:00:00Z", 2.5, 2, "x"]]);
    const run = materialize(spec, { start: at("2026-01-01T00:00:00Z"), end: at("2026-01-03T00:00:00Z"), now: at("2026-01-02T00:00:00Z"), store });
    await expect(run).rejects.toThrow(/--end: is in the future \(now is 2026-01-02T00:00:00.000Z\); received "2026-01-03T00:00:00.000Z"/);
    expect((await readRow(store, spec, ["1"]))[0]!.ts).toBeNaN();
    expect(await readWatermark(openStore(spec.registry), "txn_stats")).toBeUndefined();
  });

  it("continues from the watermark less the lateness window: a late row inside it is picked up, one older is not and is counted", async () => {
    const { spec, store } = fx();
    await writeCsv(csv(), HEADER, [[1, "2026-01-01T11:00:00Z", "2026-01-01T11:00:00Z", 1, 1, "first"]]);
    const first = await materialize(spec, { start: at("2026-01-01T00:00:00Z"), end: at("2026-01-01T12:00:00Z"), now: at("2026-01-01T12:00:00Z"), store });
    expect(first[0]).toMatchObject({ rowsWritten: 1, watermark: "2026-01-01T12:00:00.000Z" });

    // Rows that arrive after the first run, stamped before its end: 30 min late (inside the 1h lateness
    // window) and 2 h late (outside it). Plus an on-time row after the watermark.
    await appendFile(
      csv(),
      [
        "3,2026-01-01T11:30:00Z,2026-01-01T12:20:00Z,3,3,late-inside",
        "4,2026-01-01T10:00:00Z,2026-01-01T12:20:00Z,4,4,late-outside",
        "5,2026-01-01T12:10:00Z,2026-01-01T12:10:00Z,5,5,on-time",
        "",
      ].join("\n"),
    );
    const lines: string[] = [];
    const [second] = await materialize(spec, { incremental: true, now: at("2026-01-01T12:30:00Z"), store, progress: (l) => lines.push(l) });
    expect(second).toMatchObject({ start: "2026-01-01T11:00:00.000Z", end: "2026-01-01T12:30:00.000Z", watermark: "2026-01-01T12:30:00.000Z", lateRowsMissed: 1 });
    // Entity 1's row (11:00, already stored) is re-read inside the window and skipped as not newer.
    expect(second).toMatchObject({ rowsRead: 3, rowsWritten: 2, rowsSkipped: 1 });
    expect((await readRow(store, spec, ["1", "3", "4", "5"])).map((r) => r.tier)).toEqual(['"first"', '"late-inside"', undefined, '"on-time"']);
    expect(lines.join("\n")).toMatch(/1 row\(s\) with event times before 2026-01-01T11:00:00.000Z were created after the previous run and are NOT picked up/);
  });

  it("starts a first incremental run one TTL back from the end", async () => {
    const { spec, store } = fx();
    await writeCsv(csv(), HEADER, [
      [1, "2026-01-01T10:30:00Z", "2026-01-01T10:30:00Z", 1, 1, "stale"],
      [2, "2026-01-01T11:30:00Z", "2026-01-01T11:30:00Z", 2, 2, "fresh"],
    ]);
    const [s] = await materialize(spec, { incremental: true, end: at("2026-01-01T12:00:00Z"), now: at("2026-01-01T12:00:00Z"), store });
    expect(s).toMatchObject({ start: "2026-01-01T11:00:00.000Z", rowsWritten: 1 });
  });

  it("does not move the watermark back for a backfill of an older window", async () => {
    const { spec, store } = fx();
    await writeCsv(csv(), HEADER, [[1, "2026-01-01T11:00:00Z", "2026-01-01T11:00:00Z", 1, 1, "x"]]);
    await materialize(spec, { start: at("2026-01-01T00:00:00Z"), end: at("2026-01-01T12:00:00Z"), now: at("2026-01-02T00:00:00Z"), store });
    const [back] = await materialize(spec, { start: at("2025-12-31T00:00:00Z"), end: at("2026-01-01T06:00:00Z"), now: at("2026-01-02T00:00:00Z"), store });
    expect(back!.watermark).toBe("2026-01-01T12:00:00.000Z");
  });

  it("writes in chunks of materialization.chunkRows", async () => {
    const { specWith, store } = fx();
    const spec = specWith({ materialization: { chunkRows: 100 } });
    await writeCsv(csv(), HEADER, Array.from({ length: 350 }, (_, i) => [i, "2026-01-01T11:00:00Z", "2026-01-01T11:00:00Z", i, i, `t${i}`]));
    const sizes: number[] = [];
    const spy: OnlineStore = {
      kind: store.kind,
      healthy: true,
      write: (view, rows) => {
        sizes.push(rows.length);
        return store.write(view, rows);
      },
      read: (r) => store.read(r),
      close: () => store.close(),
    };
    const lines: string[] = [];
    const [s] = await materialize(spec, { start: at("2026-01-01T00:00:00Z"), end: at("2026-01-01T12:00:00Z"), now: at("2026-01-02T00:00:00Z"), store: spy, progress: (l) => lines.push(l) });
    expect(sizes).toEqual([100, 100, 100, 50]);
    expect(s!.rowsWritten).toBe(350);
    expect(lines.filter((l) => /rows read, \d+ written/.test(l))).toHaveLength(4);
  });

  it("splits a window of more than PARTITION_CHUNKS chunks into key-hash partitions, still the latest row per entity", async () => {
    const { specWith, store } = fx();
    const spec = specWith({ materialization: { chunkRows: 100 } });
    // 1,500 entities × 3 rows = 4,500 rows, more than 100 × PARTITION_CHUNKS: several partitions. Each
    // entity's rows are far apart in the file, its latest in the middle, and a tie broken by created time.
    const n = 1500;
    const rows: Array<Array<string | number>> = [];
    for (let i = 0; i < n; i++) rows.push([i, "2026-01-01T09:00:00Z", "2026-01-01T09:00:00Z", i, 1, "old"]);
    for (let i = 0; i < n; i++) rows.push([i, "2026-01-01T11:00:00Z", "2026-01-01T11:30:00Z", i + 0.5, 3, "newest"]);
    for (let i = 0; i < n; i++) rows.push([i, "2026-01-01T11:00:00Z", "2026-01-01T11:00:00Z", i, 2, "tie-lost"]);
    await writeCsv(csv(), HEADER, rows);
    expect(rows.length).toBeGreaterThan(100 * PARTITION_CHUNKS);
    const lines: string[] = [];
    const [s] = await materialize(spec, { start: at("2026-01-01T00:00:00Z"), end: at("2026-01-01T12:00:00Z"), now: at("2026-01-02T00:00:00Z"), store, progress: (l) => lines.push(l) });
    expect(lines.some((l) => /4500 rows in the window, in 3 key-hash partitions/.test(l))).toBe(true);
    expect(s).toMatchObject({ rowsRead: n, rowsWritten: n, rowsSkipped: 0 });
    const ids = Array.from({ length: n }, (_, i) => String(i));
    const got = await readRow(store, spec, ids);
    expect(got.filter((r, i) => r.tier !== '"newest"' || r.spend !== String(i + 0.5) || r.ts !== micros("2026-01-01T11:00:00Z"))).toEqual([]);
  });

  it("bounds DuckDB's memory by default to one partition's sort, unless MLOPS_DUCKDB_MEMORY_LIMIT says otherwise", () => {
    expect(materializeMemoryLimit(50_000, {})).toBe("256MB");
    expect(materializeMemoryLimit(100, {})).toBe("256MB");
    expect(materializeMemoryLimit(1_000_000, {})).toBe("4883MB");
    expect(materializeMemoryLimit(50_000, { MLOPS_DUCKDB_MEMORY_LIMIT: "1GB" })).toBe("1GB");
  });

  it("fails naming the file, row, column and value when a value does not fit its dtype", async () => {
    const { spec, store } = fx();
    await writeCsv(csv(), HEADER, [
      [1, "2026-01-01T11:00:00Z", "2026-01-01T11:00:00Z", 1, 1, "x"],
      [2, "2026-01-01T11:00:00Z", "2026-01-01T11:00:00Z", 2, "lots", "y"],
    ]);
    const run = materialize(spec, { start: at("2026-01-01T00:00:00Z"), end: at("2026-01-01T12:00:00Z"), now: at("2026-01-02T00:00:00Z"), store });
    await expect(run).rejects.toThrow(/txn_count_7d[\s\S]*lots/);
    expect((await readRow(store, spec, ["1"]))[0]!.ts).toBeNaN();
  });
});
