import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { historicalFeatures } from "../../../runtime/features/historical.js";
import { parseFeatureRefs, parseFeatureStoreSpec, type FeatureStoreSpec } from "../../../src/spec/features.js";
import { readRows, rng, writeCsv } from "../../helpers/feature-data.js";

/**
 * The point-in-time join against an independent reference: pandas merge_asof (direction backward, exact
 * matches allowed, tolerance = TTL, by join key), run by /usr/bin/python3 on the same generated files.
 * The data has exact-timestamp matches, rows exactly at t - ttl and one second older, keys with no
 * history, two views on two entities (int64 and string keys), and duplicated entity rows.
 */

const T0 = Date.parse("2024-03-01T00:00:00Z");
const TTL_S = 7200;
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

const REFERENCE = String.raw`
import json, sys
import pandas as pd
d = sys.argv[1]
ent = pd.read_csv(f"{d}/entities.csv", dtype={"merchant_id": str})
ent["event_timestamp"] = pd.to_datetime(ent["event_timestamp"], utc=True)
ent["__row"] = range(len(ent))
txn = pd.read_csv(f"{d}/txn.csv")
txn["event_timestamp"] = pd.to_datetime(txn["event_timestamp"], utc=True)
mer = pd.read_csv(f"{d}/merchants.csv", dtype={"merchant_id": str, "tier": str})
mer["event_timestamp"] = pd.to_datetime(mer["event_timestamp"], utc=True)
left = ent.sort_values("event_timestamp", kind="stable")
a = pd.merge_asof(left, txn.rename(columns={"event_timestamp": "__ts_a"}).sort_values("__ts_a"), left_on="event_timestamp", right_on="__ts_a",
                  by="customer_id", direction="backward", allow_exact_matches=True, tolerance=pd.Timedelta(seconds=${TTL_S}))
b = pd.merge_asof(a.sort_values("event_timestamp", kind="stable"), mer.rename(columns={"event_timestamp": "__ts_b"}).sort_values("__ts_b"), left_on="event_timestamp", right_on="__ts_b",
                  by="merchant_id", direction="backward", allow_exact_matches=True)
b = b.sort_values("__row")
def val(v):
    return None if pd.isna(v) else (v.item() if hasattr(v, "item") else v)
for _, r in b.iterrows():
    print(json.dumps([val(r["customer_id"]), r["merchant_id"], val(r["spend_7d"]), val(r["txn_count_7d"]), val(r["risk"]), val(r["tier"]), val(r["tier_rank"]),
                      val(r["__ts_a"]) is not None and r["__ts_a"] == r["event_timestamp"], val(r["__ts_a"]) is not None and (r["event_timestamp"] - r["__ts_a"]).total_seconds() == ${TTL_S}]))
`;

let dir: string;
let spec: FeatureStoreSpec;
let entityCount = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-pit-"));
  const rand = rng(20240301);
  const minute = (m: number) => T0 + m * 60_000;
  // txn_stats: customers 1..40 (some with no rows at all), unique minutes per customer over two days.
  const txn: Array<[number, string, number, number]> = [];
  for (let k = 1; k <= 40; k++) {
    const n = k % 9 === 0 ? 0 : Math.floor(rand() * 30);
    const minutes = new Set<number>();
    while (minutes.size < n) minutes.add(Math.floor(rand() * 2880));
    for (const m of minutes) txn.push([k, iso(minute(m)), Math.round(rand() * 100000) / 100, Math.floor(rand() * 50)]);
  }
  // merchant_profile: string keys m01..m10, no TTL.
  const merchants: Array<[string, string, number, string, number]> = [];
  for (let k = 1; k <= 10; k++) {
    const minutes = new Set<number>();
    const n = 1 + Math.floor(rand() * 8);
    while (minutes.size < n) minutes.add(Math.floor(rand() * 2880));
    for (const m of minutes) merchants.push([`m${String(k).padStart(2, "0")}`, iso(minute(m)), Math.round(rand() * 1000) / 1000, ["gold", "silver", "bronze"][Math.floor(rand() * 3)]!, Math.floor(rand() * 5)]);
  }
  // Entity rows: on the minute grid (exact matches are common) or between; customers 41..45 and
  // merchants m11, m12 have no history; then TTL edges and duplicates.
  const entities: Array<[number, string, string, number]> = [];
  for (let i = 0; i < 700; i++) {
    const k = 1 + Math.floor(rand() * 45);
    const m = `m${String(1 + Math.floor(rand() * 12)).padStart(2, "0")}`;
    const t = minute(Math.floor(rand() * 2960)) + (rand() < 0.6 ? 0 : Math.floor(rand() * 60) * 1000);
    entities.push([k, m, iso(t), i % 2]);
  }
  for (let i = 0; i < 40; i++) {
    const [k, e] = txn[Math.floor(rand() * txn.length)]!;
    const m = `m${String(1 + Math.floor(rand() * 12)).padStart(2, "0")}`;
    const base = Date.parse(e);
    for (const dt of [0, TTL_S * 1000, TTL_S * 1000 + 1000]) entities.splice(Math.floor(rand() * entities.length), 0, [k, m, iso(base + dt), 1]);
  }
  for (let i = 0; i < 30; i++) entities.splice(Math.floor(rand() * entities.length), 0, [...entities[Math.floor(rand() * entities.length)]!]);
  entityCount = entities.length;
  await writeCsv(join(dir, "txn.csv"), ["customer_id", "event_timestamp", "spend_7d", "txn_count_7d"], txn);
  await writeCsv(join(dir, "merchants.csv"), ["merchant_id", "event_timestamp", "risk", "tier", "tier_rank"], merchants);
  await writeCsv(join(dir, "entities.csv"), ["customer_id", "merchant_id", "event_timestamp", "label"], entities);
  await writeFile(join(dir, "reference.py"), REFERENCE);
  spec = parseFeatureStoreSpec({
    name: "pit",
    registry: pathToFileURL(join(dir, "registry")).href,
    entities: [
      { name: "customer", joinKeys: ["customer_id"] },
      { name: "merchant", joinKeys: ["merchant_id"], valueType: "string" },
    ],
    views: [
      { name: "txn_stats", entities: ["customer"], source: { uri: pathToFileURL(join(dir, "txn.csv")).href }, ttl: `${TTL_S / 3600}h`, features: [{ name: "spend_7d", dtype: "float64" }, { name: "txn_count_7d", dtype: "int64" }] },
      { name: "merchant_profile", entities: ["merchant"], source: { uri: pathToFileURL(join(dir, "merchants.csv")).href }, features: [{ name: "risk", dtype: "float64" }, { name: "tier", dtype: "string" }, { name: "tier_rank", dtype: "int32" }] },
    ],
  });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

type Ref = [number, string, number | null, number | null, number | null, string | null, number | null, boolean, boolean];

async function reference(): Promise<Ref[]> {
  const r = await execa("/usr/bin/python3", [join(dir, "reference.py"), dir], { reject: false });
  expect(r.stderr).toBe("");
  return r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Ref);
}

describe("historical features against pandas merge_asof", () => {
  it.each(["auto", "asof"] as const)("gives the reference's value for every entity row, one output row per input row, in input order (%s join)", async (strategy) => {
    const out = join(dir, `training-${strategy}.csv`);
    const refs = parseFeatureRefs("txn_stats:spend_7d,txn_stats:txn_count_7d,merchant_profile:risk,merchant_profile:tier,merchant_profile:tier_rank", spec);
    const result = await historicalFeatures({ spec, refs, entities: join(dir, "entities.csv"), out, scratchDir: join(dir, "scratch"), strategy });
    // Views with a TTL take the bucketed hash join unless told otherwise.
    expect(result.views.map((v) => [v.view, v.join])).toEqual(
      result.views.map((v) => [v.view, strategy === "auto" && spec.views.find((x) => x.name === v.view)!.ttl !== undefined ? "bucket" : "asof"]),
    );
    const [ours, ref] = await Promise.all([readRows(out), reference()]);
    expect(result.rows).toBe(entityCount);
    expect(ours).toHaveLength(entityCount);
    expect(ref).toHaveLength(entityCount);
    expect(Object.keys(ours[0]!)).toEqual(["customer_id", "merchant_id", "event_timestamp", "label", "spend_7d", "txn_count_7d", "risk", "tier", "tier_rank"]);
    const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
    const mismatches = ours.flatMap((row, i) => {
      const r = ref[i]!;
      const got = [num(row.customer_id), row.merchant_id, num(row.spend_7d), num(row.txn_count_7d), num(row.risk), row.tier ?? null, num(row.tier_rank)];
      return JSON.stringify(got) === JSON.stringify(r.slice(0, 7)) ? [] : [{ row: i + 1, ours: got, reference: r.slice(0, 7) }];
    });
    expect(mismatches.slice(0, 5)).toEqual([]);
    // The data exercises what it claims to: exact matches, rows exactly at the TTL edge, rows with no value.
    expect(ref.filter((r) => r[7]).length).toBeGreaterThan(20);
    expect(ref.filter((r) => r[8]).length).toBeGreaterThan(5);
    expect(ref.filter((r) => r[2] === null && r[0] <= 40).length).toBeGreaterThan(20);
    expect(ref.filter((r) => r[0] > 40).every((r) => r[2] === null)).toBe(true);
    expect(ref.filter((r) => r[1] === "m11" || r[1] === "m12").every((r) => r[4] === null)).toBe(true);
  });

  it("names the columns view__feature with fullFeatureNames, same values", async () => {
    const out = join(dir, "full.parquet");
    const refs = parseFeatureRefs("merchant_profile:tier,txn_stats:spend_7d", spec);
    await historicalFeatures({ spec, refs, entities: join(dir, "entities.csv"), out, fullFeatureNames: true, scratchDir: join(dir, "scratch") });
    const [ours, ref] = await Promise.all([readRows(out), reference()]);
    expect(Object.keys(ours[0]!).slice(-2)).toEqual(["merchant_profile__tier", "txn_stats__spend_7d"]);
    expect(ours.map((r) => [r.merchant_profile__tier ?? null, r.txn_stats__spend_7d === null ? null : Number(r.txn_stats__spend_7d)])).toEqual(ref.map((r) => [r[5], r[2]]));
  });
});
