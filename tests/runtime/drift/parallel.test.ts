/**
 * Numerical columns tested on the second thread give exactly what the main thread gives, and a
 * column the tests cannot run on fails the same way from there.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MlopsError } from "../../../src/errors.js";
import { runDrift } from "../../../runtime/drift/index.js";
import { generate } from "./oracle.js";

let dir: string;
let large: { reference: string; current: string };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-drift-parallel-"));
  await mkdir(join(dir, "l"));
  large = await generate("large", join(dir, "l"));
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("testing columns on a second thread", () => {
  it("gives the same report as the main thread, default tests and PSI", async () => {
    for (const method of [undefined, "psi"] as const) {
      const [main, worker] = await Promise.all([
        runDrift({ ...large, out: join(dir, `main-${method}`), method, parallel: false }),
        runDrift({ ...large, out: join(dir, `worker-${method}`), method, parallel: true }),
      ]);
      expect([main.parallel, worker.parallel]).toEqual([false, true]);
      expect(worker.report).toEqual(main.report);
    }
  });

  it("fails with the same error when a column holds no value", async () => {
    const current = join(dir, "empty-b.parquet");
    const db = await DuckDBInstance.create(":memory:");
    const conn = await db.connect();
    await conn.run(`COPY (SELECT i::DOUBLE AS a, 'NaN'::DOUBLE AS b FROM range(50) t(i)) TO '${current}' (FORMAT parquet)`);
    await conn.run(`COPY (SELECT i::DOUBLE AS a, i::DOUBLE AS b FROM range(50) t(i)) TO '${join(dir, "ref-b.parquet")}' (FORMAT parquet)`);
    conn.closeSync();
    db.closeSync();
    const err = await runDrift({ reference: join(dir, "ref-b.parquet"), current, out: join(dir, "out-e"), parallel: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlopsError);
    expect((err as Error).message).toMatch(/^column "b": has no values in the current data/);
  });
});
