/**
 * Reference profiles: what drift needs of a reference table, stored as a small JSON file (written by
 * the training job beside each model version), so drift runs without the training data.
 *
 * Per numerical column: rows, missing, distinct count, mean and population std (exact), min/max, and
 * the values themselves with their counts when the column has at most {@link EXACT_VALUES} distinct
 * values; otherwise a sketch of {@link SKETCH_POINTS} evenly spaced order statistics, each carrying an
 * equal share of the rows. Per categorical column: every category's count.
 *
 * What a profile can do: everything, exactly, for categorical columns and for numerical columns with
 * few distinct values, and so for every column of a reference of at most 1000 rows (the KS, chi-square
 * and Z tests Evidently picks there need the raw values, and a profile of such a table keeps them all).
 * What it cannot: for a numerical column with more distinct values than the cap, the Wasserstein
 * distance, PSI/Jensen-Shannon over Sturges bins and KS are computed on the sketch, an approximation
 * (the Wasserstein error is at most about (max − min)/points, and in practice far less); the report's
 * data quality lists such columns under `approximate`.
 */
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { MlopsError, parseOrThrow } from "../../src/errors.js";
import type { CategoricalData, ColumnData, NumericalData } from "./column.js";
import { physicalOf } from "./select.js";
import { sampleOf, sampleOfSupport } from "./stats/sample.js";
import type { Support } from "./stats/support.js";
import type { Key } from "./stats/tests.js";
import { TableReader, type ColumnInfo, type Table } from "./table.js";

export const PROFILE_KIND = "mlops-drift-profile";
export const PROFILE_VERSION = 1;
/** Numerical columns with at most this many distinct values keep all of them (exact tests). */
export const EXACT_VALUES = 2000;
/** Order statistics kept for a numerical column with more distinct values than that. */
export const SKETCH_POINTS = 2000;
/** Columns read at a time while profiling a table. */
const PROFILE_GROUP = 8;

const numericalSchema = z.strictObject({
  type: z.string(),
  rows: z.number().int().nonnegative(),
  missing: z.number().int().nonnegative(),
  distinct: z.number().int().nonnegative(),
  mean: z.number(),
  std: z.number().nonnegative(),
  min: z.number(),
  max: z.number(),
  exact: z.boolean(),
  values: z.array(z.number()),
  counts: z.array(z.number().positive()),
});

const categoricalSchema = z.strictObject({
  type: z.string(),
  rows: z.number().int().nonnegative(),
  missing: z.number().int().nonnegative(),
  categories: z.array(z.tuple([z.union([z.string(), z.number(), z.boolean()]), z.number().positive()])),
});

const profileSchema = z.strictObject({
  kind: z.literal(PROFILE_KIND),
  version: z.literal(PROFILE_VERSION),
  created: z.string(),
  source: z.string().optional(),
  /** The model input's features in tensor order (a profile the training job wrote): the payload log's columns. */
  features: z.array(z.string()).optional(),
  rows: z.number().int().positive(),
  columns: z.record(z.string(), z.union([numericalSchema, categoricalSchema])),
});

export type Profile = z.infer<typeof profileSchema>;
type NumericalProfile = z.infer<typeof numericalSchema>;
type CategoricalProfile = z.infer<typeof categoricalSchema>;

/** In-memory columns: numbers (NaN or null for missing), or strings/booleans (null for missing). */
export type ColumnArrays = Readonly<Record<string, ArrayLike<number | null> | ArrayLike<string | null> | ArrayLike<boolean | null>>>;

/**
 * Builds a reference profile from a table: a CSV/Parquet URI (as `mlops drift --reference` takes),
 * a {@link Table} already open, or in-memory columns (e.g. the training job's feature matrix split
 * into one array per feature).
 */
export async function buildProfile(input: string | Table | ColumnArrays, opts: { cwd?: string; source?: string; features?: readonly string[] } = {}): Promise<Profile> {
  if (typeof input === "string") {
    const reader = await TableReader.create({ cwd: opts.cwd });
    try {
      return await buildProfile(await reader.open(input, "reference", "reference"), { ...opts, source: opts.source ?? input });
    } finally {
      await reader.close();
    }
  }
  const columns: Profile["columns"] = {};
  const add = (data: ReadonlyMap<string, ColumnData>) => {
    for (const [name, d] of data) columns[name] = d.kind === "numeric" ? numericalProfile(d) : categoricalProfile(d);
  };
  let rows: number;
  if (isTable(input)) {
    rows = input.rows;
    const names = input.columns.filter((c) => ["float", "int", "bool", "string"].includes(c.physical)).map((c) => c.name);
    // A few columns at a time, so a wide table never sits in memory whole.
    for (let i = 0; i < names.length; i += PROFILE_GROUP) {
      const data = await input.readColumns(names.slice(i, i + PROFILE_GROUP));
      add(data);
      input.release?.(data);
    }
  } else {
    const arrays = arrayData(input);
    rows = arrays.rows;
    add(arrays.data);
  }
  const source = opts.source ?? (isTable(input) ? input.uri : undefined);
  const features = opts.features ? { features: [...opts.features] } : {};
  return { kind: PROFILE_KIND, version: PROFILE_VERSION, created: new Date().toISOString(), ...(source ? { source } : {}), ...features, rows, columns };
}

function isTable(x: Table | ColumnArrays): x is Table {
  return typeof (x as Table).readColumns === "function" && Array.isArray((x as Table).columns);
}

/** In-memory columns as drift's column data (every value kept: exact). */
export function arrayData(cols: ColumnArrays): { rows: number; data: Map<string, ColumnData> } {
  const entries = Object.entries(cols);
  if (entries.length === 0) throw MlopsError.of("profile columns", "are empty", cols, "Pass at least one column.");
  const rows = entries[0]![1].length;
  const data = new Map<string, ColumnData>();
  for (const [name, arr] of entries) {
    if (arr.length !== rows) throw MlopsError.of(`profile column ${JSON.stringify(name)}`, `has ${arr.length} values, the first column ${rows}`, arr.length, "Give every column the same number of rows.");
    let first: unknown = null;
    for (let i = 0; i < arr.length && (first === null || first === undefined); i++) first = arr[i];
    if (typeof first === "string" || typeof first === "boolean") {
      const counts = new Map<Key, number>();
      let total = 0;
      for (let i = 0; i < rows; i++) {
        const v = arr[i];
        if (v === null || v === undefined) continue;
        counts.set(v, (counts.get(v) ?? 0) + 1);
        total++;
      }
      const physical = typeof first === "string" ? "string" : "bool";
      data.set(name, { kind: "categorical", physical, duckType: physical === "string" ? "VARCHAR" : "BOOLEAN", rows, missing: rows - total, counts: { counts, total } });
    } else {
      const finite = new Float64Array(rows);
      let n = 0;
      for (let i = 0; i < rows; i++) {
        const v = arr[i] as number | null;
        if (typeof v === "number" && v - v === 0) finite[n++] = v;
      }
      data.set(name, { kind: "numeric", physical: "float", duckType: "DOUBLE", rows, missing: rows - n, sample: sampleOf(finite.subarray(0, n)), exact: true });
    }
  }
  return { rows, data };
}

function numericalProfile(d: NumericalData): NumericalProfile {
  const s = d.sample.support();
  const base = { type: d.duckType, rows: d.rows, missing: d.missing, distinct: s.values.length, mean: d.sample.mean, std: d.sample.std, min: s.values[0] ?? 0, max: s.values.at(-1) ?? 0 };
  if (s.values.length <= EXACT_VALUES) return { ...base, exact: true, values: [...s.values], counts: [...s.counts] };
  const sketch = sketchOf(s, SKETCH_POINTS);
  return { ...base, exact: false, values: [...sketch.values], counts: [...sketch.counts] };
}

/** Order statistics at ranks (i + ½)·n/points, each weighted n/points (equal values merged). */
export function sketchOf(s: Support, points: number): Support {
  const values: number[] = [];
  const counts: number[] = [];
  const weight = s.total / points;
  let idx = 0;
  let seen = s.counts[0]!;
  for (let i = 0; i < points; i++) {
    const rank = Math.floor(((i + 0.5) * s.total) / points);
    while (seen <= rank) seen += s.counts[++idx]!;
    const v = s.values[idx]!;
    if (values.length > 0 && values[values.length - 1] === v) counts[counts.length - 1]! += weight;
    else (values.push(v), counts.push(weight));
  }
  return { values: Float64Array.from(values), counts: Float64Array.from(counts), total: s.total };
}

function categoricalProfile(d: CategoricalData): CategoricalProfile {
  return { type: d.duckType, rows: d.rows, missing: d.missing, categories: [...d.counts.counts.entries()] };
}

/** Reads and validates a profile file; `flag` names the option in errors. */
export async function readProfile(path: string, flag: string): Promise<Profile> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    const what = (err as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : `is not a JSON file (${(err as Error).message})`;
    throw MlopsError.of(flag, what, path, "Give a profile written by `mlops drift profile` or the training job, or a CSV/Parquet table.");
  }
  return parseProfile(raw, `${flag} ${path}`);
}

/** Validates a profile already parsed from JSON (one read from the registry, say); `where` names it in errors. */
export function parseProfile(raw: unknown, where: string): Profile {
  return parseOrThrow(profileSchema, raw, "profile", where);
}

/** A profile as a reference {@link Table}: its columns come back from the stored statistics. */
export function profileTable(profile: Profile, uri: string): Table {
  const columns: ColumnInfo[] = Object.entries(profile.columns).map(([name, c]) => ({ name, duckType: c.type, physical: physicalOf(c.type) }));
  return {
    uri,
    rows: profile.rows,
    columns,
    readColumns: async (names) => new Map(names.map((n) => [n, columnOfProfile(profile.columns[n]!, physicalOf(profile.columns[n]!.type))])),
  };
}

function columnOfProfile(c: NumericalProfile | CategoricalProfile, physical: ReturnType<typeof physicalOf>): ColumnData {
  if ("categories" in c) {
    const counts = new Map<Key, number>(c.categories);
    const total = c.categories.reduce((a, [, n]) => a + n, 0);
    return { kind: "categorical", physical: physical === "bool" ? "bool" : "string", duckType: c.type, rows: c.rows, missing: c.missing, counts: { counts, total } };
  }
  const support: Support = { values: Float64Array.from(c.values), counts: Float64Array.from(c.counts), total: c.rows - c.missing };
  return {
    kind: "numeric",
    physical: physical === "int" ? "int" : "float",
    duckType: c.type,
    rows: c.rows,
    missing: c.missing,
    sample: sampleOfSupport(support, c),
    exact: c.exact,
  };
}
