import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, describe, expect, it } from "vitest";
import { compare } from "../../../bench/features/historical.js";
import { parseRedisBenchmarkCsv, parseTimeLine } from "../../../bench/features/measure.js";
import { passes, verdict, type Bar } from "../../../bench/features/report.js";

describe("bench/features measuring", () => {
  it("reads wall, CPU and peak RSS from the GNU time line and keeps the command's own stderr", () => {
    const t = parseTimeLine("materialize m: done\n@@bench-time 12.50 3.25 0.75 448512\n");
    expect(t).toEqual({ wallS: 12.5, cpuS: 4, maxRssKiB: 448512, rest: "materialize m: done\n" });
    expect(parseTimeLine("Command terminated by signal 9\n")).toBeUndefined();
  });

  it("reads redis-benchmark's CSV report", () => {
    const csv = '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"\n"hmget k a b","7132.67","3.201","0.176","2.023","8.751","19.679","134.783"\n';
    expect(parseRedisBenchmarkCsv(csv)).toEqual({ test: "hmget k a b", rps: 7132.67, avgMs: 3.201, p50Ms: 2.023, p99Ms: 19.679 });
    expect(() => parseRedisBenchmarkCsv("ERR unknown command\n")).toThrow(/no CSV report/);
  });

  it("judges at-least and at-most bars, and one with nothing measured", () => {
    const bar = (value: number | undefined, atMost = false): Bar => ({ name: "b", target: atMost ? 1 : 5, atMost, unit: "x", ...(value === undefined ? {} : { value }) });
    expect([passes(bar(5)), passes(bar(4.9)), passes(bar(1, true)), passes(bar(1.01, true)), passes(bar(undefined))]).toEqual([true, false, true, false, undefined]);
    expect(verdict(bar(2.5))).toBe("MISS (50% of the bar)");
    expect(verdict(bar(2, true))).toBe("MISS (50% of the bar)");
    expect(verdict(bar(Number.NaN))).toBe("NOT MEASURED");
  });
});

describe("bench/features join comparison", () => {
  const dir = mkdtempSync(join(tmpdir(), "bench-features-test-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** An entity file, our answer (Parquet) and pandas' (CSV) for 3 rows; `pandasA0` patches pandas' a0. */
  async function files(pandasA0: string[]): Promise<[string, string, string]> {
    const inst = await DuckDBInstance.create(":memory:");
    const conn = await inst.connect();
    const [e, o, p] = ["e.parquet", "o.parquet", `p-${pandasA0.join("-")}.csv`].map((f) => join(dir, f)) as [string, string, string];
    const rows = `(VALUES (0, 7, TIMESTAMP '2025-01-02 00:00:00', 1, 1.5, NULL::DOUBLE), (1, 8, TIMESTAMP '2025-01-03 00:00:00', 0, NULL, 2.0), (2, 7, TIMESTAMP '2025-01-04 00:00:00', 1, 3.25, 4.0)) t(row, customer_id, event_timestamp, label, a0, b0)`;
    await conn.run(`COPY (SELECT customer_id, event_timestamp, label FROM ${rows} ORDER BY row) TO '${e}' (FORMAT PARQUET)`);
    await conn.run(`COPY (SELECT customer_id, event_timestamp, label, a0, 0.0 AS a1, 0.0 AS a2, 0 AS a3, b0, 0 AS b1 FROM ${rows} ORDER BY row) TO '${o}' (FORMAT PARQUET)`);
    await conn.run(`COPY (SELECT row, CASE row ${pandasA0.map((v, i) => `WHEN ${i} THEN ${v}`).join(" ")} END AS a0, 0.0 AS a1, 0.0 AS a2, 0.0 AS a3, b0, 0.0 AS b1 FROM ${rows}) TO '${p}' (HEADER)`);
    conn.closeSync();
    inst.closeSync();
    return [e, o, p];
  }

  it("finds equal answers equal, with equal digests", async () => {
    const c = await compare(...(await files(["1.5", "NULL", "3.25"])));
    expect(c).toMatchObject({ rows: { ours: 3, pandas: 3 }, mismatches: 0, inputMismatches: 0, matched: { a: 2, b: 2 } });
    expect(c.digest.ours).toBe(c.digest.pandas);
  });

  it("counts a changed value and a value where pandas has none as differences", async () => {
    const c = await compare(...(await files(["1.5", "9", "3.0"])));
    expect(c.mismatches).toBe(2);
    expect(c.digest.ours).not.toBe(c.digest.pandas);
  });
});
