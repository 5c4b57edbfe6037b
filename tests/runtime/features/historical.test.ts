import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { featureColumns, historicalFeatures, type HistoricalOptions } from "../../../runtime/features/historical.js";
import { MAX_ENTITY_ROWS_PER_BUCKET } from "../../../runtime/features/historical-bucket.js";
import { MlopsError } from "../../../src/errors.js";
import { parseFeatureRefs, type FeatureStoreSpec } from "../../../src/spec/features.js";
import { csvToParquet, fraudSpec, readRows, writeCsv } from "../../helpers/feature-data.js";

/** What pandas merge_asof cannot check: created-timestamp tie-breaks, the "known at event time" cutoff, and the edges stated directly. */

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-hist-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const HEADER = ["customer_id", "event_timestamp", "created_at", "spend_7d", "txn_count_7d"];

/** Writes a source and an entity file, runs the join, returns the output rows. */
async function join1(
  source: ReadonlyArray<ReadonlyArray<unknown>>,
  entities: ReadonlyArray<ReadonlyArray<unknown>>,
  opts: Partial<HistoricalOptions> & { view?: Parameters<typeof fraudSpec>[2]; parquet?: boolean; noCreatedColumn?: boolean; expectJoin?: "bucket" | "asof" } = {},
): Promise<Record<string, unknown>[]> {
  const id = ++n;
  let src = join(dir, `src${id}.csv`);
  await writeCsv(src, HEADER, source);
  let ent = join(dir, `ent${id}.csv`);
  await writeCsv(ent, ["customer_id", "event_timestamp"], entities);
  if (opts.parquet) {
    await csvToParquet(src, `${src}.parquet`, { customer_id: "BIGINT", event_timestamp: "TIMESTAMPTZ", created_at: "TIMESTAMPTZ", spend_7d: "DOUBLE", txn_count_7d: "BIGINT" });
    await csvToParquet(ent, `${ent}.parquet`, { customer_id: "BIGINT", event_timestamp: "TIMESTAMPTZ" });
    src = `${src}.parquet`;
    ent = `${ent}.parquet`;
  }
  const view = opts.noCreatedColumn ? { ...opts.view, source: { uri: pathToFileURL(src).href, timestampField: "event_timestamp" } } : (opts.view ?? {});
  const spec: FeatureStoreSpec = fraudSpec(dir, src, view);
  // Both joins (the bucketed hash join the view's TTL allows, and the ASOF join) must give the same rows.
  const run = async (strategy: "auto" | "asof") => {
    const out = join(dir, `out${id}-${strategy}.parquet`);
    const result = await historicalFeatures({ spec, refs: parseFeatureRefs("txn_stats:spend_7d,txn_stats:txn_count_7d", spec), entities: ent, out, scratchDir: join(dir, "scratch"), ...opts, strategy });
    return { rows: await readRows(out), join: result.views[0]!.join };
  };
  const asof = await run("asof");
  const auto = await run("auto");
  expect(asof.join).toBe("asof");
  expect(auto.join).toBe(opts.expectJoin ?? (spec.views.find((v) => v.name === "txn_stats")!.ttl === undefined ? "asof" : "bucket"));
  expect(auto.rows).toEqual(asof.rows);
  return auto.rows;
}
const spend = (rows: Record<string, unknown>[]) => rows.map((r) => (r.spend_7d === null ? null : Number(r.spend_7d)));

describe("the point-in-time join", () => {
  it("includes a row exactly at t - ttl and excludes one a second older", async () => {
    const rows = await join1(
      [
        [1, "2024-01-01T00:00:00Z", "", 1, 1],
        [2, "2024-01-01T00:00:00Z", "", 2, 2],
      ],
      [
        [1, "2024-01-04T00:00:00Z"],
        [2, "2024-01-04T00:00:01Z"],
      ],
    );
    expect(spend(rows)).toEqual([1, null]);
  });

  it("uses a row whose event timestamp equals t, and never one after t", async () => {
    const rows = await join1(
      [
        [1, "2024-01-02T00:00:00Z", "", 1, 1],
        [1, "2024-01-02T00:00:01Z", "", 2, 2],
      ],
      [
        [1, "2024-01-02T00:00:00Z"],
        [1, "2024-01-01T23:59:59Z"],
      ],
    );
    expect(spend(rows)).toEqual([1, null]);
  });

  it("breaks ties between equal event timestamps by the latest created timestamp, whatever the file order", async () => {
    // Three copies of one event (feast #3360 had the wrong one win with three).
    const rows = await join1(
      [
        [1, "2024-01-01T00:00:00Z", "2024-01-01T02:00:00Z", 2, 2],
        [1, "2024-01-01T00:00:00Z", "2024-01-01T03:00:00Z", 3, 3],
        [1, "2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z", 1, 1],
      ],
      [[1, "2024-01-02T00:00:00Z"]],
    );
    expect(spend(rows)).toEqual([3]);
  });

  it("by default does not use rows created after t (a backfill does not leak into earlier training rows)", async () => {
    const source = [
      [1, "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", 1, 1],
      // A correction of the same event, written on Jan 5.
      [1, "2024-01-01T00:00:00Z", "2024-01-05T00:00:00Z", 10, 10],
      // Backfilled history for Dec 31, written on Jan 6: older event, newer write.
      [1, "2023-12-31T00:00:00Z", "2024-01-06T00:00:00Z", 99, 99],
      [1, "2024-01-02T00:00:00Z", "2024-01-02T00:00:00Z", 2, 2],
    ];
    const entities = [
      [1, "2024-01-01T12:00:00Z"],
      [1, "2024-01-03T00:00:00Z"],
      [1, "2024-01-07T00:00:00Z"],
      [1, "2023-12-31T12:00:00Z"],
    ];
    const view = { ttl: "30d" };
    expect(spend(await join1(source, entities, { view }))).toEqual([1, 2, 2, null]);
    expect(spend(await join1(source, entities, { view, allowLaterWrites: true }))).toEqual([10, 2, 2, 99]);
  });

  it("picks the latest event known at t even when later-written rows are older events", async () => {
    // Usable-from times are not in event order: the running best must not be lost.
    const source = [
      [1, "2024-01-03T00:00:00Z", "2024-01-03T00:00:00Z", 3, 3],
      [1, "2024-01-01T00:00:00Z", "2024-01-05T00:00:00Z", 1, 1],
      [1, "2024-01-04T00:00:00Z", "2024-01-08T00:00:00Z", 4, 4],
    ];
    const entities = [
      [1, "2024-01-06T00:00:00Z"],
      [1, "2024-01-09T00:00:00Z"],
      [1, "2024-01-02T00:00:00Z"],
    ];
    expect(spend(await join1(source, entities, { view: { ttl: "30d" } }))).toEqual([3, 4, null]);
  });

  it("applies the TTL to the winner under the cutoff: an older usable row is not used instead", async () => {
    const source = [
      [1, "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", 1, 1],
      [1, "2024-01-05T00:00:00Z", "2024-01-05T00:00:00Z", 5, 5],
    ];
    // t = Jan 9: Jan 5 is more than 3 days old, so nothing (Jan 1 is older still).
    expect(spend(await join1(source, [[1, "2024-01-09T00:00:00Z"], [1, "2024-01-08T00:00:00Z"]]))).toEqual([null, 5]);
  });

  it("treats a row without a created timestamp as written at its event time", async () => {
    const rows = await join1([[1, "2024-01-01T00:00:00Z", "", 1, 1]], [[1, "2024-01-01T00:00:00Z"]]);
    expect(spend(rows)).toEqual([1]);
  });

  it("takes the later row of the source for exact duplicates", async () => {
    const dup = [
      [1, "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", 1, 1],
      [1, "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", 2, 2],
    ];
    expect(spend(await join1(dup, [[1, "2024-01-02T00:00:00Z"]]))).toEqual([2]);
    expect(spend(await join1(dup, [[1, "2024-01-02T00:00:00Z"]], { allowLaterWrites: true }))).toEqual([2]);
  });

  it("without a created column, takes the later source row among equal event timestamps, and only where a row matched them", async () => {
    // Entity 1 matches a duplicated (key, time) pair; entity 2's duplicates are never matched (its row is
    // later, and unique); entity 3 has none. CSV and Parquet alike, answers as the later row of the file.
    const src = [
      [1, "2024-01-01T00:00:00Z", "", 1, 1],
      [1, "2024-01-01T00:00:00Z", "", 2, 2],
      [2, "2024-01-01T00:00:00Z", "", 3, 3],
      [2, "2024-01-01T00:00:00Z", "", 4, 4],
      [2, "2024-01-01T06:00:00Z", "", 5, 5],
      [3, "2024-01-01T00:00:00Z", "", 6, 6],
      [1, "2024-01-01T00:00:00Z", "", 7, 7],
    ];
    const ents = [
      [1, "2024-01-02T00:00:00Z"],
      [2, "2024-01-02T00:00:00Z"],
      [3, "2024-01-02T00:00:00Z"],
      [2, "2024-01-01T03:00:00Z"],
    ];
    for (const parquet of [false, true]) {
      const lines: string[] = [];
      const rows = await join1(src, ents, { parquet, noCreatedColumn: true, progress: (l) => lines.push(l) });
      expect(spend(rows)).toEqual([7, 5, 6, 4]);
      expect(lines.filter((l) => /ordering them by source position/.test(l))).toHaveLength(1);
      // Without a matched duplicate the plain-timestamp join stands.
      const plain: string[] = [];
      expect(spend(await join1(src, [[3, "2024-01-02T00:00:00Z"], [2, "2024-01-02T00:00:00Z"]], { parquet, noCreatedColumn: true, progress: (l) => plain.push(l) }))).toEqual([6, 5]);
      expect(plain.filter((l) => /ordering them by source position/.test(l))).toEqual([]);
    }
  });

  it("takes the ASOF join when one key has too many entity rows within a TTL, with the same answers", async () => {
    // One customer sampled every minute: more rows in two adjacent TTL buckets than the bucketed join takes.
    const ents = Array.from({ length: MAX_ENTITY_ROWS_PER_BUCKET + 1 }, (_, k) => [1, `2024-01-02T00:${String(k).padStart(2, "0")}:00Z`]);
    const src = [
      [1, "2024-01-01T00:00:00Z", "", 1, 1],
      [1, "2024-01-02T00:10:00Z", "", 2, 2],
    ];
    for (const parquet of [false, true]) {
      expect(spend(await join1(src, ents, { parquet, expectJoin: "asof" }))).toEqual(ents.map((_, k) => (k < 10 ? 1 : 2)));
    }
    // One row fewer stays with the bucketed join.
    expect(spend(await join1(src, ents.slice(1), { expectJoin: "bucket" }))).toEqual(ents.slice(1).map((_, k) => (k + 1 < 10 ? 1 : 2)));
  });

  it("with a TTL shorter than the gaps, matches only within it on either side of a bucket edge", async () => {
    // ttl 1h: a row 59 minutes before t matches across a bucket boundary; one 61 minutes before does not.
    const rows = await join1(
      [
        [1, "2024-01-01T00:30:00Z", "", 1, 1],
        [2, "2024-01-01T00:30:00Z", "", 2, 2],
        [3, "2024-01-01T00:00:00Z", "", 3, 3],
      ],
      [
        [1, "2024-01-01T01:29:00Z"],
        [2, "2024-01-01T01:31:00Z"],
        [3, "2024-01-01T01:00:00Z"],
        [3, "2024-01-01T00:00:00Z"],
      ],
      { view: { ttl: "1h" }, parquet: true },
    );
    expect(spend(rows)).toEqual([1, null, 3, 3]);
  });

  it("keeps duplicated entity rows and rows without history, in input order", async () => {
    const rows = await join1(
      [[1, "2024-01-01T00:00:00Z", "", 1, 1]],
      [
        [7, "2024-01-02T00:00:00Z"],
        [1, "2024-01-02T00:00:00Z"],
        [1, "2024-01-02T00:00:00Z"],
        [7, "2024-01-02T00:00:00Z"],
        [1, "2024-01-02T00:00:00Z"],
      ],
    );
    expect(rows.map((r) => Number(r.customer_id))).toEqual([7, 1, 1, 7, 1]);
    expect(spend(rows)).toEqual([null, 1, 1, null, 1]);
  });

  it("honours ISO 8601 offsets: 02:00+02:00 is midnight UTC", async () => {
    const rows = await join1([[1, "2024-01-01T02:00:00+02:00", "", 1, 1]], [[1, "2024-01-01T00:00:00Z"], [1, "2023-12-31T23:59:59Z"]]);
    expect(spend(rows)).toEqual([1, null]);
    expect(rows[0]!.event_timestamp).toBe("2024-01-01 00:00:00+00");
  });

  it("reads Parquet sources and entity files the same way", async () => {
    const source = [
      [1, "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", 1, 1],
      [1, "2024-01-01T00:00:00Z", "2024-01-05T00:00:00Z", 10, 10],
      [2, "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", 2, 2],
    ];
    const entities = [
      [2, "2024-01-04T00:00:01Z"],
      [1, "2024-01-02T00:00:00Z"],
      [1, "2024-01-06T00:00:00Z"],
    ];
    expect(spend(await join1(source, entities, { parquet: true, view: { ttl: "30d" } }))).toEqual([2, 1, 10]);
  });

  it("builds the hash table from the smaller side, the view's rows or the entity rows, with the same answers", async () => {
    // A Parquet view's row count comes from its metadata: 3,000 rows against 400 entity rows (800 entries)
    // puts the entity rows in the hash table; against 4,000 entity rows (8,000 entries), the view's rows.
    const source = Array.from({ length: 3000 }, (_, i) => [i % 40, new Date(Date.UTC(2024, 0, 1) + i * 600_000).toISOString(), new Date(Date.UTC(2024, 0, 1) + i * 600_000 + (i % 3) * 1000).toISOString(), i, i]);
    for (const [count, side] of [
      [400, "the entity rows"],
      [4000, "the view's rows"],
    ] as const) {
      const entities = Array.from({ length: count }, (_, i) => [(i * 7919) % 45, new Date(Date.UTC(2024, 0, 1) + ((i * 104729) % 3100) * 600_000 + (i % 2) * 300_000).toISOString()]);
      const lines: string[] = [];
      const rows = await join1(source, entities, { parquet: true, view: { ttl: "1h" }, progress: (l) => lines.push(l) });
      expect(lines.filter((l) => l.includes(`(hash table: ${side})`))).toHaveLength(1);
      expect(rows).toHaveLength(count);
      for (const i of [0, 1, count - 1]) {
        const [k, t] = entities[i] as [number, string];
        const best = source.filter((r) => r[0] === k && Date.parse(r[1] as string) <= Date.parse(t) && Date.parse(r[1] as string) >= Date.parse(t) - 3_600_000 && Date.parse(r[2] as string) <= Date.parse(t)).pop();
        expect(spend([rows[i]!])).toEqual([best ? (best[3] as number) : null]);
      }
    }
  });

  it("keeps a large input's order and row count", async () => {
    const source = Array.from({ length: 2000 }, (_, i) => [i % 100, new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString(), "", i, i]);
    const entities = Array.from({ length: 60_000 }, (_, i) => [(i * 7919) % 120, new Date(Date.UTC(2024, 0, 1) + ((i * 104729) % 2200) * 60_000).toISOString()]);
    const rows = await join1(source, entities, { view: { ttl: undefined } });
    expect(rows).toHaveLength(60_000);
    expect(rows.every((r, i) => Number(r.customer_id) === entities[i]![0])).toBe(true);
    // Check a sample against a direct computation: the last source row of the key at or before t.
    for (const i of [0, 1, 999, 31_337, 59_999]) {
      const [k, t] = entities[i] as [number, string];
      const best = source.filter((s) => s[0] === k && Date.parse(s[1] as string) <= Date.parse(t)).pop();
      expect(spend([rows[i]!])).toEqual([best ? (best[3] as number) : null]);
    }
  });
});

describe("a Parquet entity file", () => {
  // Its rows are numbered as they are read, in parallel across row groups: the answer must still come
  // back in file order, and a column of the reader's own name (file_row_number) must survive.
  it("keeps file order across many row groups, and a column named file_row_number", async () => {
    const src = join(dir, "pq-order-src.csv");
    await writeCsv(src, HEADER, Array.from({ length: 500 }, (_, i) => [i % 50, new Date(Date.UTC(2024, 0, 1) + i * 3_600_000).toISOString(), "", i, i]));
    const entities = Array.from({ length: 40_000 }, (_, i) => [(i * 7919) % 60, new Date(Date.UTC(2024, 0, 1) + ((i * 104729) % 600) * 3_600_000).toISOString(), 40_000 - i]);
    const csv = join(dir, "pq-order-ent.csv");
    await writeCsv(csv, ["customer_id", "event_timestamp", "file_row_number"], entities);
    const ent = join(dir, "pq-order-ent.parquet");
    await csvToParquet(csv, ent, { customer_id: "BIGINT", event_timestamp: "TIMESTAMPTZ", file_row_number: "BIGINT" }, 2048);
    const plain = join(dir, "pq-order-ent-plain.parquet");
    await csvToParquet(csv, plain, { customer_id: "BIGINT", event_timestamp: "TIMESTAMPTZ" }, 2048);
    const spec = fraudSpec(dir, src, { ttl: "2d" });
    const refs = parseFeatureRefs("txn_stats:spend_7d", spec);
    for (const file of [ent, plain]) {
      const out = join(dir, `pq-order-out-${file === ent ? "named" : "plain"}.parquet`);
      await historicalFeatures({ spec, refs, entities: file, out, scratchDir: join(dir, "scratch") });
      const rows = await readRows(out);
      expect(rows).toHaveLength(entities.length);
      expect(rows.every((r, i) => Number(r.customer_id) === entities[i]![0] && Date.parse(String(r.event_timestamp)) === Date.parse(entities[i]![1] as string))).toBe(true);
      if (file === ent) expect(rows.every((r, i) => Number(r.file_row_number) === entities[i]![2])).toBe(true);
      else expect(Object.keys(rows[0]!)).toEqual(["customer_id", "event_timestamp", "spend_7d"]);
    }
  });
});

describe("the entity file and the feature columns", () => {
  it("fails naming a missing join key", async () => {
    const src = join(dir, "k.csv");
    await writeCsv(src, HEADER, [[1, "2024-01-01T00:00:00Z", "", 1, 1]]);
    const ent = join(dir, "k-ent.csv");
    await writeCsv(ent, ["user_id", "event_timestamp"], [[1, "2024-01-02T00:00:00Z"]]);
    const spec = fraudSpec(dir, src);
    const run = historicalFeatures({ spec, refs: parseFeatureRefs("txn_stats:spend_7d", spec), entities: ent, out: join(dir, "k.parquet"), scratchDir: dir });
    await expect(run).rejects.toThrow(MlopsError);
    await expect(run).rejects.toThrow(/--entities .*k-ent\.csv: has no column "customer_id"; received \["user_id","event_timestamp"\]/);
  });

  it("fails naming a missing event_timestamp, and a bad one with its line", async () => {
    const src = join(dir, "t.csv");
    await writeCsv(src, HEADER, [[1, "2024-01-01T00:00:00Z", "", 1, 1]]);
    const spec = fraudSpec(dir, src);
    const refs = parseFeatureRefs("txn_stats:spend_7d", spec);
    const noTs = join(dir, "t-ent.csv");
    await writeCsv(noTs, ["customer_id", "ts"], [[1, "2024-01-02T00:00:00Z"]]);
    await expect(historicalFeatures({ spec, refs, entities: noTs, out: join(dir, "t.parquet"), scratchDir: dir })).rejects.toThrow(/has no column "event_timestamp"/);
    const badTs = join(dir, "t-ent2.csv");
    await writeCsv(badTs, ["customer_id", "event_timestamp"], [[1, "2024-01-02T00:00:00Z"], [1, "yesterday"]]);
    await expect(historicalFeatures({ spec, refs, entities: badTs, out: join(dir, "t.parquet"), scratchDir: dir })).rejects.toThrow(/t-ent2\.csv line 3 \(data row 2\), column "event_timestamp": is not a timestamp .*received "yesterday"/);
  });

  it("refuses two features of one name without full feature names, naming both", () => {
    const refs = [
      { view: "a", feature: "score" },
      { view: "b", feature: "score" },
    ];
    expect(() => featureColumns(refs, false)).toThrow(/both be column "score"; received \["a:score","b:score"\]\. Pass --full-feature-names/);
    expect(featureColumns(refs, true).map((c) => c.column)).toEqual(["a__score", "b__score"]);
  });

  it("refuses a feature named like an input column", () => {
    expect(() => featureColumns([{ view: "a", feature: "label" }], false, ["customer_id", "label"])).toThrow(/entity file already has/);
  });
});
