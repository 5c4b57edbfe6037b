/**
 * A {@link Table} over columns already in memory (the rows of a payload log window, say): the same
 * table the drift comparison reads from DuckDB, so the same tests and report follow.
 */
import type { ColumnData } from "./column.js";
import { arrayData, type ColumnArrays } from "./profile.js";
import { physicalOf } from "./select.js";
import type { Table } from "./table.js";

/** `columns` as a table named `uri` (in messages and the report's data quality). */
export function arraysTable(columns: ColumnArrays, uri: string): Table {
  const { rows, data } = arrayData(columns);
  return {
    uri,
    rows,
    columns: [...data].map(([name, d]) => ({ name, duckType: d.duckType, physical: physicalOf(d.duckType) })),
    readColumns: async (names) => new Map(names.map((n): [string, ColumnData] => [n, data.get(n)!])),
  };
}
