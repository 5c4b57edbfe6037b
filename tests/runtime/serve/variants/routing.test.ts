/**
 * Canary routing under a bounded load of keep-alive clients: the weight is honoured within a tolerance,
 * every request and latency sample carries the variant that answered it, the same x-request-id always
 * lands on the same variant, a request naming a version is never split, and a canary that is not loaded
 * gets no traffic at all (KServe #5983: 503s from traffic sent to a canary that was not ready).
 */
import { afterEach, describe, expect, it } from "vitest";
import { seededRandom } from "../../../../src/random.js";
import { sample, waitFor } from "../helpers.js";
import { load, metricsText, MODEL, serveVariants, tally, type VariantServer } from "./fixture.js";

let server: VariantServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Never judged within a test: the canary stays at its weight (routing, not analysis, is under test here). */
const NEVER_JUDGED = { minRequests: 10_000_000 };
/** A canary that stays at its weight for the whole test. */
const holdAt = (weight: number) => ({ canary: { model: `${MODEL}:2`, weight, bakeSeconds: 3600, analysis: NEVER_JUDGED } });

describe("canary routing", () => {
  it("sends the canary its weight of 3000 requests (25% ± 4) and labels every metric with the variant", async () => {
    server = await serveVariants(holdAt(25), { deps: { variants: { random: seededRandom(7) } } });
    await waitFor(() => server!.app.variants!.router.effectiveWeight === 25);
    const answers = await load(server.inferUrl, 3000, { concurrency: 8 });
    const { byVersion, failed } = tally(answers);
    expect(failed).toEqual([]);
    const share = (byVersion["2"] ?? 0) / 3000;
    expect(share).toBeGreaterThan(0.21);
    expect(share).toBeLessThan(0.29);

    const text = await metricsText(server.base);
    const count = (variant: string, version: string) => sample(text, "mlops_requests_total", { model: MODEL, route: "infer", status: "200", variant, version });
    expect(count("canary", "2")).toBe(byVersion["2"]);
    expect(count("stable", "1")).toBe(byVersion["1"]);
    expect(sample(text, "mlops_request_duration_seconds_count", { model: MODEL, variant: "canary", version: "2" })).toBe(byVersion["2"]);
    expect(sample(text, "mlops_request_duration_seconds_count", { model: MODEL, variant: "stable", version: "1" })).toBe(byVersion["1"]);
    expect(sample(text, "mlops_canary_weight_percent", { model: MODEL })).toBe(25);
    expect(sample(text, "mlops_model_info", { model: MODEL, version: "2", variant: "canary" })).toBe(1);
    expect(sample(text, "mlops_model_info", { model: MODEL, version: "1", variant: "stable" })).toBe(1);
    expect(sample(text, "mlops_canary_phase", { model: MODEL, phase: "progressing" })).toBe(1);
  });

  it("routes by x-request-id: the same id always gets the same variant, and the ids split by the weight", async () => {
    server = await serveVariants(holdAt(40));
    await waitFor(() => server!.app.variants!.router.effectiveWeight === 40);
    const ids = (i: number) => ({ "x-request-id": `req-${i % 500}` });
    const first = await load(server.inferUrl, 1000, { headers: ids });
    expect(tally(first).failed).toEqual([]);
    for (let i = 0; i < 500; i++) expect(first[i + 500]!.version).toBe(first[i]!.version);
    const canary = first.slice(0, 500).filter((a) => a.version === "2").length / 500;
    expect(canary).toBeGreaterThan(0.33);
    expect(canary).toBeLessThan(0.47);
  });

  it("never splits a request that names a version", async () => {
    server = await serveVariants(holdAt(100));
    await waitFor(() => server!.app.variants!.router.effectiveWeight === 100);
    const pinned = await load(`${server.base}/v2/models/${MODEL}/versions/1/infer`, 200);
    expect(tally(pinned).byVersion).toEqual({ "1": 200 });
    expect(tally(await load(server.inferUrl, 200)).byVersion).toEqual({ "2": 200 });
  });

  it("sends a canary that is not loaded nothing, and its weight once it is", async () => {
    // The challenger alias does not exist yet: the canary holder retries in the background.
    server = await serveVariants({ canary: { model: `${MODEL}@challenger`, weight: 50, bakeSeconds: 3600, analysis: NEVER_JUDGED } }, { spec: { pollIntervalSeconds: 0.05 } });
    const before = await load(server.inferUrl, 400);
    expect(tally(before)).toEqual({ byVersion: { "1": 400 }, failed: [] });
    expect(sample(await metricsText(server.base), "mlops_canary_weight_percent", { model: MODEL })).toBe(0);
    expect(server.app.ready).toBe(true);

    await server.registry.setAlias(MODEL, "challenger", 2);
    await waitFor(() => server!.app.variants!.router.effectiveWeight === 50, 15_000);
    const after = tally(await load(server.inferUrl, 1000));
    expect(after.failed).toEqual([]);
    expect(after.byVersion["2"]).toBeGreaterThan(400);
    expect(after.byVersion["1"]).toBeGreaterThan(400);
  });

  it("sends a canary version that does not exist nothing: no client sees an error", async () => {
    server = await serveVariants({ canary: { model: `${MODEL}:9`, weight: 50, bakeSeconds: 3600 } });
    const answers = await load(server.inferUrl, 300);
    expect(tally(answers)).toEqual({ byVersion: { "1": 300 }, failed: [] });
    expect(server.app.variants!.router.effectiveWeight).toBe(0);
  });
});
