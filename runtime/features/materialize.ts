/**
 * `mlops features materialize`: for each online view, the latest row per entity with an event time in
 * [start, end] (ties broken by the created time) goes to the online store, never replacing a newer stored
 * value (the store's write compares, see online/types.ts).
 *
 * Memory does not grow with the window (feast #6307): DuckDB picks the latest row per entity and streams
 * the result, `chunkRows` at a time, and a window of more than `PARTITION_CHUNKS` chunks runs as key-hash
 * partitions of about that size, each its own query over the source (materialize-stream.ts), so every
 * sort holds a bounded number of rows whatever the window. DuckDB's memory is bounded too (a sort spills
 * past it): by default to what one partition's sort needs, at least 256 MB, or `$MLOPS_DUCKDB_MEMORY_LIMIT`.
 *
 * `--incremental` starts from the view's watermark (src/features/watermarks.ts) less the spec's lateness
 * window, re-scanned for rows that arrive late (feast #4133: a watermark at the last end misses them). A
 * late row older than that window is not picked up: with a created-time column the run counts such rows
 * (event time before the scan, created after the previous run) and says so; without one it cannot know.
 * An end in the future is refused (feast #4222).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import { MlopsError } from "../../src/errors.js";
import { advanceWatermark, readWatermark, type Watermark } from "../../src/features/watermarks.js";
import type { FeatureStoreSpec, FeatureViewSpec } from "../../src/spec/features.js";
import { durationSeconds, viewTtlSeconds } from "../../src/spec/features.js";
import { openStore, type ObjectStore } from "../../src/store/index.js";
import { openOnlineStore } from "./online/index.js";
import type { OnlineStore } from "./online/types.js";
import { PARTITION_CHUNKS, streamLatest, type PartitionState } from "./materialize-stream.js";
import { DUCKDB_ENV, localSourcePath, timestampLiteral, validateSource, viewSourceSql, withDuck } from "./source.js";

export { PARTITION_CHUNKS, type PartitionState };
/** DuckDB memory per row of a partition, for the default memory limit (a sort row plus its overhead). */
const SORT_BYTES_PER_ROW = 256;
/** The default memory limit is never below this. */
const MIN_MEMORY_MB = 256;

/** DuckDB's memory limit for a materialization: `$MLOPS_DUCKDB_MEMORY_LIMIT`, else one partition's sort. */
export function materializeMemoryLimit(chunkRows: number, env: NodeJS.ProcessEnv = process.env): string {
  const given = env[DUCKDB_ENV.memoryLimit];
  if (given) return given;
  return `${Math.max(MIN_MEMORY_MB, Math.ceil((chunkRows * PARTITION_CHUNKS * SORT_BYTES_PER_ROW) / 2 ** 20))}MB`;
}

export interface MaterializeOptions {
  /** Window start (inclusive). Not with `incremental`. */
  readonly start?: Date;
  /** Window end (inclusive). @default now */
  readonly end?: Date;
  /** Start each view from its watermark less `materialization.lateness`. */
  readonly incremental?: boolean;
  /** @default new Date() */
  readonly now?: Date;
  /** Only these views. @default - every view with `online: true` */
  readonly views?: readonly string[];
  /** @default - the spec's online store, opened and closed here */
  readonly store?: OnlineStore;
  /** Where watermarks live. @default openStore(spec.registry) */
  readonly registry?: ObjectStore;
  /** Progress lines (the CLI sends them to stderr). */
  readonly progress?: (line: string) => void;
  /** Called after each key-hash partition of a window of several, with what DuckDB holds then. */
  readonly onPartition?: (state: PartitionState) => void;
}

export interface ViewSummary {
  readonly view: string;
  /** Scanned window; start null when the scan had no lower bound. */
  readonly start: string | null;
  readonly end: string;
  /** Latest rows per entity found in the window. */
  readonly rowsRead: number;
  readonly rowsWritten: number;
  /** Rows the store already held something as new or newer for. */
  readonly rowsSkipped: number;
  /** The view's watermark after the run. */
  readonly watermark: string;
  /**
   * Incremental runs on views with a created-time column: rows older than the re-scanned window that were
   * created after the previous run, so this run did not pick them up.
   */
  readonly lateRowsMissed?: number;
  readonly seconds: number;
}

/** Materializes the spec's online views; returns one summary per view. */
export async function materialize(spec: FeatureStoreSpec, opts: MaterializeOptions): Promise<ViewSummary[]> {
  const now = opts.now ?? new Date();
  const end = opts.end ?? now;
  checkWindow(opts, end, now);
  const views = selectViews(spec, opts.views);
  const registry = opts.registry ?? openStore(spec.registry);
  const store = opts.store ?? (await openOnlineStore(spec));
  const scratch = await mkdtemp(join(tmpdir(), "mlops-materialize-"));
  const progress = opts.progress ?? (() => {});
  try {
    return await withDuck(async (conn) => {
      const out: ViewSummary[] = [];
      for (const view of views) out.push(await materializeView(conn, spec, view, { ...opts, end, now, registry, store, scratch, progress }));
      return out;
    }, { memoryLimit: materializeMemoryLimit(spec.materialization.chunkRows) });
  } finally {
    if (!opts.store) await store.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

function checkWindow(opts: MaterializeOptions, end: Date, now: Date): void {
  if (Number.isNaN(end.getTime())) throw MlopsError.of("--end", "is not a valid time", opts.end, 'Pass an ISO 8601 time, e.g. "2026-01-02T00:00:00Z".');
  if (end.getTime() > now.getTime()) {
    throw MlopsError.of("--end", `is in the future (now is ${now.toISOString()})`, end.toISOString(), "Materialize up to now at most: values stamped later than now do not exist yet, and a watermark set in the future would make later incremental runs skip real rows.");
  }
  if (opts.incremental && opts.start) throw MlopsError.of("--start", "cannot be combined with --incremental", opts.start.toISOString(), "Use --start/--end for a given window, or --incremental [--end] to continue from the watermark.");
  if (!opts.incremental && !opts.start) throw MlopsError.of("--start", "is required without --incremental", undefined, "Pass --start <iso> --end <iso>, or --incremental.");
  if (opts.start && Number.isNaN(opts.start.getTime())) throw MlopsError.of("--start", "is not a valid time", opts.start, 'Pass an ISO 8601 time, e.g. "2026-01-01T00:00:00Z".');
  if (opts.start && opts.start.getTime() > end.getTime()) {
    throw MlopsError.of("--start", `is after --end (${end.toISOString()})`, opts.start.toISOString(), "Pass a start before the end.");
  }
}

function selectViews(spec: FeatureStoreSpec, names: readonly string[] | undefined): FeatureViewSpec[] {
  const online = spec.views.filter((v) => v.online);
  if (!names) return online;
  return names.map((n) => {
    const v = online.find((x) => x.name === n);
    if (!v) throw MlopsError.of("views", "does not name an online view of this store", n, `Use one of: ${online.map((x) => x.name).join(", ")}.`);
    return v;
  });
}

interface ViewContext {
  readonly end: Date;
  readonly now: Date;
  readonly start?: Date;
  readonly incremental?: boolean;
  readonly registry: ObjectStore;
  readonly store: OnlineStore;
  readonly scratch: string;
  readonly progress: (line: string) => void;
  readonly onPartition?: (state: PartitionState) => void;
}

async function materializeView(conn: DuckDBConnection, spec: FeatureStoreSpec, view: FeatureViewSpec, ctx: ViewContext): Promise<ViewSummary> {
  const started = performance.now();
  const previous = await readWatermark(ctx.registry, view.name);
  const start = ctx.incremental ? incrementalStart(spec, view, previous, ctx.end) : ctx.start;
  const window = { ...(start ? { start } : {}), end: ctx.end };
  const path = await localSourcePath(view, spec, ctx.scratch);
  const storedTypes = await validateSource(conn, view, spec, path, { window });

  const counts = await streamLatest(conn, spec, view, { path, window, storedTypes }, ctx, spec.materialization.chunkRows);

  let lateRowsMissed: number | undefined;
  if (ctx.incremental && previous && start && view.source.createdTimestampField) {
    lateRowsMissed = await countMissedLateRows(conn, spec, view, path, start, new Date(previous.ranAt));
    if (lateRowsMissed > 0) {
      ctx.progress(
        `materialize ${view.name}: ${lateRowsMissed} row(s) with event times before ${start.toISOString()} were created after the previous run and are NOT picked up (older than the ${spec.materialization.lateness} lateness window); widen materialization.lateness or backfill with --start/--end`,
      );
    }
  }
  // The watermark moves only when this run covered everything from it onwards: an incremental run, or a
  // window starting at or before it (a later start would leave a gap unscanned).
  const covers = ctx.incremental || !previous || (start !== undefined && start.getTime() <= Date.parse(previous.end));
  const next: Watermark = { view: view.name, end: ctx.end.toISOString(), ...(start ? { start: start.toISOString() } : {}), ranAt: ctx.now.toISOString(), rowsWritten: counts.written };
  const watermark = covers ? await advanceWatermark(ctx.registry, next) : previous!;
  const summary: ViewSummary = {
    view: view.name,
    start: start ? start.toISOString() : null,
    end: ctx.end.toISOString(),
    rowsRead: counts.read,
    rowsWritten: counts.written,
    rowsSkipped: counts.read - counts.written,
    watermark: watermark.end,
    ...(lateRowsMissed !== undefined ? { lateRowsMissed } : {}),
    seconds: Math.round(performance.now() - started) / 1000,
  };
  ctx.progress(`materialize ${view.name}: done, ${summary.rowsWritten} written, ${summary.rowsSkipped} skipped (newer already stored), watermark ${summary.watermark}`);
  return summary;
}

/** Watermark less lateness; with no watermark, the TTL back from the end (older values would be stale), else unbounded. */
function incrementalStart(spec: FeatureStoreSpec, view: FeatureViewSpec, previous: Watermark | undefined, end: Date): Date | undefined {
  if (previous) return new Date(Date.parse(previous.end) - durationSeconds(spec.materialization.lateness, "materialization.lateness") * 1000);
  const ttl = viewTtlSeconds(view);
  return ttl === undefined ? undefined : new Date(end.getTime() - ttl * 1000);
}

/** Rows older than the scanned window, created after the previous run: what an incremental run misses. */
async function countMissedLateRows(conn: DuckDBConnection, spec: FeatureStoreSpec, view: FeatureViewSpec, path: string, start: Date, previousRun: Date): Promise<number> {
  const sql = `SELECT count(*) AS n FROM (${viewSourceSql(view, spec, path)}) WHERE __event_ts < ${timestampLiteral(start)} AND __created_ts > ${timestampLiteral(previousRun)}`;
  const reader = await conn.runAndReadAll(sql);
  return Number(reader.getRows()[0]![0]);
}
