/**
 * The historical part of `npm run bench:features` judges the whole command against pandas' join, and prints
 * the DuckDB floor (historical-floor.mjs) with the ratio pandas' join reaches against it: the most a hash
 * join in DuckDB could show on the machine the run was on.
 */
import { describe, expect, it } from "vitest";
import type { HistoricalResult } from "../../../bench/features/historical.js";
import { barTable, historicalBars, historicalSection } from "../../../bench/features/report.js";

const run = (wallS: number, views: Array<[string, string, number]>) => ({ wallS, cpuS: wallS * 1.8, maxRssMiB: 500, views: views.map(([view, join, seconds]) => ({ view, join, seconds })) });
const result: HistoricalResult = {
  sizes: { entities: 1_000_000, viewA: 10_000_000, viewB: 1_000_000, customers: 100_000 },
  ours: run(3, [["a", "bucket", 1.5], ["b", "bucket", 0.5]]),
  oursAsof: run(6, [["a", "asof", 4], ["b", "asof", 0.8]]),
  floor: { wallS: 1.8, cpuS: 3.2, maxRssMiB: 280, steps: { entities: 0.15, "a.parquet": 0.9, "b.parquet": 0.25, write: 0.06 } },
  cliStart: { wallS: 0.14, cpuS: 0.12 },
  pandas: { joinS: 5.4, joinCpuS: 5.3, loadS: 12, writeS: 4, wallS: 25, maxRssMiB: 3000, version: "pandas 1.5.3, numpy 1.24.2" },
  comparison: { rows: { ours: 1_000_000, pandas: 1_000_000 }, mismatches: 0, inputMismatches: 0, digest: { ours: "abcdef0123456789", pandas: "abcdef0123456789" }, matched: { a: 685_238, b: 616_221 } },
  identical: true,
};

describe("the historical benchmark report", () => {
  it("judges the whole command and prints the DuckDB floor with pandas' ratio to it", () => {
    expect(barTable(historicalBars(result)).join("\n")).toMatch(/pandas merge_asof seconds \/ ours \(whole command\) \| 1\.80× \| ≥ 5\.00× \| MISS \(36% of the bar\)/);
    const text = historicalSection(result).join("\n");
    expect(text).toMatch(/\| DuckDB floor \(historical-floor\.mjs\), for reference \| .*entities 0\.15 s, a\.parquet 0\.90 s, b\.parquet 0\.25 s, write 0\.06 s.* \| 1\.80 s \| 3\.20 s \| 280 MiB \|/);
    expect(text).toContain("pandas' merge_asof seconds / the DuckDB floor's whole process 3.00×");
    expect(text).toContain("ours / the floor 1.67× its time");
    expect(text).toContain("**Identical.**");
  });

  it("prints no floor line when the floor was not measured", () => {
    const { floor: _, ...without } = result;
    expect(historicalSection(without).join("\n")).not.toContain("DuckDB floor");
  });
});
