import type { DuckDBConnection } from "@duckdb/node-api";
import { ENTITY_TABLE } from "./entities.js";
import { quoteString } from "./source.js";

/**
 * The point-in-time join of a view with a TTL, without sorting the view (`mlops features historical`).
 *
 * A view row can only serve an entity row at t if its event time e lies in [t - ttl, t]. Cut time into
 * buckets one TTL wide: such an e falls in t's bucket or the one before. So each entity row is listed
 * under both buckets, and the view rows are hash-joined to that list on (join keys, bucket): every
 * candidate pair comes out, the exact window is checked on the pair, and a hash aggregate keeps, per
 * entity row, the best row by (event, created, source position). That is two hash passes over the view,
 * where the ASOF join sorts it (and the entity rows) whole: the view, usually the big side, is only
 * streamed.
 *
 * The candidate pairs number at most (view rows) × 2 × (the most entity rows one key has in one bucket),
 * so the join is used only when that count is small ({@link MAX_ENTITY_ROWS_PER_BUCKET}); dense
 * entity files (one key sampled many times within a TTL) take the ASOF join instead.
 *
 * The features travel through the join with the keys (fetching the winners' features afterwards by source
 * position, in a second scan, measured the same on the 10M-row benchmark view, and needs stable positions).
 *
 * Semantics are those of the ASOF paths in historical.ts: latest event <= t, >= t - ttl (inclusive), ties
 * by the created timestamp (a missing one counts as the event time), then by the later source row; with
 * the cutoff only rows created at or before t. The window check before the aggregate equals the TTL check
 * on the winner after it: if the latest usable row is older than t - ttl, every usable row is.
 */

// Orders rows by (event, then created or source position) in one HUGEINT: the event time's microseconds
// shifted to be non-negative, then 64 bits of tie-break. A join or aggregate then compares one scalar,
// much cheaper than a struct, and the pick among equal timestamps is no longer arbitrary.
const SHIFT = "18446744073709551616";
export const eventBits = (ts: string) => `(CAST(epoch_us(${ts}) AS HUGEINT) + 4611686018427387904) * ${SHIFT}`;
export const createdBits = (ts: string) => `(CAST(epoch_us(${ts}) AS HUGEINT) + 9223372036854775808)`;

/** Above this many entity rows of one key in one bucket, the ASOF join is used. */
export const MAX_ENTITY_ROWS_PER_BUCKET = 16;

export interface BucketJoin {
  /** The view's index: names the output table `__mlops_o<index>`. */
  readonly index: number;
  /** Quoted join key columns. */
  readonly keys: readonly string[];
  /** The view's source SELECT (keys, `__event_ts`, `__created_ts`, features by name, `__seq`), pruned to the window. */
  readonly source: string;
  /** The condition a source row must meet to be joined (keys and event time present). */
  readonly usable: string;
  /** Quoted feature columns, in output order (`__f0`, `__f1`, …). */
  readonly features: readonly string[];
  readonly ttlSeconds: number;
  /** The window's start: every source row's event time is at or after it, and so is every entity time. */
  readonly windowStart: Date;
  /** Break ties among equal event times by the created timestamp. */
  readonly created: boolean;
  /** Use only rows created at or before the entity time. */
  readonly cutoff: boolean;
  /**
   * How many rows the view's source holds (Parquet metadata), when known. A view smaller than the list of
   * entity rows (two entries per row) becomes the hash table instead: building on the smaller side is
   * cheaper. @default unknown: the entity list is built
   */
  readonly viewRows?: number;
}

/**
 * Builds `__mlops_o<index>` (`__mlops_row`, `__hit`, `__f<k>`) for the matched entity rows and answers
 * which side was the hash table, or answers "asof" (the entity rows are too dense: use the ASOF join).
 */
export async function bucketJoin(conn: DuckDBConnection, j: BucketJoin): Promise<"view" | "entities" | "asof"> {
  const i = j.index;
  const width = Math.max(1, Math.round(j.ttlSeconds * 1e6));
  // Every time joined is after `base`, so the integer division below is a floor.
  const base = BigInt(j.windowStart.getTime()) * 1000n - 1n;
  const bucket = (ts: string) => `(epoch_us(${ts}) - ${base}) // ${width}`;
  const keyList = j.keys.join(", ");
  const present = [`__mlops_t IS NOT NULL`, ...j.keys.map((k) => `${k} IS NOT NULL`)].join(" AND ");
  const [densest, listed] = (
    await conn.runAndReadAll(`SELECT coalesce(max(n), 0), 2 * coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM ${ENTITY_TABLE} WHERE ${present} GROUP BY ${keyList}, ${bucket("__mlops_t")})`)
  )
    .getRows()[0]!
    .map(Number);
  if (densest! > MAX_ENTITY_ROWS_PER_BUCKET) return "asof";
  // Each entity row, under its own bucket and the one before.
  const L = `SELECT __mlops_row, __mlops_t, ${keyList}, unnest([__b, __b - 1]) AS __b FROM (SELECT __mlops_row, __mlops_t, ${keyList}, ${bucket("__mlops_t")} AS __b FROM ${ENTITY_TABLE} WHERE ${present})`;
  // Without created timestamps the order is one HUGEINT (event, then the source position); with them,
  // three values need a struct.
  const order = j.created ? "(R.__e, R.__c, R.__seq)" : `${eventBits("R.__e")} + R.__seq`;
  const right = `SELECT ${keyList}, __event_ts AS __e, ${j.created ? "coalesce(__created_ts, __event_ts) AS __c, " : ""}__seq, ${bucket("__event_ts")} AS __b, ${j.features.map((f, k) => `${f} AS __f${k}`).join(", ")} FROM (${j.source}) WHERE ${j.usable}`;
  const on = [
    ...j.keys.map((k) => `L.${k} = R.${k}`),
    "L.__b = R.__b",
    "R.__e <= L.__mlops_t",
    `R.__e >= L.__mlops_t - to_seconds(${j.ttlSeconds})`,
    ...(j.cutoff ? ["R.__c <= L.__mlops_t"] : []),
  ].join(" AND ");
  const value = `{${j.features.map((_, k) => `${quoteString(`f${k}`)}: R.__f${k}`).join(", ")}}`;
  // The right side of the join is its hash table (buildingOnTheRight).
  const build = j.viewRows !== undefined && j.viewRows < listed! ? "view" : "entities";
  const sides = build === "view" ? `(${L}) L JOIN (${right}) R` : `(${right}) R JOIN (${L}) L`;
  const best = `SELECT L.__mlops_row, arg_max(${value}, ${order}) AS __v FROM ${sides} ON ${on} GROUP BY L.__mlops_row`;
  await buildingOnTheRight(conn, `CREATE OR REPLACE TEMP TABLE __mlops_o${i} AS SELECT __mlops_row, true AS __hit, ${j.features.map((_, k) => `struct_extract(__v, 'f${k}') AS __f${k}`).join(", ")} FROM (${best})`);
  return build;
}

/**
 * Runs a join whose right side is built into the hash table, as written. DuckDB puts the side it estimates
 * smaller into the hash table, and its estimate of a filtered Parquet scan can be far below the 10M rows it
 * holds: the hash table of such a view then costs about seven times the whole join. So the build-side
 * choice is switched off for this statement, and the caller picks the side by the counts it knows.
 */
async function buildingOnTheRight(conn: DuckDBConnection, sql: string): Promise<void> {
  await conn.run("SET disabled_optimizers = 'build_side_probe_side'");
  try {
    await conn.run(sql);
  } finally {
    await conn.run("RESET disabled_optimizers");
  }
}
