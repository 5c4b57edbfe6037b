/**
 * The canary's rollout end to end, under a bounded load of keep-alive clients: a bad canary (its input
 * signature does not fit the requests) is rolled back automatically with zero failed client requests, the
 * rollback recorded in the registry (current.json, history/); a good canary steps up and is promoted (the
 * stable alias moved to its version), again with zero failed requests; `wait` holds it until the alias is
 * moved by hand; and replicas sharing a registry reach one decision and follow it, across restarts too.
 */
import { afterEach, describe, expect, it } from "vitest";
import { buildApp } from "../../../../runtime/serve/app.js";
import type { RolloutBackend } from "../../../../runtime/serve/variants/index.js";
import type { Registry } from "../../../../src/registry/index.js";
import { casRollout, listRolloutEvents, readRollout } from "../../../../src/registry/rollouts.js";
import { eventsUntil, fixture, sample, spec, waitFor } from "../helpers.js";
import { listen } from "../live.js";
import { load, metricsText, mismatchedModel, MODEL, serveVariants, tally, type Answer, type VariantServer } from "./fixture.js";

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of servers.splice(0).reverse()) await s.close();
});

/** Keeps `n`-request batches going until `done()` holds (at most `ms`); every answer is returned. */
async function loadUntil(url: string, done: () => Promise<boolean> | boolean, ms = 20_000, n = 200): Promise<Answer[]> {
  const all: Answer[] = [];
  const until = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > until) throw new Error(`timed out after ${all.length} requests`);
    all.push(...(await load(url, n, { concurrency: 6 })));
  }
  return all;
}

/**
 * A good canary's analysis on a shared, busy test machine: its errors judged as usual, its latency only on
 * gross regressions (p99 judgement is analysis.test.ts's, with numbers that do not depend on the machine).
 */
const LENIENT = { minRequests: 20, p99LatencyRatio: 10, p99LatencySlackMs: 500 };

/** Writes a rollout of version 3 in `phase`, as pods of another spec would have. */
const rolloutOf3 = (phase: "progressing" | "rolled-back") => async (r: Registry) => {
  const at = "2026-12-01T00:00:00.000Z";
  const canary = { ref: `${MODEL}:3`, version: 3, digest: "sha256:" + "0".repeat(64), stableRef: `${MODEL}@champion`, stableVersion: 1, weight: phase === "progressing" ? 10 : 0, step: 0, phase, startedAt: at, stepStartedAt: at };
  expect((await casRollout(r.store, MODEL, 0, { canary })).ok).toBe(true);
};

const phaseOf = async (s: VariantServer) => (await readRollout(s.registry.store, MODEL))?.canary?.phase;

describe("canary rollout", () => {
  it("rolls a bad canary back automatically, with zero failed client requests, and records the rollback", async () => {
    const s = await serveVariants({ canary: { model: `${MODEL}:2`, weight: 30, bakeSeconds: 60, analysis: { minRequests: 30 } } }, { challengers: [mismatchedModel()] });
    servers.push(s);
    await waitFor(() => s.app.variants!.router.effectiveWeight === 30);
    const during = await loadUntil(s.inferUrl, async () => (await phaseOf(s)) === "rolled-back");
    expect(tally(during).failed).toEqual([]);
    // Every answer came from stable: the canary's failures were answered again by stable.
    expect(Object.keys(tally(during).byVersion)).toEqual(["1"]);

    const state = await readRollout(s.registry.store, MODEL);
    expect(state!.canary).toMatchObject({ version: 2, stableVersion: 1, weight: 0, phase: "rolled-back" });
    expect(state!.canary!.reason).toMatch(/^canary error ratio [\d.]+ \(\d+\/\d+\) exceeds stable's 0 by [\d.]+, more than analysis.maxErrorRatioIncrease \(0.01\)$/);
    const events = await eventsUntil(s.registry.store, MODEL, "rollback");
    expect(events.map((e) => e.kind)).toEqual(["start", "rollback"]);
    // Fallbacks still in flight at the window's edges may shift a count by one or two; every canary request failed.
    expect(events[1]!.analysis).toMatchObject({ canary: { errorRatio: expect.closeTo(1, 0.8) }, stable: { errorRatio: 0, errors: 0 } });
    expect((events[1]!.analysis as { canary: { errorRatio: number } }).canary.errorRatio).toBeGreaterThan(0.9);

    await waitFor(() => s.app.variants!.router.weight === 0);
    const after = tally(await load(s.inferUrl, 500));
    expect(after).toEqual({ byVersion: { "1": 500 }, failed: [] });
    const text = await metricsText(s.base);
    expect(sample(text, "mlops_canary_fallbacks_total", { model: MODEL })).toBeGreaterThanOrEqual(30);
    expect(sample(text, "mlops_canary_analyses_total", { model: MODEL, result: "fail" })).toBe(1);
    expect(sample(text, "mlops_canary_phase", { model: MODEL, phase: "rolled-back" })).toBe(1);
    expect(sample(text, "mlops_canary_weight_percent", { model: MODEL })).toBe(0);
    expect(sample(text, "mlops_requests_total", { model: MODEL, variant: "canary", route: "infer", status: "400" })).toBeGreaterThanOrEqual(30);
  });

  it("steps a good canary up and promotes it (moves the alias), with zero failed client requests", async () => {
    const s = await serveVariants({
      canary: { model: `${MODEL}:2`, weight: 20, steps: [50], bakeSeconds: 0.5, onSuccess: "promote", analysis: LENIENT },
    });
    servers.push(s);
    const promoted = async () => {
      const state = await readRollout(s.registry.store, MODEL);
      if (state?.canary?.phase === "rolled-back") throw new Error(`the good canary was rolled back: ${state.canary.reason}`);
      return (await s.registry.resolve(`${MODEL}@champion`)).version === 2 && s.app.variants!.router.weight === 0;
    };
    const during = await loadUntil(s.inferUrl, promoted);
    const t = tally(during);
    expect(t.failed).toEqual([]);
    expect(t.byVersion["2"]).toBeGreaterThan(0);

    const events = await listRolloutEvents(s.registry.store, MODEL);
    expect(events.map((e) => e.kind)).toEqual(["start", "step", "promotion"]);
    expect(events.map((e) => e.weight)).toEqual([20, 50, 50]);
    expect((await readRollout(s.registry.store, MODEL))!.canary).toMatchObject({ phase: "promoted", version: 2 });
    // Stable now serves version 2 itself.
    expect(tally(await load(s.inferUrl, 300))).toEqual({ byVersion: { "2": 300 }, failed: [] });
    const text = await metricsText(s.base);
    expect(sample(text, "mlops_canary_analyses_total", { model: MODEL, result: "pass" })).toBe(2);
    expect(sample(text, "mlops_model_info", { model: MODEL, version: "2", variant: "stable" })).toBe(1);
  });

  it("waits after the last step when onSuccess is wait, until the alias is moved to the canary", async () => {
    const s = await serveVariants({ canary: { model: `${MODEL}:2`, weight: 30, bakeSeconds: 0.3, onSuccess: "wait", analysis: LENIENT } });
    servers.push(s);
    await loadUntil(s.inferUrl, async () => (await phaseOf(s)) === "waiting");
    expect((await s.registry.resolve(`${MODEL}@champion`)).version).toBe(1);
    expect(s.app.variants!.router.weight).toBe(30);
    // What mlops promote does to the alias.
    await s.registry.setAlias(MODEL, "champion", 2);
    const t = tally(await loadUntil(s.inferUrl, async () => (await phaseOf(s)) === "promoted" && s.app.variants!.router.weight === 0));
    expect(t.failed).toEqual([]);
    expect((await listRolloutEvents(s.registry.store, MODEL)).map((e) => e.kind)).toEqual(["start", "waiting", "promotion"]);
  });

  it("never overrides a newer canary's rollout in progress (a rolling update), and starts after a finished one", async () => {
    for (const phase of ["progressing", "rolled-back"] as const) {
      const v2 = await fixture("logistic_v2");
      const s = await serveVariants({ canary: { model: `${MODEL}:2`, weight: 30, bakeSeconds: 3600 } }, {
        challengers: [v2, v2],
        before: rolloutOf3(phase),
      });
      servers.push(s);
      await waitFor(() => s.app.variants!.canary!.serving !== undefined && s.app.variants!.rollout!.state !== undefined);
      if (phase === "progressing") {
        expect(await readRollout(s.registry.store, MODEL)).toMatchObject({ revision: 1, canary: { version: 3, phase: "progressing" } });
        expect(s.app.variants!.router.weight).toBe(0);
        expect(tally(await load(s.inferUrl, 200))).toEqual({ byVersion: { "1": 200 }, failed: [] });
      } else {
        await waitFor(async () => (await readRollout(s.registry.store, MODEL))?.revision === 2);
        expect(await readRollout(s.registry.store, MODEL)).toMatchObject({ revision: 2, canary: { version: 2, phase: "progressing", weight: 30 } });
      }
    }
  });

  it("sends the canary nothing while the rollout state cannot be written (no access to the registry)", async () => {
    const denied = (r: Registry): RolloutBackend => ({
      store: new Proxy(r.store, {
        get: (store, k) => (k === "putIfAbsent" || k === "put" ? async () => Promise.reject(new Error("AccessDenied: not allowed to write")) : Reflect.get(store, k)),
      }),
      setAlias: () => Promise.reject(new Error("AccessDenied")),
    });
    let backend: RolloutBackend | undefined;
    const s = await serveVariants({ canary: { model: `${MODEL}:2`, weight: 50, bakeSeconds: 0.2 } }, { before: async (r) => void (backend = denied(r)), deps: { variants: { get backend() { return backend; } } } });
    servers.push(s);
    await waitFor(() => s.app.variants!.canary!.serving !== undefined);
    expect(tally(await load(s.inferUrl, 500))).toEqual({ byVersion: { "1": 500 }, failed: [] });
    expect(s.app.variants!.router.weight).toBe(0);
    expect(await readRollout(s.registry.store, MODEL)).toBeUndefined();
  });

  it("gives replicas of one registry one decision, and a restarted replica keeps a rolled-back canary at 0", async () => {
    const a = await serveVariants({ canary: { model: `${MODEL}:2`, weight: 50, bakeSeconds: 60, analysis: { minRequests: 20 } } }, { challengers: [mismatchedModel()] });
    servers.push(a);
    const replica = async () => {
      const app = await buildApp({ spec: spec(a.registry.uri, `${MODEL}@champion`, { pollIntervalSeconds: 0.05, variants: { canary: { model: `${MODEL}:2`, weight: 50, bakeSeconds: 60, analysis: { minRequests: 20 } } } }), registry: a.registry });
      const live = await listen(app, MODEL);
      servers.push(live);
      return live;
    };
    const b = await replica();
    await waitFor(() => a.app.variants!.router.effectiveWeight === 50 && b.app.variants!.router.effectiveWeight === 50);
    const [ra, rb] = await Promise.all([
      loadUntil(a.inferUrl, async () => (await phaseOf(a)) === "rolled-back" && a.app.variants!.router.weight === 0 && b.app.variants!.router.weight === 0),
      loadUntil(b.inferUrl, async () => (await phaseOf(a)) === "rolled-back" && a.app.variants!.router.weight === 0 && b.app.variants!.router.weight === 0),
    ]);
    expect(tally([...ra, ...rb]).failed).toEqual([]);
    expect((await listRolloutEvents(a.registry.store, MODEL)).map((e) => e.kind)).toEqual(["start", "rollback"]);

    const c = await replica();
    await waitFor(() => c.app.variants!.canary!.serving !== undefined && c.app.variants!.rollout!.state !== undefined);
    expect(c.app.variants!.router.weight).toBe(0);
    expect(tally(await load(c.inferUrl, 300))).toEqual({ byVersion: { "1": 300 }, failed: [] });
    expect((await listRolloutEvents(a.registry.store, MODEL)).map((e) => e.kind)).toEqual(["start", "rollback"]);
  });
});

