import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, stat, symlink } from "node:fs/promises";
import { basename, join, posix } from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { MlopsError } from "../../src/errors.js";
import type { ModelTrainingSet } from "../../src/registry/index.js";
import type { FileDatasetSpec, TrainSpec } from "../../src/spec/train.js";
import { filePath, openStore } from "../../src/store/index.js";
import { holdoutMask } from "./split.js";

/** One side of the split, features row-major. */
export interface Split {
  readonly X: Float64Array;
  readonly y: Float64Array;
  readonly n: number;
  readonly d: number;
}

/** The columns asked for: the spec's, with a training set's default exclusions added. */
export type DatasetColumns = Pick<FileDatasetSpec, "label" | "features" | "exclude">;

/**
 * Where a run's rows come from, resolved from `spec.dataset`: a file ({@link fileSource}) or a saved
 * training set (./training-set.ts).
 */
export interface DatasetSource {
  /** The data's URI (a file's, or the training set's data object): recorded as the model's dataset. */
  readonly uri: string;
  readonly format: "csv" | "parquet";
  /** The spec field that names the data, in messages: `dataset.uri` or `dataset.trainingSet`. */
  readonly field: string;
  /** A local copy already made (a resolved training set); otherwise `uri` is fetched. */
  readonly localPath?: string;
  /** The data's digest when it was verified already (not hashed again). */
  readonly digest?: string;
  readonly columns: DatasetColumns;
  /** Set for a training set: what the model version records of it. */
  readonly trainingSet?: ModelTrainingSet;
}

/** The source of a `dataset: { uri, … }` block. */
export function fileSource(dataset: FileDatasetSpec): DatasetSource {
  return {
    uri: dataset.uri,
    format: datasetFormat(dataset.uri, dataset.format),
    field: "dataset.uri",
    columns: { label: dataset.label, ...(dataset.features ? { features: dataset.features } : {}), exclude: dataset.exclude },
  };
}

export interface Dataset {
  readonly uri: string;
  readonly format: "csv" | "parquet";
  /** The staged local copy of the original file. */
  readonly localPath: string;
  /** `sha256:<hex>` of the file bytes. */
  readonly digest: string;
  readonly label: string;
  readonly features: readonly string[];
  readonly rows: number;
  /** The saved training set the rows are, when `dataset` named one. */
  readonly trainingSet?: ModelTrainingSet;
  readonly train: Split;
  readonly holdout: Split;
  /** Staged files (set when `stage` was asked for). */
  readonly staged?: { readonly dir: string; readonly trainParquet: string; readonly holdoutParquet: string; readonly trainCsv: string; readonly holdoutCsv: string };
}

/** DuckDB types read as numbers. BOOLEAN counts: it becomes 0/1. */
const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|REAL|DECIMAL(\(\d+,\s*\d+\))?|BOOLEAN)$/;

/** The dataset's format: `format` if given, else the file extension. */
export function datasetFormat(uri: string, format?: "csv" | "parquet"): "csv" | "parquet" {
  if (format) return format;
  const name = uri.toLowerCase().replace(/\.(gz|zst)$/, "");
  if (name.endsWith(".parquet") || name.endsWith(".pq")) return "parquet";
  if (name.endsWith(".csv") || name.endsWith(".tsv")) return "csv";
  throw MlopsError.of(
    "dataset.format",
    "cannot be told from the file extension",
    uri,
    'Name the file *.csv or *.parquet, or set dataset.format to "csv" or "parquet".',
  );
}

/** Brings the dataset to a local file in `dir`: `s3://` objects are copied through the object store. */
async function fetchDataset(uri: string, dir: string, cwd?: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  if (uri.startsWith("s3://")) {
    const key = posix.basename(uri);
    const store = openStore(uri.slice(0, uri.length - key.length - 1), { cwd });
    const local = join(dir, key);
    await store.getFile(key, local);
    return local;
  }
  const path = filePath(uri, cwd);
  try {
    await stat(path);
  } catch {
    throw MlopsError.of("dataset.uri", "does not exist", uri, `Check the path (looked for ${path}).`);
  }
  // The trainer sees the original next to the split files; a link avoids copying a large file.
  const local = join(dir, basename(path));
  await symlink(path, local);
  return local;
}

/** Links a local file into `dir` (the trainer sees it next to the split files) unless it is there already. */
async function linkInto(path: string, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const local = join(dir, basename(path));
  if (local !== path) await symlink(path, local);
  return local;
}

/** `sha256:<hex>` of a file's bytes, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest("hex")}`;
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
const quoteString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * The feature columns: `features` if given, else every column but the label and `exclude`; each must
 * exist and be numeric, and so must the label.
 */
export function resolveColumns(
  spec: DatasetColumns,
  columns: ReadonlyArray<{ name: string; type: string }>,
): string[] {
  const types = new Map(columns.map((c) => [c.name, c.type]));
  const names = columns.map((c) => c.name);
  const problems: string[] = [];
  if (!types.has(spec.label)) {
    problems.push(`dataset.label: no column named ${JSON.stringify(spec.label)}; the file has ${names.join(", ")}. Set dataset.label to one of them.`);
  }
  const features = spec.features ?? names.filter((n) => n !== spec.label && !spec.exclude.includes(n));
  for (const f of features) {
    const type = types.get(f);
    if (type === undefined) {
      problems.push(`dataset.features: no column named ${JSON.stringify(f)}; the file has ${names.join(", ")}.`);
    } else if (!NUMERIC.test(type)) {
      problems.push(`dataset: feature column ${JSON.stringify(f)} is ${type}, not numeric. Encode it as numbers, or leave it out with dataset.exclude: [${JSON.stringify(f)}].`);
    }
  }
  if (spec.features?.includes(spec.label)) problems.push(`dataset.features: includes the label ${JSON.stringify(spec.label)}. Remove it.`);
  const labelType = types.get(spec.label);
  if (labelType !== undefined && !NUMERIC.test(labelType)) {
    problems.push(`dataset.label: column ${JSON.stringify(spec.label)} is ${labelType}, not numeric. Encode it as numbers (0/1 for classification).`);
  }
  if (problems.length === 0 && features.length === 0) problems.push("dataset: no feature columns left. List them in dataset.features.");
  if (problems.length) throw new MlopsError(`dataset ${problems.length === 1 ? problems[0] : "has problems:\n  - " + problems.join("\n  - ")}`, problems);
  return features;
}

export interface LoadOptions {
  /** Staging folder (the trainer's MLOPS_DATA_DIR). */
  readonly dir: string;
  /** Write train/holdout as Parquet and CSV into `dir` for a command trainer. */
  readonly stage: boolean;
  readonly cwd?: string;
  /** Where the rows come from. @default fileSource(spec.dataset) (a `trainingSet` must be resolved first) */
  readonly source?: DatasetSource;
}

/**
 * Fetches, checks, splits and (for command trainers) stages the dataset. DuckDB reads the local copy:
 * its httpfs extension cannot be relied on, so remote objects are staged first.
 */
export async function loadDataset(spec: TrainSpec, opts: LoadOptions): Promise<Dataset> {
  let src = opts.source;
  if (!src) {
    if ("trainingSet" in spec.dataset) throw new Error("loadDataset: resolve dataset.trainingSet first (trainingSetSource) and pass it as opts.source");
    src = fileSource(spec.dataset);
  }
  const { format, field } = src;
  const localPath = src.localPath ? await linkInto(src.localPath, opts.dir) : await fetchDataset(src.uri, opts.dir, opts.cwd);
  const digest = src.digest ?? (await sha256File(localPath));
  const instance = await DuckDBInstance.create(":memory:");
  const conn = await instance.connect();
  try {
    const reader = format === "parquet" ? "read_parquet" : "read_csv_auto";
    try {
      await conn.run(`CREATE TABLE data AS SELECT * FROM ${reader}(${quoteString(localPath)})`);
    } catch (err) {
      throw MlopsError.of(field, `cannot be read as ${format} (${(err as Error).message.split("\n")[0]})`, src.uri, src.trainingSet ? "Save the training set again." : "Check the file, or set dataset.format.");
    }
    // Before the column checks: a header-only file has no rows to infer types from, so every column reads as text.
    const rows = Number((await conn.runAndReadAll("SELECT count(*) FROM data")).getColumns()[0]![0]);
    if (rows === 0) throw MlopsError.of(field, "has no data rows (only a header, or nothing)", src.uri, src.trainingSet ? "Save a training set from an entity file with one row per example." : "Give a file with one row per example.");
    const described = await conn.runAndReadAll("DESCRIBE data");
    const columns = described.getRowObjectsJS().map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
    const features = resolveColumns(src.columns, columns);
    const label = src.columns.label;
    await checkValues(conn, spec.task, src, features);
    const mask = holdoutMask(rows, spec.split.holdoutFraction, spec.split.seed);
    const holdoutRows = mask.reduce((n, v) => n + v, 0);
    if (rows - holdoutRows < MIN_TRAINING_ROWS || holdoutRows < 1) {
      throw MlopsError.of(
        field,
        `has ${rows} row${rows === 1 ? "" : "s"}: split.holdoutFraction ${spec.split.holdoutFraction} leaves ${rows - holdoutRows} for training and ${holdoutRows} for the holdout, and training needs at least ${MIN_TRAINING_ROWS} and the holdout 1`,
        src.uri,
        "Give more rows, or change split.holdoutFraction.",
      );
    }
    const { train, holdout } = await readSplits(conn, label, features, mask);
    let staged: Dataset["staged"];
    if (opts.stage) staged = await stageSplits(conn, mask, opts.dir);
    return { uri: src.uri, format, localPath, digest, label, features, rows, ...(src.trainingSet ? { trainingSet: src.trainingSet } : {}), train, holdout, staged };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** Fewest rows a model is fitted on. */
export const MIN_TRAINING_ROWS = 2;

/** Where a row is in the file, as its reader counts: a CSV line (after the header line), a Parquet row. */
function fileRow(rowid: number, format: "csv" | "parquet"): string {
  return format === "csv" ? `line ${rowid + 2}` : `row ${rowid + 1}`;
}

async function checkValues(conn: DuckDBConnection, task: TrainSpec["task"], src: DatasetSource, features: readonly string[]): Promise<void> {
  const label = src.columns.label;
  const cols = [label, ...features];
  const nulls = cols.map((c) => `count(*) - count(${quoteIdent(c)})`).join(", ");
  const counts = (await conn.runAndReadAll(`SELECT ${nulls} FROM data`)).getRows()[0]!.map(Number);
  const withNulls = cols.flatMap((c, i) => (counts[i]! > 0 ? [`${c} (${counts[i]} empty)`] : []));
  if (withNulls.length) {
    const fix = src.trainingSet
      ? "A feature is empty where its view had no row for the entity within its TTL before the row's event_timestamp: drop those entity rows (or widen the view's ttl) and save the training set again, or leave the column out with dataset.exclude."
      : "Fill or drop those rows before training, or leave the column out with dataset.exclude.";
    throw MlopsError.of("dataset", "has empty values in", withNulls.join(", "), fix);
  }
  // NaN and ±Infinity are values to DuckDB (count() counts them), but no model can be fitted on them.
  const notFinite = cols.map((c) => `NOT isfinite(CAST(${quoteIdent(c)} AS DOUBLE))`).join(" OR ");
  const first = (await conn.runAndReadAll(`SELECT rowid, ${cols.map((c) => `CAST(${quoteIdent(c)} AS DOUBLE)`).join(", ")} FROM data WHERE ${notFinite} ORDER BY rowid LIMIT 1`)).getRows()[0];
  if (first) {
    const rowid = Number(first[0]);
    const at = cols.findIndex((_, i) => !Number.isFinite(Number(first[i + 1])));
    const [count] = (await conn.runAndReadAll(`SELECT count(*) FROM data WHERE ${notFinite}`)).getRows()[0]!.map(Number);
    throw MlopsError.of(
      `dataset column ${JSON.stringify(cols[at])}`,
      `is not a finite number at ${fileRow(rowid, src.format)} of ${src.uri}${count! > 1 ? ` (and ${count! - 1} more row${count === 2 ? "" : "s"} hold NaN or infinite values)` : ""}`,
      Number(first[at + 1]),
      "Drop or impute those rows before training, or leave the column out with dataset.exclude.",
    );
  }
  if (task === "classification") {
    const l = quoteIdent(label);
    const bad = (await conn.runAndReadAll(`SELECT DISTINCT CAST(${l} AS DOUBLE) FROM data WHERE CAST(${l} AS DOUBLE) NOT IN (0, 1) LIMIT 5`)).getRows().map((r) => r[0]);
    if (bad.length) {
      throw MlopsError.of(`dataset.label`, `column ${JSON.stringify(label)} must hold 0 and 1 for classification`, bad.map(Number), 'Encode the positive class as 1, or set task: "regression".');
    }
  }
}

async function readSplits(conn: DuckDBConnection, label: string, features: readonly string[], mask: Uint8Array): Promise<{ train: Split; holdout: Split }> {
  const d = features.length;
  const nHold = mask.reduce((s, v) => s + v, 0);
  const n = mask.length;
  const sides = [
    { X: new Float64Array((n - nHold) * d), y: new Float64Array(n - nHold), i: 0 },
    { X: new Float64Array(nHold * d), y: new Float64Array(nHold), i: 0 },
  ];
  const cols = [label, ...features].map((c) => `CAST(${quoteIdent(c)} AS DOUBLE)`).join(", ");
  const result = await conn.stream(`SELECT ${cols} FROM data ORDER BY rowid`);
  let row = 0;
  for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
    const values = chunk.getColumns() as number[][];
    for (let r = 0; r < chunk.rowCount; r++, row++) {
      const side = sides[mask[row]!]!;
      side.y[side.i] = values[0]![r]!;
      const base = side.i * d;
      for (let j = 0; j < d; j++) side.X[base + j] = values[j + 1]![r]!;
      side.i++;
    }
  }
  const [t, h] = sides as [(typeof sides)[0], (typeof sides)[0]];
  return { train: { X: t.X, y: t.y, n: t.i, d }, holdout: { X: h.X, y: h.y, n: h.i, d } };
}

async function stageSplits(conn: DuckDBConnection, mask: Uint8Array, dir: string): Promise<NonNullable<Dataset["staged"]>> {
  await conn.run("CREATE TABLE __holdout (row BIGINT)");
  const appender = await conn.createAppender("__holdout");
  for (let i = 0; i < mask.length; i++) {
    if (mask[i]) {
      appender.appendBigInt(BigInt(i));
      appender.endRow();
    }
  }
  appender.closeSync();
  const paths = {
    dir,
    trainParquet: join(dir, "train.parquet"),
    holdoutParquet: join(dir, "holdout.parquet"),
    trainCsv: join(dir, "train.csv"),
    holdoutCsv: join(dir, "holdout.csv"),
  };
  const side = (holdout: boolean) =>
    `SELECT * FROM data WHERE rowid ${holdout ? "" : "NOT "}IN (SELECT row FROM __holdout) ORDER BY rowid`;
  await conn.run(`COPY (${side(false)}) TO ${quoteString(paths.trainParquet)} (FORMAT parquet)`);
  await conn.run(`COPY (${side(true)}) TO ${quoteString(paths.holdoutParquet)} (FORMAT parquet)`);
  await conn.run(`COPY (${side(false)}) TO ${quoteString(paths.trainCsv)} (FORMAT csv, HEADER)`);
  await conn.run(`COPY (${side(true)}) TO ${quoteString(paths.holdoutCsv)} (FORMAT csv, HEADER)`);
  return paths;
}
