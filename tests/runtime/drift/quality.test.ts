/**
 * Data quality against the reference: missing and new columns, type changes the tests can still run
 * on, columns that cannot be tested, null rates, unseen categories, text-like strings; and the schema
 * changes they cannot run on fail naming the column.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MlopsError } from "../../../src/errors.js";
import { runDrift } from "../../../runtime/drift/index.js";

let dir: string;

async function csv(name: string, header: string, rows: (i: number) => string, n: number): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, [header, ...Array.from({ length: n }, (_, i) => rows(i))].join("\n") + "\n");
  return path;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-drift-quality-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("data quality", () => {
  it("reports missing and new columns, type changes, untested columns, null rates and unseen categories", async () => {
    const reference = await csv("ref.csv", "count,colour,day,gone,id", (i) => `${i % 50},${["red", "blue"][i % 2]},2024-01-0${1 + (i % 9)},${i},r${i}`, 400);
    const current = await csv("cur.csv", "count,colour,day,extra,id", (i) => `${i % 7 === 0 ? "" : (i % 50) + 0.5},${["red", "blue", "green"][i % 3]},2024-02-0${1 + (i % 9)},${i},c${i}`, 300);
    const r = await runDrift({ reference, current, out: join(dir, "out") });
    const q = r.report.data_quality;
    expect(q.missing_columns).toEqual(["gone"]);
    expect(q.extra_columns).toEqual(["extra"]);
    expect(q.type_changes).toEqual([{ column: "count", reference: "BIGINT", current: "DOUBLE" }]);
    expect(q.not_tested).toEqual([{ column: "day", type: "DATE", reason: "dates and times are not drift-tested (Evidently skips them too); type DATE" }]);
    expect(Object.keys(r.report.columns)).toEqual(["count", "colour", "id"]);
    expect(q.columns.count!.reference_null_rate).toBe(0);
    expect(q.columns.count!.current_null_rate).toBeCloseTo(43 / 300, 12);
    expect(q.columns.colour!.unseen_categories).toEqual({ count: 1, share_of_current: 100 / 300, examples: ["green"] });
    expect(q.columns.id!.text_like).toBe(true);
    expect(q.reference).toEqual({ uri: reference, rows: 400, kind: "table" });
  });

  it("fails naming the column when a column changes between a number and a string", async () => {
    const reference = await csv("r2.csv", "a,b", (i) => `${i},x${i % 3}`, 50);
    const current = await csv("c2.csv", "a,b", (i) => `${i},${i % 3}`, 50);
    const err = await runDrift({ reference, current, out: join(dir, "out2") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlopsError);
    expect((err as Error).message).toBe(
      'column "b": changed type from VARCHAR in the reference to BIGINT in the current data, which the drift tests cannot compare; received "BIGINT". Cast it back to VARCHAR upstream, or leave it out with --columns.',
    );
    // Leaving it out lets the rest run.
    const ok = await runDrift({ reference, current, out: join(dir, "out3"), columns: ["a"] });
    expect(Object.keys(ok.report.columns)).toEqual(["a"]);
  });

  it("fails naming the column when it holds no value on one side", async () => {
    const reference = await csv("r3.csv", "a,b", (i) => `${i},${i + 0.5}`, 30);
    // Parquet keeps NaN and infinities as doubles (a CSV sniffer would read "nan" as text).
    const current = join(dir, "c3.parquet");
    const db = await DuckDBInstance.create(":memory:");
    const conn = await db.connect();
    await conn.run(`COPY (SELECT i::BIGINT AS a, CASE WHEN i % 3 = 0 THEN 'NaN'::DOUBLE WHEN i % 3 = 1 THEN 'inf'::DOUBLE ELSE NULL END AS b FROM range(30) t(i)) TO '${current}' (FORMAT parquet)`);
    conn.closeSync();
    db.closeSync();
    const err = await runDrift({ reference, current, out: join(dir, "out4") }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^column "b": has no values in the current data \(all 30 rows are NULL, NaN or infinite\)/);
  });
});
