import { writeFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";
import { parseFeatureStoreSpec, type FeatureStoreSpec, type FeatureStoreSpecInput } from "../../src/spec/features.js";
import { seededRandom } from "../../src/random.js";

/** A seeded PRNG: the same data on every run. */
export const rng = seededRandom;

/** Writes rows as CSV (values are written as given; strings with , " or newlines are quoted). */
export async function writeCsv(path: string, header: readonly string[], rows: ReadonlyArray<ReadonlyArray<unknown>>): Promise<void> {
  const cell = (v: unknown) => {
    if (v === null || v === undefined) return "";
    const s = String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  await writeFile(path, [header.join(","), ...rows.map((r) => r.map(cell).join(","))].join("\n") + "\n");
}

/** Rewrites a CSV as Parquet with DuckDB, with the given column types. */
export async function csvToParquet(csv: string, parquet: string, types: Record<string, string>, rowGroupSize?: number): Promise<void> {
  const inst = await DuckDBInstance.create(":memory:");
  const conn = await inst.connect();
  try {
    const cols = Object.entries(types).map(([c, t]) => `CAST("${c}" AS ${t}) AS "${c}"`).join(", ");
    await conn.run(`COPY (SELECT ${cols} FROM read_csv('${csv}', header = true, all_varchar = true)) TO '${parquet}' (FORMAT PARQUET${rowGroupSize ? `, ROW_GROUP_SIZE ${rowGroupSize}` : ""})`);
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

/** Every row of a CSV or Parquet file, as JS values (timestamps as ISO strings via the JSON converter). */
export async function readRows(path: string): Promise<Record<string, unknown>[]> {
  const inst = await DuckDBInstance.create(":memory:");
  const conn = await inst.connect();
  try {
    await conn.run("SET TimeZone = 'UTC'");
    const reader = path.endsWith(".csv") ? `read_csv('${path}', header = true)` : `read_parquet('${path}')`;
    return (await conn.runAndReadAll(`SELECT * FROM ${reader}`)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

/**
 * The issue's example store: entity customer (customer_id), view txn_stats (spend_7d float64, txn_count_7d
 * int64, ttl 3d, created_at), over `source`; `overrides` patch the view.
 */
export function fraudSpec(dir: string, source: string, view: Partial<FeatureStoreSpecInput["views"][number]> = {}, extra: Partial<FeatureStoreSpecInput> = {}): FeatureStoreSpec {
  return parseFeatureStoreSpec({
    apiVersion: "mlops/v1",
    kind: "FeatureStore",
    name: "fraud",
    registry: pathToFileURL(`${dir}/registry`).href,
    entities: [{ name: "customer", joinKeys: ["customer_id"] }],
    views: [
      {
        name: "txn_stats",
        entities: ["customer"],
        source: { uri: pathToFileURL(source).href, timestampField: "event_timestamp", createdTimestampField: "created_at" },
        ttl: "3d",
        features: [
          { name: "spend_7d", dtype: "float64" },
          { name: "txn_count_7d", dtype: "int64" },
        ],
        ...view,
      },
    ],
    ...extra,
  });
}
