import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { writeDriftResult } from "../../../src/registry/drift-results.js";
import { assembleRelease, driftCheck, gateCheck, parseRequire, sloCheck } from "../../../src/release/index.js";
import type { ReleaseBody } from "../../../src/release/types.js";
import { writeRun } from "../../../src/runs/store.js";
import { fakePrometheus, type FakePrometheus } from "./fake-prometheus.js";
import { runRecord, stages, type Stages } from "./fixture.js";

let s: Stages;
beforeEach(async () => {
  s = await stages();
});
afterEach(() => s.close());

const release = (): Promise<ReleaseBody> => assembleRelease(s.staging, "fraud", { model: "fraud:1" });

describe("gateCheck", () => {
  it("passes when the run's gate passed and each gated metric is among the version's metrics and meets its bound", async () => {
    const r = gateCheck(await release(), s.version);
    expect(r).toMatchObject({ name: "gate", passed: true, value: { auc: 0.95 } });
    expect(r.detail).toContain("auc 0.95 >= 0.9");
  });

  it("fails when the run failed its gate, naming the metric and its value", async () => {
    await writeRun(s.staging.store, runRecord({ status: "gate-failed", gate: { passed: false, checks: [{ metric: "auc", op: ">=", bound: 0.97, value: 0.95, passed: false }] } }));
    const r = gateCheck(await release(), s.version);
    expect(r.passed).toBe(false);
    expect(r.detail).toMatch(/failed its gate: auc 0.95 >= 0.97/);
  });

  it("fails when a gated metric is missing from the version", async () => {
    await writeRun(s.staging.store, runRecord({ gate: { passed: true, checks: [{ metric: "f1", op: ">=", bound: 0.5, value: null, passed: true }] } }));
    const r = gateCheck(await release(), s.version);
    expect(r).toMatchObject({ passed: false });
    expect(r.detail).toMatch(/metric f1 .* is missing from fraud:1's metrics/);
  });

  it("fails when the version's metric no longer meets the bound the run checked", async () => {
    const r = gateCheck(await release(), { ...s.version, metrics: { auc: 0.8 } });
    expect(r).toMatchObject({ passed: false, value: { auc: 0.8 } });
    expect(r.detail).toContain("auc is 0.8, which does not meet >= 0.9");
  });

  it("fails when there is no run record, or no run at all", async () => {
    const t = await stages({ run: null });
    try {
      const r = gateCheck(await assembleRelease(t.staging, "fraud", { model: "fraud:1" }), t.version);
      expect(r).toMatchObject({ passed: false, value: null });
      expect(r.detail).toMatch(/has no run record/);
    } finally {
      await t.close();
    }
    const body = await release();
    const { run: _run, ...noRun } = body;
    expect(gateCheck(noRun as ReleaseBody, s.version).detail).toMatch(/names no training run/);
  });
});

describe("sloCheck against Prometheus's query API", () => {
  let prom: FakePrometheus;
  beforeAll(async () => {
    prom = await fakePrometheus(() => ({ vector: [{ value: "0.999" }] }));
  });
  afterAll(() => prom.close());
  const q = 'sum(rate(mlops_requests_total{code!~"5.."}[$window])) / sum(rate(mlops_requests_total[$window]))';

  it("passes when the query's value meets the minimum, with the window put into the query", async () => {
    prom.answer = () => ({ vector: [{ value: "0.999" }] });
    const r = await sloCheck({ prometheus: prom.url, query: q, window: "30m", min: 0.995 });
    expect(r).toMatchObject({ name: "slo", passed: true, value: 0.999 });
    expect(prom.queries.at(-1)).toBe('sum(rate(mlops_requests_total{code!~"5.."}[30m])) / sum(rate(mlops_requests_total[30m]))');
  });

  it("fails naming the value and the bound when a series is below the minimum", async () => {
    prom.answer = () => ({ vector: [{ metric: { variant: "primary" }, value: "0.999" }, { metric: { variant: "canary" }, value: "0.95" }] });
    const r = await sloCheck({ prometheus: prom.url, query: q, min: 0.995 });
    expect(r).toMatchObject({ passed: false, value: 0.95 });
    expect(r.detail).toMatch(/is 0.95 for \{"variant":"canary"\}, which does not meet >= 0.995/);
  });

  it("reads a scalar answer and a maximum", async () => {
    prom.answer = () => ({ scalar: "0.25" });
    expect(await sloCheck({ prometheus: prom.url, query: "scalar(x)", max: 0.3 })).toMatchObject({ passed: true, value: 0.25 });
    expect(await sloCheck({ prometheus: prom.url, query: "scalar(x)", max: 0.2 })).toMatchObject({ passed: false, value: 0.25 });
  });

  it("fails when the query returns no data, or NaN (no traffic)", async () => {
    prom.answer = () => ({ vector: [] });
    expect((await sloCheck({ prometheus: prom.url, query: q, min: 0.9 })).detail).toMatch(/returned no data over 1h/);
    prom.answer = () => ({ vector: [{ value: "NaN" }] });
    expect(await sloCheck({ prometheus: prom.url, query: q, min: 0.9 })).toMatchObject({ passed: false, value: "NaN" });
  });

  it("fails with Prometheus's own error when it rejects the query", async () => {
    prom.answer = () => ({ status: 400, errorType: "bad_data", error: 'invalid parameter "query": 1:6: parse error: unexpected <EOF>' });
    const r = await sloCheck({ prometheus: prom.url, query: "sum((", min: 0.9 });
    expect(r).toMatchObject({ passed: false, value: null });
    expect(r.detail).toContain('bad_data: invalid parameter "query": 1:6: parse error');
  });

  it("fails when the answer is a range (matrix), and when Prometheus cannot be reached", async () => {
    prom.answer = () => ({ matrix: true });
    expect((await sloCheck({ prometheus: prom.url, query: "x[5m]", min: 0.9 })).detail).toMatch(/with a matrix/);
    const closed = await fakePrometheus(() => ({ scalar: "1" }));
    await closed.close();
    expect((await sloCheck({ prometheus: closed.url, query: q, min: 0.9 })).detail).toMatch(/cannot be reached \(ECONNREFUSED\)/);
  });

  it("fails when the window is not a duration, or no bound is given", async () => {
    await expect(sloCheck({ prometheus: prom.url, query: q, window: "an hour", min: 0.9 })).rejects.toThrow(/--window: is not a Prometheus duration; received "an hour"/);
    await expect(sloCheck({ prometheus: prom.url, query: q })).rejects.toThrow(/--slo-min: is required/);
  });
});

describe("driftCheck (contract 2)", () => {
  const result = { at: "2026-12-01T05:00:00.000Z", model: "fraud", version: 1, dataset_drift: true, share_drifted: 0.6, drifted: ["x0", "x1"], report: "file:///tmp/report" };

  it("passes when no drift was recorded", async () => {
    expect(await driftCheck(s.staging, s.version)).toMatchObject({ name: "no-drift", passed: true });
  });

  it("fails when the latest result reports dataset drift of this version, naming the share and the columns", async () => {
    await writeDriftResult(s.staging.store, result);
    const r = await driftCheck(s.staging, s.version);
    expect(r).toMatchObject({ passed: false, value: 0.6 });
    expect(r.detail).toMatch(/share 0.6 of columns drifted \(x0, x1\)/);
  });

  it("passes when the latest result is no drift, or about another version", async () => {
    await writeDriftResult(s.staging.store, { ...result, at: "2026-12-01T06:00:00.000Z", dataset_drift: false, share_drifted: 0, drifted: [] });
    expect((await driftCheck(s.staging, s.version)).passed).toBe(true);
    await writeDriftResult(s.staging.store, { ...result, at: "2026-12-01T07:00:00.000Z", version: 7 });
    expect(await driftCheck(s.staging, s.version)).toMatchObject({ passed: true });
  });
});

describe("parseRequire", () => {
  it("reads a list of checks, or none", () => {
    expect(parseRequire("gate,slo,no-drift")).toEqual(["gate", "slo", "no-drift"]);
    expect(parseRequire("none")).toEqual([]);
  });

  it("fails naming an unknown check and the ones there are", () => {
    expect(() => parseRequire("gate,tests")).toThrow(/--require: names unknown checks tests; received "gate,tests". Use a comma-separated list of gate, slo, no-drift/);
  });
});
