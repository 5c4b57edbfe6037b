/**
 * Reading a table for drift: a CSV or Parquet file (or a folder or glob of them), local or staged from
 * the object store, opened in DuckDB. Numerical columns come back as their finite values in typed
 * arrays (DuckDB scans and decodes several columns per query, streamed; the values are copied out of
 * its vectors); categorical columns as value counts, counted by DuckDB.
 */
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, posix, resolve } from "node:path";
import { DuckDBInstance, type DuckDBConnection, type DuckDBVector } from "@duckdb/node-api";
import { MlopsError } from "../../src/errors.js";
import { filePath, openStore } from "../../src/store/index.js";
import type { CategoricalData, ColumnData, NumericalData } from "./column.js";
import { physicalOf, type Physical } from "./select.js";
import { sampleOf } from "./stats/sample.js";
import type { Key } from "./stats/tests.js";

export interface ColumnInfo {
  readonly name: string;
  readonly duckType: string;
  readonly physical: Physical;
}

export type Format = "csv" | "parquet";

/** A table DuckDB can read: its rows, its columns and how to read them. */
export interface Table {
  /** The URI as given (for messages and the report). */
  readonly uri: string;
  readonly rows: number;
  readonly columns: readonly ColumnInfo[];
  /** Reads the named columns (several numerical ones per scan). */
  readColumns(names: readonly string[]): Promise<Map<string, ColumnData>>;
  /**
   * Hands back the value arrays of columns read (optional): the next read reuses them instead of
   * allocating (and the kernel zero-filling) fresh memory. The columns must not be used after.
   */
  release?(data: ReadonlyMap<string, ColumnData>): void;
  /** Hands back value buffers that came back from another thread (see {@link release}). */
  recycle?(buffers: readonly ArrayBuffer[]): void;
}

/** Numerical columns fetched per query: one scan of the file reads all of them. */
const NUMERIC_BATCH = 8;

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const quoteString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** A DuckDB session for reading tables, and the temp folder that staged objects land in. */
export class TableReader {
  private readonly connections: DuckDBConnection[] = [];

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly stageDir: string,
    private readonly cwd: string,
  ) {}

  static async create(opts: { cwd?: string; threads?: number } = {}): Promise<TableReader> {
    const instance = await DuckDBInstance.create(":memory:", opts.threads ? { threads: String(opts.threads) } : {});
    const stageDir = await mkdtemp(join(tmpdir(), "mlops-drift-"));
    return new TableReader(instance, stageDir, opts.cwd ?? process.cwd());
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.closeSync();
    this.instance.closeSync();
    await rm(this.stageDir, { recursive: true, force: true });
  }

  /**
   * Opens `uri` as the SQL view (Parquet) or table (CSV) `alias`, on a connection of its own so the
   * two sides of a drift run are read concurrently; `flag` names the option in errors.
   */
  async open(uri: string, alias: string, flag: string): Promise<Table> {
    const { pattern, format } = await this.locate(uri, flag);
    const reader = format === "parquet" ? "read_parquet" : "read_csv";
    // CSV is parsed once into a table; Parquet is read in place, column by column.
    const fix = "Check that the file is a valid CSV (with a header) or Parquet file.";
    return this.openSelect(`SELECT * FROM ${reader}(${quoteString(pattern)})`, format === "parquet" ? "VIEW" : "TABLE", alias, flag, uri, `cannot be read as ${format}`, fix);
  }

  /**
   * Opens the rows of a DuckDB SELECT as a table (a query over payload logs, say); `label` names it
   * in errors and in the report.
   */
  async openQuery(select: string, alias: string, label: string): Promise<Table> {
    return this.openSelect(select, "VIEW", alias, label, label, "is not a query DuckDB can run", "Check the query against the files it reads.");
  }

  private async openSelect(select: string, kind: "VIEW" | "TABLE", alias: string, flag: string, uri: string, what: string, fix: string): Promise<Table> {
    const conn = await this.instance.connect();
    this.connections.push(conn);
    try {
      await conn.run(`CREATE OR REPLACE TEMP ${kind} ${quoteIdent(alias)} AS ${select}`);
    } catch (err) {
      throw MlopsError.of(flag, `${what} (${(err as Error).message.split("\n")[0]})`, uri, fix);
    }
    const rows = Number((await conn.runAndReadAll(`SELECT count(*) FROM ${quoteIdent(alias)}`)).getColumns()[0]![0]);
    if (rows === 0) throw MlopsError.of(flag, "has no data rows", uri, "Give a table with at least one row.");
    const described = (await conn.runAndReadAll(`DESCRIBE ${quoteIdent(alias)}`)).getRowObjectsJS();
    const columns = described.map((r) => ({ name: String(r.column_name), duckType: String(r.column_type), physical: physicalOf(String(r.column_type)) }));
    const pool: ArrayBuffer[] = [];
    return {
      uri,
      rows,
      columns,
      readColumns: (names) => readColumns(conn, alias, rows, columns, names, pool),
      release: (data) => {
        for (const d of data.values()) {
          // A column whose values went to another thread has a detached (empty) buffer: it comes back through recycle.
          if (d.kind === "numeric" && d.sample.values && d.sample.values.buffer.byteLength === rows * 8) pool.push(d.sample.values.buffer as ArrayBuffer);
        }
      },
      recycle: (buffers) => {
        for (const b of buffers) if (b.byteLength === rows * 8) pool.push(b);
      },
    };
  }

  /** The local path (or DuckDB glob) of `uri` and its format; `s3://` objects are copied here first. */
  private async locate(uri: string, flag: string): Promise<{ pattern: string; format: Format }> {
    if (/^s3:\/\//i.test(uri)) return this.stage(uri, flag);
    const path = /^file:\/\//i.test(uri) ? filePath(uri, this.cwd) : resolve(this.cwd, uri);
    if (/[*?[]/.test(path)) return { pattern: path, format: formatOf(path, flag, uri) };
    const st = await stat(path).catch(() => undefined);
    if (!st) throw MlopsError.of(flag, "does not exist", uri, `Check the path (looked for ${path}).`);
    if (!st.isDirectory()) return { pattern: path, format: formatOf(path, flag, uri) };
    const files = (await readdir(path, { recursive: true })).map(String).filter((f) => /\.(parquet|pq|csv|tsv)(\.gz)?$/i.test(f));
    const formats = new Set(files.map((f) => formatOf(f, flag, uri)));
    if (formats.size !== 1) {
      throw MlopsError.of(flag, formats.size === 0 ? "is a folder with no .parquet or .csv files" : "is a folder that mixes CSV and Parquet files", uri, "Point it at one file, or a folder of files of one format.");
    }
    const format = [...formats][0]!;
    return { pattern: join(path, "**", format === "parquet" ? "*.parquet" : "*.csv"), format };
  }

  private async stage(uri: string, flag: string): Promise<{ pattern: string; format: Format }> {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(uri)!;
    const key = m[2] ?? "";
    const dir = await mkdtemp(join(this.stageDir, "s3-"));
    if (key !== "" && !key.endsWith("/")) {
      const name = posix.basename(key);
      const store = openStore(uri.slice(0, uri.length - name.length - 1));
      if (await store.exists(name)) {
        await store.getFile(name, join(dir, name));
        return { pattern: join(dir, name), format: formatOf(name, flag, uri) };
      }
    }
    // A prefix: every CSV or Parquet object under it.
    const store = openStore(uri.replace(/\/+$/, ""));
    const keys = (await store.list("")).filter((k) => /\.(parquet|pq|csv|tsv)(\.gz)?$/i.test(k));
    if (keys.length === 0) throw MlopsError.of(flag, "names no CSV or Parquet object", uri, "Check the bucket and key (a single object, or a prefix of them).");
    for (const k of keys) await store.getFile(k, join(dir, ...k.split("/")));
    const format = formatOf(keys[0]!, flag, uri);
    return { pattern: join(dir, "**", format === "parquet" ? "*.parquet" : "*.csv"), format };
  }
}

export function formatOf(path: string, flag: string, uri: string): Format {
  const name = basename(path).toLowerCase().replace(/\.gz$/, "");
  if (name.endsWith(".parquet") || name.endsWith(".pq")) return "parquet";
  if (name.endsWith(".csv") || name.endsWith(".tsv")) return "csv";
  throw MlopsError.of(flag, "is neither a CSV nor a Parquet file (told by its extension)", uri, "Name it *.csv or *.parquet (or *.json for a reference profile).");
}

async function readColumns(
  conn: DuckDBConnection,
  alias: string,
  rows: number,
  columns: readonly ColumnInfo[],
  names: readonly string[],
  pool: ArrayBuffer[],
): Promise<Map<string, ColumnData>> {
  const byName = new Map(columns.map((c) => [c.name, c]));
  const infos = names.map((n) => byName.get(n)!);
  const out = new Map<string, ColumnData>();
  const numeric = infos.filter((c) => c.physical === "float" || c.physical === "int");
  for (let i = 0; i < numeric.length; i += NUMERIC_BATCH) {
    for (const d of await readNumeric(conn, alias, rows, numeric.slice(i, i + NUMERIC_BATCH), pool)) out.set(d.name, d.data);
  }
  for (const c of infos.filter((c) => c.physical === "bool" || c.physical === "string")) out.set(c.name, await readCounts(conn, alias, rows, c));
  return out;
}

/** Reads numerical columns in one scan: NULLs arrive as NaN; non-finite values are counted as missing. */
async function readNumeric(conn: DuckDBConnection, alias: string, rows: number, cols: readonly ColumnInfo[], pool: ArrayBuffer[]): Promise<{ name: string; data: NumericalData }[]> {
  const select = cols.map((c) => `coalesce(CAST(${quoteIdent(c.name)} AS DOUBLE), 'NaN'::DOUBLE)`).join(", ");
  // Streamed: chunks come straight from the scan (a materialized result's getChunk(i) costs more).
  const result = await conn.stream(`SELECT ${select} FROM ${quoteIdent(alias)}`);
  const values = cols.map(() => new Float64Array(pool.pop() ?? new ArrayBuffer(rows * 8)));
  const kept = cols.map(() => 0);
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    for (let k = 0; k < cols.length; k++) kept[k] = copyFinite(doubles(chunk.getColumnVector(k)), values[k]!, kept[k]!);
  }
  return cols.map((c, k) => {
    const data: NumericalData = {
      kind: "numeric",
      physical: c.physical as "float" | "int",
      duckType: c.duckType,
      rows,
      missing: rows - kept[k]!,
      sample: sampleOf(values[k]!.subarray(0, kept[k]!)),
      exact: true,
    };
    return { name: c.name, data };
  });
}

/** Appends the finite values of `src` to `dst` from `at`; returns the new length. */
function copyFinite(src: Float64Array, dst: Float64Array, at: number): number {
  let n = at;
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    // v - v is 0 for finite values, NaN for NaN and ±Infinity.
    if (v - v === 0) dst[n++] = v;
  }
  return n;
}

/**
 * A vector's doubles without a per-item call: @duckdb/node-api keeps them in a Float64Array over
 * DuckDB's own memory (its `items`, not part of the typed API). Falls back to `getItem` if a future
 * release stores them differently.
 */
function doubles(vector: DuckDBVector): Float64Array {
  const items = (vector as unknown as { items?: unknown }).items;
  if (items instanceof Float64Array && items.length === vector.itemCount) return items;
  const out = new Float64Array(vector.itemCount);
  for (let i = 0; i < out.length; i++) out[i] = (vector.getItem(i) as number | null) ?? NaN;
  return out;
}

async function readCounts(conn: DuckDBConnection, alias: string, rows: number, c: ColumnInfo): Promise<CategoricalData> {
  const expr = c.physical === "string" ? `CAST(${quoteIdent(c.name)} AS VARCHAR)` : quoteIdent(c.name);
  const result = await conn.runAndReadAll(`SELECT ${expr} AS v, count(*)::DOUBLE AS n FROM ${quoteIdent(alias)} GROUP BY 1`);
  const counts = new Map<Key, number>();
  let total = 0;
  for (const [v, n] of result.getRowsJS() as [Key | null, number][]) {
    if (v === null) continue;
    counts.set(v, n);
    total += n;
  }
  return { kind: "categorical", physical: c.physical as "bool" | "string", duckType: c.duckType, rows, missing: rows - total, counts: { counts, total } };
}
