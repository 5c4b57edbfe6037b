import type { DuckDBConnection } from "@duckdb/node-api";
import { MlopsError } from "../../src/errors.js";
import type { FeatureStoreSpec, FeatureViewSpec } from "../../src/spec/features.js";
import { DUCKDB_TYPE, quoteIdent, quoteString, sourceFormat, timestampLiteral, viewColumns, type ColumnKind } from "./source.js";

/**
 * The checks behind "values are checked against the declared dtypes": every declared column present, each
 * stored column of a type that can hold its dtype, and (where the stored type is not already the declared
 * one, e.g. every CSV column) every value parsable as its dtype. The first offender is reported with the
 * file, its row (CSV: its line), the column, the value and the type expected.
 */

type Family = "string" | "int" | "float" | "bool" | "temporal" | "other";

function family(duckType: string): Family {
  const t = duckType.toUpperCase();
  if (t === "VARCHAR" || t.startsWith("VARCHAR(")) return "string";
  if (/^(U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT))$/.test(t)) return "int";
  if (/^(FLOAT|DOUBLE|REAL|DECIMAL(\(\d+,\s*\d+\))?)$/.test(t)) return "float";
  if (t === "BOOLEAN") return "bool";
  if (/^(DATE|TIMESTAMP(_NS|_MS|_S)?|TIMESTAMP WITH TIME ZONE)$/.test(t)) return "temporal";
  return "other";
}

/** Stored families each kind can be read from. */
const ACCEPTS: Record<ColumnKind, readonly Family[]> = {
  int32: ["string", "int", "float", "bool"],
  int64: ["string", "int", "float", "bool"],
  float32: ["string", "int", "float", "bool"],
  float64: ["string", "int", "float", "bool"],
  bool: ["string", "int", "bool"],
  string: ["string", "int", "float", "bool", "temporal"],
  timestamp: ["string", "temporal"],
};

const EXPECTED: Record<ColumnKind, string> = {
  int32: "an int32 (a whole number from -2147483648 to 2147483647)",
  int64: "an int64 (a whole number)",
  float32: "a float32 (a number within ±3.4e38)",
  float64: "a float64 (a number)",
  bool: "a bool (true/false, t/f, yes/no, 1/0)",
  string: "a string",
  timestamp: 'a timestamp (ISO 8601, e.g. "2024-05-01T12:00:00Z")',
};

/** SQL that is true when a non-null stored value does not fit `kind`; undefined when every value fits by type. */
export function misfitSql(column: string, storedType: string, kind: ColumnKind): string | undefined {
  const c = quoteIdent(column);
  const fam = family(storedType);
  if (kind === "string") return undefined;
  if (kind === "timestamp") return fam === "temporal" ? undefined : `(${c} IS NOT NULL AND TRY_CAST(${c} AS TIMESTAMPTZ) IS NULL)`;
  const target = DUCKDB_TYPE[kind];
  if (storedType.toUpperCase() === target) return undefined;
  if (kind === "int32" || kind === "int64") {
    if (fam === "string") return `(${c} IS NOT NULL AND (NOT regexp_full_match(${c}, '\\s*[+-]?[0-9]+\\s*') OR TRY_CAST(${c} AS ${target}) IS NULL))`;
    if (fam === "bool") return undefined;
    // A float stored where an integer is declared must hold whole numbers; an int64 must fit an int32.
    return `(${c} IS NOT NULL AND (TRY_CAST(${c} AS ${target}) IS NULL OR TRY_CAST(${c} AS ${target}) <> ${c}))`;
  }
  if (kind === "float32" || kind === "float64") {
    if (fam === "int" || fam === "bool" || (fam === "float" && kind === "float64")) return undefined;
    const overflow = kind === "float32" ? ` OR (isinf(TRY_CAST(${c} AS FLOAT)) AND NOT isinf(TRY_CAST(${c} AS DOUBLE)))` : "";
    return `(${c} IS NOT NULL AND (TRY_CAST(${c} AS ${target}) IS NULL${overflow}))`;
  }
  // bool
  if (fam === "int") return `(${c} IS NOT NULL AND ${c} NOT IN (0, 1))`;
  return `(${c} IS NOT NULL AND TRY_CAST(${c} AS BOOLEAN) IS NULL)`;
}

export interface ValidateOptions {
  /** Only rows whose event timestamp falls in this window are checked (a bad timestamp is always reported). */
  readonly window?: { start?: Date; end?: Date };
  /** How the file is named in errors. @default - the view's source URI */
  readonly label?: string;
}

/**
 * Checks the view's source at `path` (a local file or glob): fails naming a missing declared column (and
 * the file), a column of a type that cannot hold its dtype, or the first value that does not fit, with
 * the file, row (CSV: line number), column, value and expected type. Returns the stored column types
 * (for {@link viewSourceSql}'s `storedTypes`).
 */
export async function validateSource(conn: DuckDBConnection, view: FeatureViewSpec, spec: FeatureStoreSpec, path: string, opts: ValidateOptions = {}): Promise<Map<string, string>> {
  return checkFile(conn, {
    path,
    format: sourceFormat(view),
    field: `views.${view.name}.source`,
    label: opts.label ?? view.source.uri,
    columns: viewColumns(view, spec),
    ...(opts.window ? { window: { column: view.source.timestampField, ...opts.window } } : {}),
    fix: { missing: "add it to the file (names are case-sensitive), or fix the name in the spec", value: "Fix or drop that row (the first one that does not fit), or declare the dtype the column holds." },
  });
}

export interface FileCheck {
  readonly path: string;
  readonly format: "csv" | "parquet";
  /** The setting that names the file, e.g. `views.txn_stats.source` or `--entities`. */
  readonly field: string;
  /** The file as the user named it. */
  readonly label: string;
  readonly columns: ReadonlyArray<{ readonly name: string; readonly kind: ColumnKind }>;
  readonly window?: { readonly column: string; readonly start?: Date; readonly end?: Date };
  readonly fix: { readonly missing: string; readonly value: string };
}

/** Reads a local CSV (all text) or Parquet file or glob. */
export function fileReader(path: string, format: "csv" | "parquet", extra: readonly string[] = []): string {
  const args = [quoteString(path), ...extra];
  return format === "csv" ? `read_csv(${[...args, "header = true", "all_varchar = true"].join(", ")})` : `read_parquet(${args.join(", ")})`;
}

/** The column names and stored types of a file; a file DuckDB cannot read fails naming it. */
export async function describeFile(conn: DuckDBConnection, path: string, format: "csv" | "parquet", field: string, label: string): Promise<Map<string, string>> {
  try {
    const rows = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${fileReader(path, format)}`)).getRowObjectsJS();
    return new Map(rows.map((r) => [String(r.column_name), String(r.column_type)]));
  } catch (err) {
    throw MlopsError.of(field, `cannot be read as ${format} (${(err as Error).message.split("\n")[0]})`, label, 'Check the file (a .csv with a header line, or a .parquet file).');
  }
}

/** Presence, stored types and values of `columns` in a file: the first problem is thrown; else the stored types. */
export async function checkFile(conn: DuckDBConnection, check: FileCheck): Promise<Map<string, string>> {
  const { path, format, field, label, columns } = check;
  const stored = await describeFile(conn, path, format, field, label);
  const missing = columns.filter((c) => !stored.has(c.name)).map((c) => c.name);
  if (missing.length > 0) {
    throw MlopsError.of(
      `${field} ${label}`,
      `has no column${missing.length === 1 ? "" : "s"} ${missing.map((n) => JSON.stringify(n)).join(", ")}`,
      [...stored.keys()],
      `The file's columns are listed; ${missing.length === 1 ? check.fix.missing : check.fix.missing.replace(/\bit\b/, "them")}.`,
    );
  }
  const checks: Array<{ name: string; kind: ColumnKind; sql: string }> = [];
  for (const c of columns) {
    const type = stored.get(c.name)!;
    if (!ACCEPTS[c.kind].includes(family(type))) {
      throw MlopsError.of(`${field} ${label}, column ${JSON.stringify(c.name)}`, `is stored as ${type}, which cannot hold ${EXPECTED[c.kind]}`, type, "Write the column with a matching type, or declare the dtype it holds.");
    }
    const sql = misfitSql(c.name, type, c.kind);
    if (sql) checks.push({ name: c.name, kind: c.kind, sql });
  }
  if (checks.length === 0) return stored;
  const reader = fileReader(path, format, format === "parquet" ? ["filename = true", "file_row_number = true"] : ["filename = true"]);
  const any = checks.map((c) => c.sql).join(" OR ");
  const where = windowed(any, check.window, check.window ? stored.get(check.window.column) : undefined);
  const found = await conn.runAndReadAll(`SELECT 1 FROM ${reader} WHERE ${where} LIMIT 1`);
  if (found.currentRowCount === 0) return stored;
  const flags = checks.map((c, i) => `${c.sql} AS __bad${i}, CAST(${quoteIdent(c.name)} AS VARCHAR) AS __val${i}`).join(", ");
  let row: Record<string, unknown>;
  let at: string;
  if (format === "parquet") {
    row = (await conn.runAndReadAll(`SELECT filename, file_row_number, ${flags} FROM ${reader} WHERE ${where} ORDER BY filename, file_row_number LIMIT 1`)).getRowObjectsJS()[0]!;
    at = `row ${Number(row.file_row_number) + 1}`;
  } else {
    const r = await locateCsvRow(conn, reader, [...stored.keys()], flags, where);
    row = r.row;
    at = `line ${r.line} (data row ${r.index})`;
  }
  const bad = checks.findIndex((_, i) => row[`__bad${i}`] === true);
  const hit = checks[bad]!;
  const file = /[*?[]/.test(path) ? `${label} (file ${String(row.filename)})` : label;
  throw MlopsError.of(`${field} ${file} ${at}, column ${JSON.stringify(hit.name)}`, `is not ${EXPECTED[hit.kind]}`, row[`__val${bad}`], check.fix.value);
}

function windowed(cond: string, window: FileCheck["window"], tsType: string | undefined): string {
  if (!window || (!window.start && !window.end)) return `(${cond})`;
  const ts = `CAST(TRY_CAST(${quoteIdent(window.column)} AS TIMESTAMPTZ) AS TIMESTAMP)`;
  const inside = [
    ...(window.start ? [`${ts} >= ${timestampLiteral(window.start)}`] : []),
    ...(window.end ? [`${ts} <= ${timestampLiteral(window.end)}`] : []),
  ].join(" AND ");
  const badTs = misfitSql(window.column, tsType ?? "VARCHAR", "timestamp");
  return `((${cond}) AND (${inside}${badTs ? ` OR ${badTs}` : ""}))`;
}

/**
 * The first offending CSV row in file order, and its line number. DuckDB's CSV reader has no row number
 * column: one thread and a streaming row_number() keep the file's order, and the line is the header line
 * plus every earlier record's line breaks (quoted fields may hold newlines). Only run once a row is known bad.
 */
async function locateCsvRow(conn: DuckDBConnection, reader: string, names: string[], flags: string, where: string): Promise<{ row: Record<string, unknown>; index: number; line: number }> {
  const threads = String((await conn.runAndReadAll("SELECT current_setting('threads')")).getRows()[0]![0]);
  await conn.run("SET threads = 1");
  try {
    const breaks = names.map((n) => `coalesce(length(${quoteIdent(n)}) - length(replace(${quoteIdent(n)}, chr(10), '')), 0)`).join(" + ");
    const numbered = `SELECT row_number() OVER () AS __row, filename, ${breaks} AS __breaks, * FROM ${reader}`;
    const row = (await conn.runAndReadAll(`SELECT __row, filename, ${flags} FROM (${numbered}) WHERE ${where} ORDER BY __row LIMIT 1`)).getRowObjectsJS()[0]!;
    const file = `'${String(row.filename).replace(/'/g, "''")}'`;
    const [count, breaksBefore] = (await conn.runAndReadAll(`SELECT count(*), coalesce(sum(__breaks), 0) FROM (${numbered}) WHERE __row < ${Number(row.__row)} AND filename = ${file}`)).getRows()[0]!.map(Number);
    // Line 1 is the header; data row k of a file starts on line k + 1 plus the line breaks inside earlier rows.
    return { row, index: count! + 1, line: count! + 2 + breaksBefore! };
  } finally {
    await conn.run(`SET threads = ${Number(threads) || 1}`);
  }
}
