import { randomBytes } from "node:crypto";
import { mkdir, rm, stat } from "node:fs/promises";
import { availableParallelism, tmpdir, totalmem } from "node:os";
import { join, posix } from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { MlopsError } from "../../src/errors.js";
import type { FeatureDtype, FeatureStoreSpec, FeatureViewSpec } from "../../src/spec/features.js";
import { viewJoinKeys } from "../../src/spec/features.js";
import { filePath, openStore, type OpenStoreOptions } from "../../src/store/index.js";
import { fileReader } from "./validate.js";

/**
 * Reading a feature view's offline source (CSV or Parquet) with DuckDB: one typed SELECT shared by the
 * point-in-time join and materialization, and the data checks that name the file, row, column and value.
 *
 * CSV is read with every column as text and cast in SQL: DuckDB's typed CSV reader silently turns an
 * unparsable timestamp into NULL and rounds "1.5" into an integer column, which is exactly the kind of
 * quiet damage a training set must not carry. Timestamps go through TIMESTAMPTZ so an ISO 8601 offset
 * ("…+02:00", "…Z") is honoured (a plain TIMESTAMP cast drops it) and come out as UTC TIMESTAMPs.
 */

/** Environment overrides for the DuckDB bounds. */
export const DUCKDB_ENV = { memoryLimit: "MLOPS_DUCKDB_MEMORY_LIMIT", threads: "MLOPS_DUCKDB_THREADS" } as const;

/** DuckDB types of each declared dtype. */
export const DUCKDB_TYPE: Record<FeatureDtype, string> = {
  float32: "FLOAT",
  float64: "DOUBLE",
  int32: "INTEGER",
  int64: "BIGINT",
  bool: "BOOLEAN",
  string: "VARCHAR",
};

/** The type a column is checked against: a feature dtype, a join key type, or a timestamp. */
export type ColumnKind = FeatureDtype | "timestamp";

/** Double-quoted SQL identifier. */
export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Single-quoted SQL string literal; a NUL byte cannot appear in a path or a value we pass. */
export function quoteString(s: string): string {
  if (s.includes("\0")) throw MlopsError.of("path", "contains a NUL byte", s, "Rename the file.");
  return `'${s.replace(/'/g, "''")}'`;
}

/** A TIMESTAMP literal (UTC, microseconds) for a Date. */
export function timestampLiteral(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new Error("invalid Date in a SQL literal");
  return `TIMESTAMP ${quoteString(d.toISOString().replace("T", " ").replace("Z", ""))}`;
}

export interface DuckOptions {
  /** e.g. "4GB". @default - half the machine's memory, at most 8 GB ($MLOPS_DUCKDB_MEMORY_LIMIT) */
  readonly memoryLimit?: string;
  /** @default - the machine's cores ($MLOPS_DUCKDB_THREADS) */
  readonly threads?: number;
}

/**
 * Runs `fn` on a fresh in-memory DuckDB, closed afterwards. Memory is bounded (DuckDB spills to a temp
 * folder past the limit) and the session time zone is UTC, so timestamp casts never depend on the host.
 */
export async function withDuck<T>(fn: (conn: DuckDBConnection) => Promise<T>, opts: DuckOptions = {}): Promise<T> {
  const env = process.env;
  // An empty variable means unset (`VAR= cmd`), not a size DuckDB would then refuse.
  const memoryLimit = opts.memoryLimit ?? (env[DUCKDB_ENV.memoryLimit] || undefined) ?? `${Math.max(1, Math.min(8, Math.floor(totalmem() / 2 ** 31)))}GB`;
  const threads = opts.threads ?? (Number(env[DUCKDB_ENV.threads]) || availableParallelism());
  // One spill folder per instance: two instances in one process must not share temp files.
  const tempDir = join(tmpdir(), `mlops-duckdb-${process.pid}-${randomBytes(4).toString("hex")}`);
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(":memory:", { memory_limit: memoryLimit, threads: String(threads), temp_directory: tempDir });
  } catch (err) {
    throw MlopsError.of(DUCKDB_ENV.memoryLimit, `or ${DUCKDB_ENV.threads} is not accepted by DuckDB (${(err as Error).message.split("\n")[0]})`, `${memoryLimit}, ${threads} threads`, 'Give a size such as "4GB" and a whole number of threads.');
  }
  const conn = await instance.connect();
  try {
    // Not settable in the instance config: the ICU extension loads on first use.
    await conn.run("SET TimeZone = 'UTC'");
    return await fn(conn);
  } catch (err) {
    if (err instanceof Error && /^Out of Memory Error/.test(err.message)) {
      throw MlopsError.of("DuckDB memory", `ran out (${err.message.split("\n")[0]})`, memoryLimit, `Raise ${DUCKDB_ENV.memoryLimit} (e.g. "16GB"), give the spill folder ${tmpdir()} more space, or narrow the entity file's time range.`);
    }
    throw err;
  } finally {
    conn.closeSync();
    instance.closeSync();
    await rm(tempDir, { recursive: true, force: true });
  }
}

/** `csv` or `parquet`: the declared format, else the file extension. */
export function sourceFormat(view: FeatureViewSpec): "csv" | "parquet" {
  if (view.source.format) return view.source.format;
  const name = view.source.uri.toLowerCase().replace(/\.(gz|zst)$/, "").replace(/\/+$/, "");
  if (name.endsWith(".csv") || name.endsWith(".tsv")) return "csv";
  if (name.endsWith(".parquet") || name.endsWith(".pq") || name.endsWith("*") || !posix.basename(name).includes(".")) return "parquet";
  throw MlopsError.of(`views.${view.name}.source.uri`, "has no .csv or .parquet extension", view.source.uri, 'Name the file *.csv or *.parquet, or set source.format to "csv" or "parquet".');
}

/**
 * A local path DuckDB can read for the view's source: a `file://` path as is (a folder becomes a glob of
 * its Parquet files); an `s3://` object (or every Parquet object under an `s3://…/` prefix) copied into
 * `scratchDir` through the object store, since DuckDB's httpfs extension cannot be relied on.
 */
export async function localSourcePath(view: FeatureViewSpec, _spec: FeatureStoreSpec, scratchDir: string, storeOptions: OpenStoreOptions = {}): Promise<string> {
  const uri = view.source.uri;
  const field = `views.${view.name}.source.uri`;
  if (uri.startsWith("file://")) {
    const path = filePath(uri, storeOptions.cwd);
    if (/[*?[]/.test(path)) return path;
    const st = await stat(path).catch(() => undefined);
    if (!st) throw MlopsError.of(field, "does not exist", uri, `Check the path (looked for ${path}).`);
    if (st.isDirectory()) return join(path, "**", "*.parquet");
    return path;
  }
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m) throw MlopsError.of(field, "does not name an S3 object", uri, 'Write "s3://<bucket>/<key>".');
  const [, bucket, key] = m as unknown as [string, string, string];
  if (/[*?[]/.test(key)) throw MlopsError.of(field, "is an S3 glob, which is not supported", uri, 'Name one object, or a folder of Parquet objects ending in "/".');
  const dir = join(scratchDir, "sources", view.name);
  await mkdir(dir, { recursive: true });
  if (key.endsWith("/")) {
    const store = openStore(`s3://${bucket}/${key.slice(0, -1)}`, storeOptions);
    const keys = (await store.list("")).filter((k) => /\.(parquet|pq)$/i.test(k));
    if (keys.length === 0) throw MlopsError.of(field, "holds no .parquet objects", uri, "Check the prefix.");
    await Promise.all(keys.map((k, i) => store.getFile(k, join(dir, `${String(i).padStart(6, "0")}.parquet`))));
    return join(dir, "*.parquet");
  }
  const slash = key.lastIndexOf("/");
  const store = openStore(`s3://${bucket}${slash > 0 ? `/${key.slice(0, slash)}` : ""}`, storeOptions);
  const local = join(dir, `source${posix.extname(key) || (sourceFormat(view) === "csv" ? ".csv" : ".parquet")}`);
  await store.getFile(key.slice(slash + 1), local);
  return local;
}

/** The table function reading the source file, every column as stored (CSV: as text). */
export function sourceReader(view: FeatureViewSpec, path: string, extra: readonly string[] = []): string {
  return fileReader(path, sourceFormat(view), extra);
}

/** Every column the view reads, with the type it is checked and cast to. */
export function viewColumns(view: FeatureViewSpec, spec: FeatureStoreSpec): Array<{ name: string; kind: ColumnKind; role: "key" | "event" | "created" | "feature" }> {
  const keyType = new Map(spec.entities.flatMap((e) => e.joinKeys.map((k) => [k, e.valueType === "string" ? "string" : "int64"] as const)));
  return [
    ...viewJoinKeys(view, spec).map((k) => ({ name: k, kind: keyType.get(k) ?? ("int64" as ColumnKind), role: "key" as const })),
    { name: view.source.timestampField, kind: "timestamp" as const, role: "event" as const },
    ...(view.source.createdTimestampField ? [{ name: view.source.createdTimestampField, kind: "timestamp" as const, role: "created" as const }] : []),
    ...view.features.map((f) => ({ name: f.name, kind: f.dtype as ColumnKind, role: "feature" as const })),
  ];
}

/**
 * SQL casting a stored column to its declared kind. Timestamps become UTC TIMESTAMPs; with the stored type
 * known, the slow ICU time-zone conversion is avoided (a naive TIMESTAMP is taken as UTC as it is, a
 * TIMESTAMPTZ by its instant, text is parsed with its offset, UTC when it has none).
 */
export function castExpr(column: string, kind: ColumnKind, storedType?: string): string {
  const c = quoteIdent(column);
  if (kind !== "timestamp") return `CAST(${c} AS ${DUCKDB_TYPE[kind]})`;
  const t = storedType?.toUpperCase();
  if (t === "TIMESTAMP" || t === "DATE" || t === "TIMESTAMP_NS" || t === "TIMESTAMP_MS" || t === "TIMESTAMP_S") return `CAST(${c} AS TIMESTAMP)`;
  if (t === "TIMESTAMP WITH TIME ZONE") return `make_timestamp(epoch_us(${c}))`;
  if (t === "VARCHAR") return `make_timestamp(epoch_us(CAST(${c} AS TIMESTAMPTZ)))`;
  return `CAST(CAST(${c} AS TIMESTAMPTZ) AS TIMESTAMP)`;
}

/**
 * A SELECT over the source giving the join keys (typed by the entity's valueType), `__event_ts` and
 * `__created_ts` (UTC TIMESTAMPs; `__created_ts` NULL without a created column) and each feature cast to its
 * dtype, restricted to event timestamps in `window` (both ends inclusive). With `rowOrder`, also `__seq`: a
 * BIGINT rising with the row's position in the source (file, then row), for deterministic tie-breaks.
 * `storedTypes` (what {@link validateSource} returns) lets Parquet timestamps skip a costly conversion.
 */
export function viewSourceSql(
  view: FeatureViewSpec,
  spec: FeatureStoreSpec,
  path: string,
  window: { start?: Date; end?: Date } = {},
  opts: { rowOrder?: boolean; storedTypes?: ReadonlyMap<string, string> } = {},
): string {
  const csv = sourceFormat(view) === "csv";
  const cast = (name: string, kind: ColumnKind) => castExpr(name, kind, csv ? "VARCHAR" : opts.storedTypes?.get(name));
  const cols = viewColumns(view, spec).map((c) => {
    if (c.role === "event") return `${cast(c.name, c.kind)} AS __event_ts`;
    if (c.role === "created") return `${cast(c.name, c.kind)} AS __created_ts`;
    return `${cast(c.name, c.kind)} AS ${quoteIdent(c.name)}`;
  });
  if (!view.source.createdTimestampField) cols.splice(cols.findIndex((c) => c.endsWith("AS __event_ts")) + 1, 0, "CAST(NULL AS TIMESTAMP) AS __created_ts");
  const parquet = !csv;
  if (opts.rowOrder) cols.push(parquet ? "(CAST(file_index AS BIGINT) << 40) + file_row_number AS __seq" : "row_number() OVER () AS __seq");
  const where = [
    ...(window.start ? [`__event_ts >= ${timestampLiteral(window.start)}`] : []),
    ...(window.end ? [`__event_ts <= ${timestampLiteral(window.end)}`] : []),
  ];
  const select = `SELECT ${cols.join(", ")} FROM ${sourceReader(view, path, opts.rowOrder && parquet ? ["file_row_number = true"] : [])}`;
  return where.length ? `SELECT * FROM (${select}) WHERE ${where.join(" AND ")}` : select;
}

export { validateSource, type ValidateOptions } from "./validate.js";
