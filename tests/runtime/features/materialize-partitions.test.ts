// Materialization of a window of several key-hash partitions: each partition is its own query over the
// source (nothing of the whole window is stored in DuckDB), and the answers are exactly those of the same
// window run as one partition, over both online stores.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { materialize, PARTITION_CHUNKS, type PartitionState } from "../../../runtime/features/materialize.js";
import type { OnlineStore } from "../../../runtime/features/online/types.js";
import type { FeatureStoreSpec, FeatureStoreSpecInput } from "../../../src/spec/features.js";
import { ONLINE_KINDS, useOnline, writeCsv, type OnlineFixture } from "./online/helpers.js";

const at = (iso: string) => new Date(iso);
const WINDOW = { start: at("2026-01-01T06:00:00Z"), end: at("2026-01-01T12:00:00Z"), now: at("2026-01-02T00:00:00Z") };

/** Everything the store holds for the view's first entity list: event time and every feature, per key. */
async function dump(store: OnlineStore, spec: FeatureStoreSpec, keys: string[]) {
  const view = spec.views[0]!;
  const [got] = await store.read([{ view, features: view.features.map((f) => f.name), keys }]);
  return keys.map((k, i) => [k, got!.eventMicros[i], ...got!.values.map((col) => col[i])]);
}

/**
 * A second store location (and registry) beside the fixture's, for the same window run another way.
 */
function beside(fx: OnlineFixture, overrides: Partial<FeatureStoreSpecInput>): FeatureStoreSpec {
  const online: FeatureStoreSpecInput["online"] =
    fx.kind === "redis" ? { redis: { ...(fx.online as { redis: { url: string; keyPrefix: string } }).redis, keyPrefix: `${(fx.online as { redis: { keyPrefix: string } }).redis.keyPrefix}one:` } } : { embedded: { path: join(fx.dir, "online-one") } };
  return fx.specWith({ ...overrides, online, registry: `file://${join(fx.dir, "registry-one")}` });
}

/**
 * Rows for `n` entities, in an order that spreads each entity's rows across the file: one before the
 * window, two at the same latest event time (the later created wins), an older one, one after the window;
 * every 7th entity has nothing in the window; plus rows with no key (never materialized).
 */
function rows(n: number): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [];
  for (let i = 0; i < n; i++) out.push([i, "2026-01-01T05:00:00Z", "2026-01-01T05:00:00Z", i, 0, "before-start"]);
  for (let i = 0; i < n; i++) if (i % 7 !== 0) out.push([i, `2026-01-01T${String(7 + (i % 5)).padStart(2, "0")}:00:00Z`, "2026-01-01T12:30:00Z", i + 0.25, i * 3, `newest-${i}`]);
  for (let i = 0; i < n; i++) if (i % 7 !== 0) out.push([i, "2026-01-01T06:00:00Z", "2026-01-01T06:00:00Z", i, 1, "older"]);
  for (let i = 0; i < n; i++) if (i % 7 !== 0) out.push([i, `2026-01-01T${String(7 + (i % 5)).padStart(2, "0")}:00:00Z`, "2026-01-01T12:00:00Z", i, 2, "tie-lost"]);
  for (let i = 0; i < n; i++) out.push([i, "2026-01-01T13:00:00Z", "2026-01-01T13:00:00Z", i, 9, "after-end"]);
  for (let i = 0; i < 30; i++) out.push(["", "2026-01-01T08:00:00Z", "2026-01-01T08:00:00Z", i, 4, "no-key"]);
  return out;
}

const HEADER = ["customer_id", "event_timestamp", "created_at", "spend_7d", "txn_count_7d", "tier"];

describe.each(ONLINE_KINDS)("materialize in key-hash partitions, %s store", (kind) => {
  const fx = useOnline(kind);

  it("gives exactly the answers of one partition, with no table of the window in DuckDB at any partition's end", async () => {
    const f = fx();
    const n = 3500;
    const data = rows(n);
    await writeCsv(join(f.dir, "txn_stats.csv"), HEADER, data);
    const chunkRows = 100;
    const inWindow = data.filter((r) => r[0] !== "" && r[1] !== "2026-01-01T05:00:00Z" && r[1] !== "2026-01-01T13:00:00Z").length;
    const partitions = Math.ceil(inWindow / (chunkRows * PARTITION_CHUNKS));
    expect(partitions).toBeGreaterThanOrEqual(4);

    const split = f.specWith({ materialization: { chunkRows } });
    const states: PartitionState[] = [];
    const lines: string[] = [];
    const [many] = await materialize(split, { ...WINDOW, store: f.store, progress: (l) => lines.push(l), onPartition: (s) => states.push(s) });

    const whole = beside(f, { materialization: { chunkRows: 100_000 } });
    const wholeStore = await f.reopen(whole);
    const oneStates: PartitionState[] = [];
    const [one] = await materialize(whole, { ...WINDOW, store: wholeStore, onPartition: (s) => oneStates.push(s) });
    expect(oneStates).toEqual([]);

    const withRows = Array.from({ length: n }, (_, i) => i).filter((i) => i % 7 !== 0).length;
    for (const s of [many!, one!]) expect(s).toMatchObject({ rowsRead: withRows, rowsWritten: withRows, rowsSkipped: 0, watermark: "2026-01-01T12:00:00.000Z" });

    // Every partition ran as its own query: called once each, in order, counts rising to the total, and
    // DuckDB holding no table (the committed code kept the whole window in one) and little memory.
    expect(states.map((s) => [s.partition, s.partitions])).toEqual(Array.from({ length: partitions }, (_, p) => [p, partitions]));
    expect(states.flatMap((s) => s.tables)).toEqual([]);
    expect(states.at(-1)).toMatchObject({ read: withRows, written: withRows });
    expect(states.map((s) => s.read)).toEqual([...states.map((s) => s.read)].sort((a, b) => a - b));
    expect(lines).toContain(`materialize txn_stats: ${inWindow} rows in the window, in ${partitions} key-hash partitions`);
    expect(lines.filter((l) => /: partition \d+ of \d+ done/.test(l))).toHaveLength(partitions);

    const keys = Array.from({ length: n + 5 }, (_, i) => String(i));
    const got = await dump(f.store, split, keys);
    expect(got).toEqual(await dump(wholeStore, whole, keys));
    // And the answers themselves: the newest row (ties to the later created one), nothing for entities
    // whose rows all fall outside the window.
    const newest = got.filter((r) => r[4] === `"newest-${r[0]}"`).length;
    expect(newest).toBe(withRows);
    expect(got.filter((r) => Number(r[0]) % 7 === 0).every((r) => Number.isNaN(r[1]) && r[2] === undefined)).toBe(true);
  });

  it("partitions a composite key (int and string) without splitting any entity", async () => {
    const f = fx();
    const spec = f.specWith({
      entities: [
        { name: "customer", joinKeys: ["customer_id"] },
        { name: "merchant", joinKeys: ["merchant"], valueType: "string" },
      ],
      materialization: { chunkRows: 100 },
      views: [
        {
          name: "txn_stats",
          entities: ["customer", "merchant"],
          source: { uri: `file://${join(f.dir, "pairs.csv")}`, timestampField: "event_timestamp", createdTimestampField: "created_at" },
          features: [{ name: "amount", dtype: "float64" }],
          online: true,
        },
      ],
    });
    const pairs: Array<[number, string]> = [];
    for (let c = 0; c < 700; c++) for (const m of ["a", "b,c", 'q"x']) pairs.push([c, m]);
    const csvField = (s: string) => `"${s.replace(/"/g, '""')}"`;
    const data: Array<Array<string | number>> = [];
    for (const [c, m] of pairs) data.push([c, csvField(m), "2026-01-01T08:00:00Z", "2026-01-01T08:00:00Z", c + 0.5]);
    for (const [c, m] of pairs) data.push([c, csvField(m), "2026-01-01T09:00:00Z", "2026-01-01T09:00:00Z", c + 0.75]);
    await writeCsv(join(f.dir, "pairs.csv"), ["customer_id", "merchant", "event_timestamp", "created_at", "amount"], data);
    const states: PartitionState[] = [];
    const [s] = await materialize(spec, { ...WINDOW, store: f.store, onPartition: (st) => states.push(st) });
    expect(states).toHaveLength(Math.ceil(data.length / (100 * PARTITION_CHUNKS)));
    expect(s).toMatchObject({ rowsRead: pairs.length, rowsWritten: pairs.length });
    const keys = pairs.map(([c, m]) => `${c},${JSON.stringify(m)}`);
    const [got] = await f.store.read([{ view: spec.views[0]!, features: ["amount"], keys }]);
    expect(got!.values[0]).toEqual(pairs.map(([c]) => String(c + 0.75)));
  });
});
