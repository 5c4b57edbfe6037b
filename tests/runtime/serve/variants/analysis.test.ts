/**
 * The canary analysis on numbers that do not depend on the machine: the p99 from histogram buckets (as
 * Prometheus' histogram_quantile computes it), the verdicts (error ratio relative to stable, p99 ratio with
 * its slack, too few requests never a verdict), the local source's deltas since a bake period began, and a
 * slow canary rolled back through a plugged-in source (the interface a Prometheus source implements).
 */
import { describe, expect, it } from "vitest";
import { createMetrics } from "../../../../runtime/serve/metrics.js";
import { createVariantMetrics } from "../../../../runtime/serve/variants/metrics.js";
import { judge, LocalMetricsSource, quantile, type AnalysisSource, type AnalysisWindow } from "../../../../runtime/serve/variants/index.js";
import { CanaryAnalysisSchema } from "../../../../src/spec/endpoint-variants.js";
import { readRollout } from "../../../../src/registry/rollouts.js";
import { eventsUntil, waitFor } from "../helpers.js";
import { load, MODEL, serveVariants, tally } from "./fixture.js";

const analysis = (o: object = {}) => CanaryAnalysisSchema.parse(o);
const window = (stable: [number, number, number?], canary: [number, number, number?]): AnalysisWindow => ({
  stable: { requests: stable[0], errors: stable[1], p99Seconds: stable[2] },
  canary: { requests: canary[0], errors: canary[1], p99Seconds: canary[2] },
});

describe("quantile", () => {
  it("interpolates within the bucket, as histogram_quantile does", () => {
    // 100 observations: 50 ≤ 0.01, 90 ≤ 0.1, 100 ≤ 1.
    const b: [number, number][] = [[0.01, 50], [0.1, 90], [1, 100], [Infinity, 100]];
    expect(quantile(0.5, b)).toBeCloseTo(0.01);
    expect(quantile(0.99, b)).toBeCloseTo(0.1 + 0.9 * 0.9);
    expect(quantile(0.9, b)).toBeCloseTo(0.1);
  });
  it("answers the highest finite bound for the +Inf bucket, and undefined without observations", () => {
    expect(quantile(0.99, [[0.5, 1], [Infinity, 10]])).toBe(0.5);
    expect(quantile(0.99, [[0.5, 0], [Infinity, 0]])).toBeUndefined();
    expect(quantile(0.99, [])).toBeUndefined();
  });
});

describe("judge", () => {
  it("is inconclusive below minRequests, however bad the canary looks", () => {
    const v = judge(window([1000, 0, 0.01], [99, 99, 5]), analysis({ minRequests: 100 }));
    expect(v.result).toBe("inconclusive");
    expect(v.reason).toMatch(/99 requests, fewer than analysis.minRequests \(100\)/);
  });
  it("fails on an error ratio above stable's by more than maxErrorRatioIncrease, relative to stable", () => {
    expect(judge(window([1000, 0], [100, 2]), analysis({ maxErrorRatioIncrease: 0.01 })).result).toBe("fail");
    // Stable fails as often: not the canary's fault.
    expect(judge(window([1000, 50], [100, 5]), analysis({ maxErrorRatioIncrease: 0.01 })).result).toBe("pass");
    expect(judge(window([1000, 0], [100, 1]), analysis({ maxErrorRatioIncrease: 0.01 })).result).toBe("pass");
  });
  it("fails on a p99 above p99LatencyRatio times stable's and beyond the slack", () => {
    const a = analysis({ p99LatencyRatio: 1.5, p99LatencySlackMs: 5 });
    const slow = judge(window([1000, 0, 0.02], [100, 0, 0.05]), a);
    expect(slow.result).toBe("fail");
    expect(slow.reason).toMatch(/p99 50.00 ms is 2.50x stable's 20.00 ms/);
    // Twice as slow but only 1 ms: within the slack.
    expect(judge(window([1000, 0, 0.001], [100, 0, 0.002]), a).result).toBe("pass");
    expect(judge(window([1000, 0, 0.02], [100, 0, 0.029]), a).result).toBe("pass");
  });
  it("passes without stable traffic to compare with only on its own errors", () => {
    expect(judge(window([0, 0], [100, 0, 0.01]), analysis()).result).toBe("pass");
  });
});

describe("LocalMetricsSource", () => {
  it("reads the variants' requests, errors, fallbacks and p99 from the serving metrics, since begin()", async () => {
    const m = createMetrics();
    const vm = createVariantMetrics(m.registry, MODEL);
    const src = new LocalMetricsSource(m, vm, MODEL);
    const req = (variant: string, status: number, n: number) => m.requests.inc({ model: MODEL, version: "1", route: "infer", status: String(status), variant }, n);
    req("stable", 200, 500); // before the period: not counted
    await src.begin();
    req("stable", 200, 90);
    req("stable", 503, 10);
    req("canary", 200, 40);
    req("canary", 400, 10);
    vm.fallbacks.inc({ model: MODEL }, 10);
    m.requests.inc({ model: "other", version: "1", route: "infer", status: "500", variant: "canary" }, 7);
    for (let i = 0; i < 100; i++) m.duration.observe({ model: MODEL, version: "1", variant: "stable" }, 0.004);
    for (let i = 0; i < 50; i++) m.duration.observe({ model: MODEL, version: "2", variant: "canary" }, 0.2);
    const w = await src.read(Date.now());
    expect(w.stable).toMatchObject({ requests: 100, errors: 10 });
    expect(w.canary).toMatchObject({ requests: 50, errors: 10 });
    expect(w.stable.p99Seconds).toBeGreaterThan(0.0025);
    expect(w.stable.p99Seconds).toBeLessThanOrEqual(0.005);
    expect(w.canary.p99Seconds).toBeGreaterThan(0.1);
    expect(w.canary.p99Seconds).toBeLessThanOrEqual(0.25);
  });
});

describe("a canary waiting for mlops promote", () => {
  it("is still judged each bake period, and rolled back when it starts failing", async () => {
    let failing = false;
    const src: AnalysisSource = {
      begin: async () => {},
      read: async () => (failing ? window([400, 0, 0.01], [100, 30, 0.01]) : window([400, 0, 0.01], [100, 0, 0.01])),
    };
    const s = await serveVariants({ canary: { model: `${MODEL}:2`, weight: 20, bakeSeconds: 0.2, onSuccess: "wait" } }, { deps: { variants: { analysisSource: src } } });
    const phase = async () => (await readRollout(s.registry.store, MODEL))?.canary?.phase;
    try {
      await waitFor(async () => (await phase()) === "waiting", 10_000);
      expect(s.app.variants!.router.weight).toBe(20);
      failing = true;
      await waitFor(async () => (await phase()) === "rolled-back", 10_000);
      expect((await eventsUntil(s.registry.store, MODEL, "rollback")).map((e) => e.kind)).toEqual(["start", "waiting", "rollback"]);
    } finally {
      await s.close();
    }
  });
});

describe("a slow canary", () => {
  it("is rolled back on its p99 through a plugged-in analysis source, with zero failed requests", async () => {
    let began = 0;
    const slow: AnalysisSource = {
      begin: async () => void began++,
      read: async () => window([400, 0, 0.02], [100, 0, 0.4]),
    };
    const s = await serveVariants({ canary: { model: `${MODEL}:2`, weight: 20, bakeSeconds: 60 } }, { deps: { variants: { analysisSource: slow } } });
    try {
      await waitFor(async () => (await readRollout(s.registry.store, MODEL))?.canary?.phase === "rolled-back", 10_000);
      expect(began).toBeGreaterThanOrEqual(1);
      const [, rollback] = await eventsUntil(s.registry.store, MODEL, "rollback");
      expect(rollback).toMatchObject({ kind: "rollback", weight: 0, canaryVersion: 2 });
      expect(rollback!.reason).toMatch(/canary p99 400.00 ms is 20.00x stable's 20.00 ms/);
      await waitFor(() => s.app.variants!.router.weight === 0);
      expect(tally(await load(s.inferUrl, 300))).toEqual({ byVersion: { "1": 300 }, failed: [] });
    } finally {
      await s.close();
    }
  });
});
