/**
 * Data quality of the current table against the reference: which columns are missing or new, which
 * changed storage type, which cannot be tested, null rates, and categories the reference never saw.
 * Reported beside the drift results (report.json's `data_quality`); the schema changes the tests
 * cannot run on are errors raised where the columns are chosen ({@link chooseColumns}).
 */
import { MlopsError } from "../../src/errors.js";
import type { ColumnData } from "./column.js";
import type { ColumnInfo, Table } from "./table.js";

const TESTABLE = new Set(["float", "int", "bool", "string"]);
const EXAMPLES = 10;

export interface ColumnQuality {
  reference_null_rate: number;
  current_null_rate: number;
  unseen_categories?: { count: number; share_of_current: number; examples: (string | number | boolean)[] };
  /** Evidently would treat this string column as text (more distinct values than half its rows). */
  text_like?: true;
}

export interface DataQuality {
  reference: { uri: string; rows: number; kind: "table" | "profile" };
  current: { uri: string; rows: number };
  missing_columns: string[];
  extra_columns: string[];
  type_changes: { column: string; reference: string; current: string }[];
  not_tested: { column: string; type: string; reason: string }[];
  /** Columns scored from a profile's quantile sketch rather than every reference value. */
  approximate: string[];
  columns: Record<string, ColumnQuality>;
}

export interface ColumnChoice {
  /** Columns to test, in the current table's order. */
  readonly tested: string[];
  readonly quality: Omit<DataQuality, "columns" | "approximate">;
}

/**
 * The columns to test: `requested` (each must be in both tables and testable), else every column the
 * two tables share whose type the tests handle. Throws when nothing is left to test.
 */
export function chooseColumns(ref: Table, cur: Table, refKind: "table" | "profile", requested?: readonly string[]): ColumnChoice {
  const refCols = new Map(ref.columns.map((c) => [c.name, c]));
  const curCols = new Map(cur.columns.map((c) => [c.name, c]));
  const missing = ref.columns.filter((c) => !curCols.has(c.name)).map((c) => c.name);
  const extra = cur.columns.filter((c) => !refCols.has(c.name)).map((c) => c.name);
  const shared = cur.columns.filter((c) => refCols.has(c.name));
  const typeChanges = shared
    .filter((c) => refCols.get(c.name)!.duckType !== c.duckType)
    .map((c) => ({ column: c.name, reference: refCols.get(c.name)!.duckType, current: c.duckType }));
  const notTested = shared
    .filter((c) => !TESTABLE.has(c.physical) || !TESTABLE.has(refCols.get(c.name)!.physical))
    .map((c) => ({ column: c.name, type: c.duckType, reason: reasonUntestable(refCols.get(c.name)!, c) }));
  let tested: string[];
  if (requested && requested.length > 0) {
    for (const name of requested) {
      const problems: string[] = [];
      if (!refCols.has(name)) problems.push("the reference");
      if (!curCols.has(name)) problems.push("the current data");
      if (problems.length > 0) {
        throw MlopsError.of("--columns", `names ${JSON.stringify(name)}, which is not in ${problems.join(" or ")}`, requested.join(","), `Columns in both: ${shared.map((c) => c.name).join(", ") || "none"}.`);
      }
      const untestable = notTested.find((n) => n.column === name);
      if (untestable) throw MlopsError.of("--columns", `names ${JSON.stringify(name)}, which cannot be drift-tested: ${untestable.reason}`, requested.join(","), "Leave it out of --columns.");
    }
    tested = shared.map((c) => c.name).filter((n) => requested.includes(n));
  } else {
    tested = shared.filter((c) => !notTested.some((n) => n.column === c.name)).map((c) => c.name);
  }
  for (const name of tested) {
    const c = curCols.get(name)!;
    const r = refCols.get(name)!;
    if (TESTABLE.has(c.physical) && TESTABLE.has(r.physical) && familyOf(r) !== familyOf(c)) {
      throw MlopsError.of(
        `column ${JSON.stringify(c.name)}`,
        `changed type from ${r.duckType} in the reference to ${c.duckType} in the current data, which the drift tests cannot compare`,
        c.duckType,
        `Cast it back to ${r.duckType} upstream, or leave it out with --columns.`,
      );
    }
  }
  if (tested.length === 0) {
    const why = shared.length === 0 ? "the reference and current tables have no column in common" : "no column the two tables share has a type the drift tests handle";
    throw MlopsError.of(
      "--current",
      why,
      `reference columns [${ref.columns.map((c) => c.name).join(", ")}], current columns [${cur.columns.map((c) => c.name).join(", ")}]`,
      "Compare tables with the same schema (numbers, strings or booleans), or name the columns with --columns.",
    );
  }
  return {
    tested,
    quality: {
      reference: { uri: ref.uri, rows: ref.rows, kind: refKind },
      current: { uri: cur.uri, rows: cur.rows },
      missing_columns: missing,
      extra_columns: extra,
      type_changes: typeChanges,
      not_tested: notTested,
    },
  };
}

/** Numbers compare with numbers (integers with floats); strings with strings; booleans with booleans. */
function familyOf(c: ColumnInfo): string {
  return c.physical === "int" || c.physical === "float" ? "number" : c.physical;
}

function reasonUntestable(ref: ColumnInfo, cur: ColumnInfo): string {
  const bad = !TESTABLE.has(cur.physical) ? cur : ref;
  return bad.physical === "datetime"
    ? `dates and times are not drift-tested (Evidently skips them too); type ${bad.duckType}`
    : `type ${bad.duckType} is not a number, string or boolean`;
}

/** Null rates and unseen categories of one tested column. */
export function columnQuality(ref: ColumnData, cur: ColumnData): ColumnQuality {
  const q: ColumnQuality = {
    reference_null_rate: ref.rows ? ref.missing / ref.rows : 0,
    current_null_rate: cur.rows ? cur.missing / cur.rows : 0,
  };
  if (ref.kind === "categorical" && cur.kind === "categorical") {
    const unseen = [...cur.counts.counts.entries()].filter(([k]) => !ref.counts.counts.has(k)).sort((a, b) => b[1] - a[1]);
    if (unseen.length > 0) {
      const rows = unseen.reduce((a, [, n]) => a + n, 0);
      q.unseen_categories = { count: unseen.length, share_of_current: rows / cur.counts.total, examples: unseen.slice(0, EXAMPLES).map(([k]) => k) };
    }
    if (cur.physical === "string" && cur.counts.counts.size > 0.5 * cur.counts.total) q.text_like = true;
  }
  return q;
}
