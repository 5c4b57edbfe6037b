import { mkdir, rename, rm } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import { MlopsError } from "../../src/errors.js";
import type { FeatureRef, FeatureStoreSpec, FeatureViewSpec } from "../../src/spec/features.js";
import { viewJoinKeys, viewTtlSeconds } from "../../src/spec/features.js";
import { ENTITY_TABLE, fileFormat, loadEntities, type LoadedEntities } from "./entities.js";
import { bucketJoin, createdBits, eventBits } from "./historical-bucket.js";
import { localSourcePath, quoteIdent, quoteString, sourceFormat, validateSource, viewColumns, viewSourceSql, withDuck, type ColumnKind, type DuckOptions } from "./source.js";

/**
 * The point-in-time join (`mlops features historical`): for every entity row (join keys + event_timestamp
 * t) and every requested view, the view's row with the latest event timestamp <= t (and >= t - ttl with a
 * TTL), ties broken by the latest created timestamp, then by the later row of the source. By default only
 * rows already written at t count (created timestamp <= t): what an online lookup at t could have seen, so
 * later backfills and corrections do not leak into training. Exactly one output row per input row, in
 * input order, every input column kept; features null where nothing matches.
 *
 * How: a view with a TTL is joined by hash on (keys, TTL-wide time bucket), never sorting the view
 * (historical-bucket.ts), unless one key has too many entity rows within a TTL. Otherwise each view's
 * source (pruned to [min t - ttl, max t]) is reduced to one row per (keys, event ts[,
 * created ts]), then matched with DuckDB's ASOF join (a sort-merge, no cross product of entity rows and
 * history). With the created-timestamp cutoff a row becomes usable at max(event, created), which is not
 * monotone in the event timestamp; a running maximum of (event, created) over rows ordered by that time
 * gives, at each instant, the best row known so far, and the ASOF join reads it. The TTL is applied to the
 * winner afterwards: if the latest usable row is older than t - ttl, every other usable row is too.
 */

export interface HistoricalOptions {
  readonly spec: FeatureStoreSpec;
  readonly refs: readonly FeatureRef[];
  /** Local path of the entity file (.csv or .parquet). */
  readonly entities: string;
  /** Output file (.csv or .parquet); written atomically. */
  readonly out: string;
  /** Name feature columns `view__feature`. @default false */
  readonly fullFeatureNames?: boolean;
  /** Also use rows created after the entity timestamp (backfills, corrections). @default false */
  readonly allowLaterWrites?: boolean;
  /** Where s3:// sources are staged. */
  readonly scratchDir: string;
  readonly progress?: (line: string) => void;
  readonly duck?: DuckOptions;
  /**
   * How views are joined: `auto` picks the bucketed hash join for a view with a TTL and sparse enough
   * entity rows (historical-bucket.ts), else the ASOF join; `asof` always takes the ASOF join (the two give
   * the same rows; tests compare them). @default "auto"
   */
  readonly strategy?: "auto" | "asof";
}

export interface HistoricalViewResult {
  readonly view: string;
  readonly features: readonly string[];
  /** Entity rows that got a value from this view. */
  readonly matched: number;
  readonly createdTimestampCutoff: boolean;
  /** The join used: `bucket` (hash on keys and TTL-wide time buckets) or `asof`. */
  readonly join: "bucket" | "asof";
  /** Wall seconds this view took: reading its source, the join. */
  readonly seconds: number;
  readonly window: { readonly start?: string; readonly end?: string };
}

export interface HistoricalResult {
  readonly out: string;
  readonly format: "csv" | "parquet";
  readonly rows: number;
  readonly columns: readonly string[];
  readonly views: readonly HistoricalViewResult[];
}

/** One output column per requested feature. */
export interface FeatureColumn extends FeatureRef {
  readonly column: string;
}

/**
 * Output column names: `feature`, or `view__feature` with `fullFeatureNames`. Two features of one name
 * (without full names), or a feature named like an input column, are refused naming both.
 */
export function featureColumns(refs: readonly FeatureRef[], fullFeatureNames: boolean, inputColumns: readonly string[] = []): FeatureColumn[] {
  const byName = new Map<string, FeatureRef>();
  return refs.map((r) => {
    const column = fullFeatureNames ? `${r.view}__${r.feature}` : r.feature;
    const other = byName.get(column);
    if (other) {
      throw MlopsError.of("--features", `names two features that would both be column ${JSON.stringify(column)}`, [`${other.view}:${other.feature}`, `${r.view}:${r.feature}`], "Pass --full-feature-names to name the columns view__feature, or request only one of them.");
    }
    if (inputColumns.includes(column)) {
      throw MlopsError.of("--features", `would add column ${JSON.stringify(column)}, which the entity file already has`, `${r.view}:${r.feature}`, "Pass --full-feature-names, or rename that column of the entity file.");
    }
    byName.set(column, r);
    return { ...r, column };
  });
}

/** Runs the join and writes the training set to `opts.out`. */
export async function historicalFeatures(opts: HistoricalOptions): Promise<HistoricalResult> {
  const say = opts.progress ?? (() => {});
  const out = resolve(opts.out);
  const format = fileFormat(out, "--out");
  const views = [...new Set(opts.refs.map((r) => r.view))].map((name) => opts.spec.views.find((v) => v.name === name)!);
  const keyKinds = new Map<string, ColumnKind>();
  for (const v of views) for (const c of viewColumns(v, opts.spec)) if (c.role === "key") keyKinds.set(c.name, c.kind);
  const paths = await Promise.all(views.map((v) => localSourcePath(v, opts.spec, opts.scratchDir)));
  return withDuck(async (conn) => {
    const started = Date.now();
    const entities = await loadEntities(conn, resolve(opts.entities), [...keyKinds].map(([name, kind]) => ({ name, kind })));
    say(`entities: ${entities.rows} rows${entities.minT ? ` from ${entities.minT.toISOString()} to ${entities.maxT!.toISOString()}` : ""}`);
    const columns = featureColumns(opts.refs, opts.fullFeatureNames ?? false, entities.columns);
    const results: HistoricalViewResult[] = [];
    for (const [i, view] of views.entries()) {
      const features = opts.refs.filter((r) => r.view === view.name).map((r) => r.feature);
      results.push(await joinView(conn, { view, spec: opts.spec, path: paths[i]!, index: i, features, entities, cutoff: !opts.allowLaterWrites && !!view.source.createdTimestampField, strategy: opts.strategy ?? "auto", say }));
    }
    const select = [
      `E.* EXCLUDE (__mlops_row, __mlops_t)`,
      ...columns.map((c) => {
        const v = views.findIndex((x) => x.name === c.view);
        return `O${v}.__f${results[v]!.features.indexOf(c.feature)} AS ${quoteIdent(c.column)}`;
      }),
    ];
    const joins = views.map((_, i) => `LEFT JOIN __mlops_o${i} O${i} ON O${i}.__mlops_row = E.__mlops_row`).join(" ");
    await mkdir(dirname(out), { recursive: true });
    const tmp = `${out}.${process.pid}.tmp`;
    try {
      await conn.run(
        `COPY (SELECT ${select.join(", ")} FROM ${ENTITY_TABLE} E ${joins} ORDER BY E.__mlops_row) TO ${quoteString(tmp)} (FORMAT ${format === "csv" ? "CSV, HEADER true" : "PARQUET"})`,
      );
      await rename(tmp, out);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    say(`wrote ${entities.rows} rows to ${out} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { out, format, rows: entities.rows, columns: [...entities.columns, ...columns.map((c) => c.column)], views: results };
  }, opts.duck);
}

interface ViewJoin {
  readonly view: FeatureViewSpec;
  readonly spec: FeatureStoreSpec;
  readonly path: string;
  readonly index: number;
  readonly features: readonly string[];
  readonly entities: LoadedEntities;
  readonly cutoff: boolean;
  readonly strategy: "auto" | "asof";
  readonly say: (line: string) => void;
}


/**
 * Whether any (keys, event time) pair that a hit in `table` matched occurs more than once in `source` (a
 * SELECT of the keys and `__event_ts`): a hash join of the distinct matched pairs (at most one per entity
 * row) against the source's keys and times, far cheaper than the join it guards.
 */
async function matchedTiesExist(conn: DuckDBConnection, table: string, keys: readonly string[], source: string): Promise<boolean> {
  const pairs = `SELECT DISTINCT ${keys.join(", ")}, __e FROM ${table} WHERE __hit`;
  const sql = `SELECT (SELECT count(*) FROM (${pairs})) AS pairs, (SELECT count(*) FROM (${pairs}) M JOIN (${source}) S ON ${keys.map((k) => `M.${k} = S.${k}`).join(" AND ")} AND M.__e = S.__event_ts) AS rows`;
  const [pairs_, rows] = (await conn.runAndReadAll(sql)).getRows()[0]!.map(Number);
  return rows! > pairs_!;
}

/** Rows in a Parquet file or glob, from its metadata (no data read); undefined if the metadata cannot be read. */
async function parquetRows(conn: DuckDBConnection, path: string): Promise<number | undefined> {
  try {
    return Number((await conn.runAndReadAll(`SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata(${quoteString(path)})`)).getRows()[0]![0]);
  } catch {
    return undefined;
  }
}

/** Builds `__mlops_o<i>` (`__mlops_row`, `__hit`, and `__f<j>` per requested feature, NULL where nothing matched). */
async function joinView(conn: DuckDBConnection, j: ViewJoin): Promise<HistoricalViewResult> {
  const { view, spec, index: i } = j;
  const started = performance.now();
  const ttl = viewTtlSeconds(view);
  const window = {
    ...(j.entities.minT && ttl !== undefined ? { start: new Date(j.entities.minT.getTime() - ttl * 1000) } : {}),
    ...(j.entities.maxT ? { end: j.entities.maxT } : {}),
  };
  const storedTypes = await validateSource(conn, view, spec, j.path, { window });
  const keys = viewJoinKeys(view, spec).map(quoteIdent);
  // No entity row has a timestamp: nothing can match, and nothing needs reading.
  const src = `${viewSourceSql(view, spec, j.path, window, { rowOrder: true, storedTypes })}${j.entities.maxT ? "" : " LIMIT 0"}`;
  const struct = `{${j.features.map((f, k) => `${quoteString(`f${k}`)}: ${quoteIdent(f)}`).join(", ")}}`;
  const usable = `__event_ts IS NOT NULL AND ${keys.map((k) => `${k} IS NOT NULL`).join(" AND ")}`;
  const on = keys.map((k) => `E.${k} = R.${k}`).join(" AND ");
  const fresh = (e: string, t: string) => (ttl === undefined ? "true" : `${e} >= ${t} - to_seconds(${ttl})`);
  const probe = `SELECT __mlops_row, __mlops_t, ${keys.join(", ")}, ${eventBits("__mlops_t")} + 18446744073709551615 AS __o FROM ${ENTITY_TABLE}`;
  const out = (hit: string, value: (k: number) => string) =>
    `CREATE OR REPLACE TEMP TABLE __mlops_o${i} AS SELECT E.__mlops_row, ${hit} AS __hit, ${j.features.map((_, k) => `CASE WHEN ${hit} THEN ${value(k)} END AS __f${k}`).join(", ")}`;
  j.say(`${view.name}: reading ${j.path}${window.start || window.end ? ` for event times ${window.start?.toISOString() ?? "-∞"} .. ${window.end?.toISOString() ?? "+∞"}` : ""}${j.cutoff ? " (rows created after each entity time are not used)" : ""}`);
  const bucketed =
    ttl !== undefined && window.start && j.entities.maxT && j.strategy === "auto"
      ? await bucketJoin(conn, {
          index: i,
          keys,
          source: src,
          usable,
          features: j.features.map(quoteIdent),
          ttlSeconds: ttl,
          windowStart: window.start,
          created: !!view.source.createdTimestampField,
          cutoff: j.cutoff,
          ...(sourceFormat(view) === "parquet" ? { viewRows: await parquetRows(conn, j.path) } : {}),
        })
      : "asof";
  if (bucketed !== "asof") {
    j.say(`${view.name}: joined by hash on the join keys and ${view.ttl}-wide time buckets (hash table: ${bucketed === "view" ? "the view's rows" : "the entity rows"})`);
  } else if (!j.cutoff && !view.source.createdTimestampField) {
    // Latest event <= t. First on the plain timestamp, DuckDB's fastest ASOF key (about twice as fast as
    // the HUGEINT below); that answer is only in doubt where the (keys, event time) a row matched occurs
    // more than once in the source, since DuckDB's pick among equal timestamps is arbitrary. If any
    // matched pair does, the join is redone ordering equal events by source position (the later row wins).
    const plainSrc = `${viewSourceSql(view, spec, j.path, window, { storedTypes })}${j.entities.maxT ? "" : " LIMIT 0"}`;
    const right = `SELECT ${keys.join(", ")}, __event_ts AS __e, ${j.features.map((f, k) => `${quoteIdent(f)} AS __f${k}`).join(", ")} FROM (${plainSrc}) WHERE ${usable}`;
    const entityCols = `SELECT __mlops_row, __mlops_t, ${keys.join(", ")} FROM ${ENTITY_TABLE}`;
    await conn.run(`${out(fresh("R.__e", "E.__mlops_t"), (k) => `R.__f${k}`)}, ${keys.map((k) => `E.${k}`).join(", ")}, R.__e FROM (${entityCols}) E ASOF JOIN (${right}) R ON ${on} AND E.__mlops_t >= R.__e`);
    if (await matchedTiesExist(conn, `__mlops_o${i}`, keys, `SELECT ${keys.join(", ")}, __event_ts FROM (${plainSrc}) WHERE ${usable}`)) {
      j.say(`${view.name}: equal event timestamps for one entity among the matches; ordering them by source position`);
      const ordered = `SELECT ${keys.join(", ")}, __event_ts AS __e, ${j.features.map((f, k) => `${quoteIdent(f)} AS __f${k}`).join(", ")}, ${eventBits("__event_ts")} + __seq AS __o FROM (${src}) WHERE ${usable}`;
      await conn.run(`${out(fresh("R.__e", "E.__mlops_t"), (k) => `R.__f${k}`)} FROM (${probe}) E ASOF JOIN (${ordered}) R ON ${on} AND E.__o >= R.__o`);
    }
  } else if (!j.cutoff) {
    // Equal (event, created) pairs are reduced to the later source row first; then the ASOF join orders by
    // (event, created).
    const D = `SELECT ${keys.join(", ")}, __e, ${eventBits("__e")} + ${createdBits("__c")} AS __o, __v FROM (SELECT ${keys.join(", ")}, __event_ts AS __e, coalesce(__created_ts, __event_ts) AS __c, arg_max(${struct}, __seq) AS __v FROM (${src}) WHERE ${usable} GROUP BY ALL)`;
    await conn.run(`${out(fresh("R.__e", "E.__mlops_t"), (k) => `struct_extract(R.__v, 'f${k}')`)} FROM (${probe}) E ASOF JOIN (${D}) R ON ${on} AND E.__o >= R.__o`);
  } else {
    // A row is usable from max(event, created) on (a missing created timestamp: from its event time).
    // __p orders rows by (event, created); a running max of __p over rows ordered by usable-from time is
    // the best row known at each instant (peers share one value, so the ASOF pick among them is moot).
    // The TTL is checked on that best row: every other usable row is older.
    const D = `__mlops_d${i}`;
    await conn.run(
      `CREATE OR REPLACE TEMP TABLE ${D} AS SELECT ${keys.join(", ")}, __e, greatest(__e, __c) AS __a, ${eventBits("__e")} + ${createdBits("__c")} AS __p, __v FROM (SELECT ${keys.join(", ")}, __event_ts AS __e, coalesce(__created_ts, __event_ts) AS __c, arg_max(${struct}, __seq) AS __v FROM (${src}) WHERE ${usable} GROUP BY ALL)`,
    );
    const best = `SELECT ${keys.join(", ")}, __a, max(__p) OVER (PARTITION BY ${keys.join(", ")} ORDER BY __a) AS __best FROM ${D}`;
    const J = `SELECT E.__mlops_row, E.__mlops_t, ${keys.map((k) => `E.${k}`).join(", ")}, R.__best FROM ${ENTITY_TABLE} E ASOF JOIN (${best}) R ON ${on} AND E.__mlops_t >= R.__a`;
    await conn.run(
      `${out(fresh("D.__e", "E.__mlops_t"), (k) => `struct_extract(D.__v, 'f${k}')`)} FROM (${J}) E JOIN ${D} D ON ${keys.map((k) => `E.${k} = D.${k}`).join(" AND ")} AND D.__p = E.__best`,
    );
    await conn.run(`DROP TABLE ${D}`);
  }
  const [matched] = (await conn.runAndReadAll(`SELECT count(*) FROM __mlops_o${i} WHERE __hit`)).getRows()[0]!.map(Number);
  const seconds = (performance.now() - started) / 1000;
  j.say(`${view.name}: ${matched} of ${j.entities.rows} entity rows matched (${seconds.toFixed(1)} s)`);
  return {
    view: view.name,
    features: j.features,
    matched: matched!,
    createdTimestampCutoff: j.cutoff,
    join: bucketed === "asof" ? "asof" : "bucket",
    seconds: Number(seconds.toFixed(3)),
    window: { ...(window.start ? { start: window.start.toISOString() } : {}), ...(window.end ? { end: window.end.toISOString() } : {}) },
  };
}
