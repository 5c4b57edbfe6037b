/**
 * The online part of `npm run bench:features` judges the p99 bar at the benchmark's connection count as
 * before and adds the unloaded (wrk -c1) p99 as a row of its own, and its table carries the Redis floor's
 * latencies, each server's CPU per request and the Little's-law mean latency at that connection count.
 */
import { describe, expect, it } from "vitest";
import type { Measured } from "../../../bench/serve/report.js";
import type { WrkResult } from "../../../bench/serve/wrk.js";
import type { OnlineResult } from "../../../bench/features/online.js";
import { barTable, onlineBars, onlineSection } from "../../../bench/features/report.js";

const wrk = (rps: number, p50: number, p99: number): WrkResult => ({ requestsPerSec: rps, requests: rps * 3, p50Ms: p50, p75Ms: p50, p90Ms: p99, p99Ms: p99, non2xx: 0, socketErrors: 0, raw: "" });
const m = (key: string, connections: number, rows: number, r: WrkResult, cpuNs: number): Measured => ({ key, label: key, connections, rowsPerRequest: rows, result: r, cpuNsPerRequest: cpuNs });
const floor = { test: "HMGET", rps: 32_000, avgMs: 0.9, p50Ms: 0.8, p99Ms: 1.9 };

const result: OnlineResult = {
  servers: [m("ours-1", 32, 1, wrk(8000, 3.5, 12), 90_000), m("py-1", 32, 1, wrk(1600, 19, 40), 600_000), m("ours-100", 32, 100, wrk(300, 90, 200), 3e6), m("py-100", 32, 100, wrk(40, 700, 900), 2e7)],
  unloaded: [m("ours-1-c1", 1, 1, wrk(4000, 0.22, 0.61), 160_000), m("py-1-c1", 1, 1, wrk(900, 1.05, 1.9), 700_000)],
  floor1: floor,
  floor100: { ...floor, rps: 40_000 },
  answersEqual: true,
  bodyBytes: { one: 700, hundred: 1200 },
};

describe("the online benchmark report", () => {
  it("keeps the c=32 p99 bar and judges the unloaded p99 in a row of its own", () => {
    const bars = onlineBars(result);
    const table = barTable(bars).join("\n");
    expect(table).toMatch(/our p99 at wrk -c32 \| 12\.00 ms \| ≤ 1\.00 ms \| MISS/);
    expect(table).toMatch(/our p99 at wrk -c1 \(one request at a time: unloaded\) \| 0\.61 ms \| ≤ 1\.00 ms \| PASS/);
    expect(bars.find((b) => b.name.includes("1 entity") && b.unit === "x")!.value).toBeCloseTo(5);
  });

  it("prints the unloaded rows, CPU per request, the Redis floor's percentiles and Little's law", () => {
    const text = onlineSection(result, 32).join("\n");
    expect(text).toContain("| ours-1-c1 | 1 | 4,000 | 220 µs | 610 µs | 12,000 | 0 | 160 µs |");
    expect(text).toContain("| ours-1 | 32 | 8,000 | 3.50 ms | 12.00 ms | 24,000 | 0 | 90 µs |");
    expect(text).toMatch(/Redis floor: redis-benchmark HMGET of 51 fields \| 32 \| 32,000 \| 800 µs \| 1\.90 ms/);
    // 32 in flight at 8,000/s is 4 ms on average; at the floor's 32,000/s, 1 ms.
    expect(text).toContain("ours at 8,000 req/s means 4.00 ms");
    expect(text).toContain("at the Redis floor's 32,000 HMGET/s it would be 1.00 ms (the floor's own p50 800 µs, p99 1.90 ms)");
    expect(text).toContain("needs at least 32,000 answers/s");
    // Without a measured HTTP floor, no floor line.
    expect(text).not.toContain("The HTTP floor");
  });

  it("prints the HTTP floor's rows and its p99 next to ours", () => {
    const withFloor: OnlineResult = { ...result, httpFloor: [m("http-floor-1", 32, 1, wrk(20_000, 1.4, 2.5), 40_000), m("http-floor-1-c1", 1, 1, wrk(15_000, 0.05, 1.8), 50_000)] };
    const text = onlineSection(withFloor, 32).join("\n");
    expect(text).toContain("| http-floor-1 | 32 | 20,000 | 1.40 ms | 2.50 ms | 60,000 | 0 | 40 µs |");
    expect(text).toContain("| http-floor-1-c1 | 1 | 15,000 | 50 µs | 1.80 ms | 45,000 | 0 | 50 µs |");
    expect(text).toContain("p99 2.50 ms at c=32 (20,000 req/s), 1.80 ms at c=1; ours 12.00 ms and 610 µs.");
  });
});
