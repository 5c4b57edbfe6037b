/**
 * The streaming half of `mlops features materialize`: DuckDB picks the latest row per entity in the window
 * and the rows go to the online store `chunkRows` at a time, the next chunk fetched only once the previous
 * one is stored.
 *
 * Picking the latest row sorts what it is given, so a window of more than `PARTITION_CHUNKS` chunks is cut
 * into key-hash partitions of about that size, each its own query over the source (`hash(keys) % P = p`),
 * one after the other. Every row of an entity falls in one partition, so "latest per entity" and
 * newest-wins are unchanged; each query is shaped like a window of one partition, so what DuckDB holds (the
 * sort of one partition) does not grow with the window. Nothing of the whole window is ever stored: the
 * source is read once per partition instead, which costs a fraction of what writing the rows costs.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { DuckDBConnection } from "@duckdb/node-api";
import type { FeatureStoreSpec, FeatureViewSpec } from "../../src/spec/features.js";
import { entityKeyText, keyText, valueText, viewKeys, type OnlineRow } from "./online/keys.js";
import type { OnlineStore } from "./online/types.js";
import { quoteIdent, viewSourceSql } from "./source.js";

/** A partition holds at most this many chunks of rows (before picking the latest per entity). */
export const PARTITION_CHUNKS = 20;

/** What DuckDB holds once a partition is written (see {@link StreamTarget.onPartition}). */
export interface PartitionState {
  readonly view: string;
  /** 0-based. */
  readonly partition: number;
  readonly partitions: number;
  /** Rows read and written so far in this view. */
  readonly read: number;
  readonly written: number;
  /** Tables in the DuckDB session, temporary ones included. */
  readonly tables: readonly string[];
  /** DuckDB's memory in use, and what it has spilled to its temp folder. */
  readonly memoryBytes: number;
  readonly spilledBytes: number;
}

export interface StreamTarget {
  readonly store: OnlineStore;
  readonly progress: (line: string) => void;
  /** Called after each key-hash partition of a window of several (diagnostics; the tests check it). */
  readonly onPartition?: (state: PartitionState) => void;
}

export interface StreamSource {
  readonly path: string;
  readonly window: { readonly start?: Date; readonly end: Date };
  /** Stored column types, as validateSource returns them (lets Parquet timestamps skip a conversion). */
  readonly storedTypes?: ReadonlyMap<string, string>;
}

/** The latest row per entity of the view's window, streamed to the store; the rows read and written. */
export async function streamLatest(
  conn: DuckDBConnection,
  spec: FeatureStoreSpec,
  view: FeatureViewSpec,
  source: StreamSource,
  target: StreamTarget,
  chunkRows: number,
): Promise<{ read: number; written: number }> {
  const k = viewKeys(view, spec).names.map(quoteIdent);
  const usable = k.map((c) => `${c} IS NOT NULL`).join(" AND ");
  const src = viewSourceSql(view, spec, source.path, source.window, source.storedTypes ? { storedTypes: source.storedTypes } : {});
  const total = Number((await conn.runAndReadAll(`SELECT count(*) FROM (${src}) WHERE ${usable}`)).getRows()[0]![0]);
  const partitions = Math.max(1, Math.ceil(total / (chunkRows * PARTITION_CHUNKS)));
  const latest = (where: string) =>
    [
      `SELECT ${k.join(", ")}, epoch_us(__event_ts) AS __event_us, COALESCE(epoch_us(__created_ts), -1) AS __created_us, ${view.features.map((f) => quoteIdent(f.name)).join(", ")}`,
      `FROM (${src}) WHERE ${where}`,
      `QUALIFY row_number() OVER (PARTITION BY ${k.join(", ")} ORDER BY __event_ts DESC, __created_ts DESC NULLS LAST) = 1`,
    ].join("\n");
  if (partitions === 1) return streamQuery(conn, latest(usable), spec, view, target, chunkRows, { read: 0, written: 0 });

  target.progress(`materialize ${view.name}: ${total} rows in the window, in ${partitions} key-hash partitions`);
  let counts = { read: 0, written: 0 };
  for (let p = 0; p < partitions; p++) {
    counts = await streamQuery(conn, latest(`${usable} AND hash(${k.join(", ")}) % ${partitions} = ${p}`), spec, view, target, chunkRows, counts);
    collectGarbage();
    const held = await duckState(conn);
    target.progress(`materialize ${view.name}: partition ${p + 1} of ${partitions} done (${counts.read} read, ${counts.written} written so far; DuckDB holds ${mib(held.memoryBytes)} MiB, ${mib(held.spilledBytes)} MiB spilled)`);
    target.onPartition?.({ view: view.name, partition: p, partitions, ...counts, ...held });
  }
  return counts;
}

/**
 * A full V8 collection, after every `COLLECT_EVERY_ROWS` rows stored and after each partition. The DuckDB bindings free a
 * query's native memory (its result, every chunk fetched from it) only in the finalizers of their JS
 * wrappers, and V8 does not count that memory, so left to itself it collects late: a 10-partition window
 * was measured holding ~75 MiB more after each partition (DuckDB itself reporting 2 MiB in use), and a
 * chunk's row objects, promoted past young-generation collections, grow the old generation over the first
 * few dozen chunks. Measured at 1M rows into Redis: peak RSS 379-383 MiB without, 294-300 MiB with, for
 * under a second of CPU per million rows. The `gc` function is `--expose-gc`'s, else taken as leak
 * detectors take it (the flag set, `gc` read in a fresh context, the flag unset).
 */
let gcFn: (() => void) | undefined;
/** Rows stored between two collections (the default chunkRows: one collection per chunk). */
const COLLECT_EVERY_ROWS = 50_000;
export function collectGarbage(): void {
  if (!gcFn) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (typeof exposed === "function") gcFn = exposed;
    else {
      setFlagsFromString("--expose-gc");
      gcFn = runInNewContext("gc") as () => void;
      setFlagsFromString("--no-expose-gc");
    }
  }
  gcFn();
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

async function duckState(conn: DuckDBConnection): Promise<{ tables: string[]; memoryBytes: number; spilledBytes: number }> {
  const tables = (await conn.runAndReadAll("SELECT table_name FROM duckdb_tables() ORDER BY table_name")).getRows().map((r) => String(r[0]));
  const [mem, spill] = (await conn.runAndReadAll("SELECT COALESCE(sum(memory_usage_bytes), 0), COALESCE(sum(temporary_storage_bytes), 0) FROM duckdb_memory()")).getRows()[0]!;
  return { tables, memoryBytes: Number(mem), spilledBytes: Number(spill) };
}

/** Streams one query's rows to the store, `chunkRows` at a time; counts continue from `start`. */
async function streamQuery(
  conn: DuckDBConnection,
  sql: string,
  spec: FeatureStoreSpec,
  view: FeatureViewSpec,
  target: StreamTarget,
  chunkRows: number,
  start: { read: number; written: number },
): Promise<{ read: number; written: number }> {
  const keys = viewKeys(view, spec);
  const result = await conn.stream(sql);
  const nk = keys.names.length;
  const dtypes = view.features.map((f) => f.dtype);
  let buffer: OnlineRow[] = [];
  let { read, written } = start;
  let sinceCollected = 0;
  const flush = async () => {
    if (buffer.length === 0) return;
    const r = await target.store.write(view, buffer);
    written += r.written;
    target.progress(`materialize ${view.name}: ${read} rows read, ${written} written`);
    sinceCollected += buffer.length;
    buffer = [];
    if (sinceCollected >= COLLECT_EVERY_ROWS) {
      collectGarbage();
      sinceCollected = 0;
    }
  };
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const cols = chunk.getColumns();
    for (let r = 0; r < chunk.rowCount; r++) {
      const texts = new Array<string>(nk);
      for (let j = 0; j < nk; j++) texts[j] = keyText(cols[j]![r], keys.types[j]!)!;
      const values = new Array<string>(dtypes.length);
      for (let j = 0; j < dtypes.length; j++) values[j] = valueText(cols[nk + 2 + j]![r], dtypes[j]!) ?? "null";
      buffer.push({ key: entityKeyText(texts), eventMicros: Number(cols[nk]![r]), createdMicros: Number(cols[nk + 1]![r]), values });
      read++;
      if (buffer.length >= chunkRows) await flush();
    }
  }
  await flush();
  return { read, written };
}
