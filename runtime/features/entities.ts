import { stat } from "node:fs/promises";
import type { DuckDBConnection } from "@duckdb/node-api";
import { MlopsError } from "../../src/errors.js";
import { castExpr, quoteIdent, quoteString, type ColumnKind } from "./source.js";
import { checkFile } from "./validate.js";

/** The entity file's timestamp column (Feast's name for it). */
export const ENTITY_TIMESTAMP = "event_timestamp";
/** Columns the join adds to the entity table; an input column may not start with this. */
export const RESERVED_PREFIX = "__mlops_";
/** The loaded entity rows: every input column, plus `__mlops_row` (input order, from 1) and `__mlops_t` (UTC). */
export const ENTITY_TABLE = "__mlops_entities";

/** `csv` or `parquet` from a file name; `flag` names the option in the error. */
export function fileFormat(path: string, flag: string): "csv" | "parquet" {
  const name = path.toLowerCase().replace(/\.(gz|zst)$/, "");
  if (name.endsWith(".csv")) return "csv";
  if (name.endsWith(".parquet") || name.endsWith(".pq")) return "parquet";
  throw MlopsError.of(flag, "has no .csv or .parquet extension", path, "Name the file *.csv or *.parquet.");
}

export interface LoadedEntities {
  /** The input columns, in file order. */
  readonly columns: readonly string[];
  readonly rows: number;
  /** Earliest and latest entity timestamp, widened to whole milliseconds (undefined when no row has one). */
  readonly minT?: Date;
  readonly maxT?: Date;
}

/**
 * Loads the entity file into {@link ENTITY_TABLE}. Each join key must be present and hold values of its
 * entity's type, and `event_timestamp` must parse (ISO 8601); the first bad value is reported with its row
 * (CSV: line). Other columns keep the types DuckDB reads them with; join keys come out typed, and
 * `event_timestamp` as a UTC TIMESTAMPTZ.
 */
export async function loadEntities(conn: DuckDBConnection, path: string, keys: ReadonlyArray<{ name: string; kind: ColumnKind }>): Promise<LoadedEntities> {
  const format = fileFormat(path, "--entities");
  if (!(await stat(path).catch(() => undefined))?.isFile()) throw MlopsError.of("--entities", "does not exist", path, "Pass the path of a .csv or .parquet file with the join keys and event_timestamp.");
  const needed = [...keys, { name: ENTITY_TIMESTAMP, kind: "timestamp" as const }];
  const stored = await checkFile(conn, {
    path,
    format,
    field: "--entities",
    label: path,
    columns: needed,
    fix: {
      missing: `add it to the entity file: each row needs the join keys of the requested views (${keys.map((k) => k.name).join(", ")}) and ${ENTITY_TIMESTAMP}`,
      value: "Fix or drop that row of the entity file.",
    },
  });
  const columns = [...stored.keys()];
  const reserved = columns.find((c) => c.startsWith(RESERVED_PREFIX));
  if (reserved) throw MlopsError.of(`--entities ${path}`, `has a column named with the reserved prefix ${RESERVED_PREFIX}`, reserved, "Rename the column.");
  // CSV: other columns keep DuckDB's detected types (numbers stay numbers for training); the checked ones
  // are read as text and cast here, by the same rules the check applied.
  // The input position: a Parquet file numbers its rows as it is read, in parallel; a CSV file's rows
  // (or a Parquet file's that has a column of that name) are numbered by a window over the scan (one thread).
  const numbered = format === "parquet" && !columns.includes("file_row_number");
  const reader =
    format === "csv"
      ? `read_csv(${quoteString(path)}, header = true, types = {${needed.map((c) => `${quoteString(c.name)}: 'VARCHAR'`).join(", ")}})`
      : `read_parquet(${quoteString(path)}${numbered ? ", file_row_number = true" : ""})`;
  const position = numbered ? "file_row_number + 1" : "row_number() OVER ()";
  const exclude = numbered ? " EXCLUDE (file_row_number)" : "";
  const replace = [
    ...keys.map((k) => `${castExpr(k.name, k.kind)} AS ${quoteIdent(k.name)}`),
    `CAST(${quoteIdent(ENTITY_TIMESTAMP)} AS TIMESTAMPTZ) AS ${quoteIdent(ENTITY_TIMESTAMP)}`,
  ];
  try {
    await conn.run(
      `CREATE OR REPLACE TEMP TABLE ${ENTITY_TABLE} AS SELECT ${position} AS __mlops_row, ${castExpr(ENTITY_TIMESTAMP, "timestamp", format === "csv" ? "VARCHAR" : stored.get(ENTITY_TIMESTAMP))} AS __mlops_t, *${exclude} REPLACE (${replace.join(", ")}) FROM ${reader}`,
    );
  } catch (err) {
    throw MlopsError.of("--entities", `cannot be read (${(err as Error).message.split("\n")[0]})`, path, "Check the file: a header line, then one row per entity and time.");
  }
  const [rows, minT, maxT] = (await conn.runAndReadAll(`SELECT count(*), epoch_us(min(__mlops_t)), epoch_us(max(__mlops_t)) FROM ${ENTITY_TABLE}`)).getRows()[0]!;
  return {
    columns,
    rows: Number(rows),
    ...(minT === null ? {} : { minT: new Date(Math.floor(Number(minT) / 1000)), maxT: new Date(Math.ceil(Number(maxT) / 1000)) }),
  };
}
