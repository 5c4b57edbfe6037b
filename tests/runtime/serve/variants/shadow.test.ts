/**
 * Shadow variants under a bounded load of keep-alive clients: a sample of the requests is mirrored to the
 * shadow once stable has answered; the client only ever gets stable's answer (byte for byte what a server
 * without a shadow answers), the shadow's is compared and discarded, and the comparison is counted.
 */
import { afterEach, describe, expect, it } from "vitest";
import { seededRandom } from "../../../../src/random.js";
import { fixture, sample, waitFor } from "../helpers.js";
import { load, metricsText, mismatchedModel, MODEL, serveVariants, tally, type VariantServer } from "./fixture.js";

let server: VariantServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const shadowCount = async (base: string, result: string) => sample(await metricsText(base), "mlops_shadow_requests_total", { model: MODEL, result }) ?? 0;

describe("shadow", () => {
  it("mirrors every request to a different model: the client gets stable's answers only, the disagreements are counted", async () => {
    const plain = await serveVariants({ shadow: { model: `${MODEL}:2`, sampleRate: 0 } });
    const reference = await load(plain.inferUrl, 1, {});
    await plain.close();

    server = await serveVariants({ shadow: { model: `${MODEL}:2`, sampleRate: 1 } });
    await waitFor(() => server!.app.variants!.shadow!.serving !== undefined);
    const answers = await load(server.inferUrl, 1000, { concurrency: 8 });
    expect(tally(answers)).toEqual({ byVersion: { "1": 1000 }, failed: [] });
    // Identical to what the same request gets without a shadow.
    for (const a of answers) expect(a.body).toBe(reference[0]!.body);

    await waitFor(async () => (await shadowCount(server!.base, "disagree")) + (await shadowCount(server!.base, "dropped")) === 1000);
    const text = await metricsText(server.base);
    const disagreed = sample(text, "mlops_shadow_requests_total", { model: MODEL, result: "disagree" })!;
    expect(disagreed).toBeGreaterThan(0);
    expect(sample(text, "mlops_requests_total", { model: MODEL, variant: "shadow", version: "2", route: "infer", status: "200" })).toBe(disagreed);
    expect(sample(text, "mlops_requests_total", { model: MODEL, variant: "stable", version: "1", route: "infer", status: "200" })).toBe(1000);
    expect(sample(text, "mlops_request_duration_seconds_count", { model: MODEL, variant: "shadow", version: "2" })).toBe(disagreed);
    expect(sample(text, "mlops_shadow_requests_total", { model: MODEL, result: "agree" })).toBe(0);
  });

  it("counts agreement when the shadow answers as stable does", async () => {
    // The same graph registered again: version 2 answers exactly as version 1.
    server = await serveVariants({ shadow: { model: `${MODEL}:2`, sampleRate: 1, maxInFlight: 1000 } }, { challengers: [await fixture("logistic")] });
    await waitFor(() => server!.app.variants!.shadow!.serving !== undefined);
    expect(tally(await load(server.inferUrl, 300)).failed).toEqual([]);
    await waitFor(async () => (await shadowCount(server!.base, "agree")) === 300);
    expect(await shadowCount(server.base, "disagree")).toBe(0);
  });

  it("keeps a failing shadow's errors from every client, and counts them", async () => {
    server = await serveVariants({ shadow: { model: `${MODEL}:2`, sampleRate: 1, maxInFlight: 1000 } }, { challengers: [mismatchedModel()] });
    await waitFor(() => server!.app.variants!.shadow!.serving !== undefined);
    expect(tally(await load(server.inferUrl, 500))).toEqual({ byVersion: { "1": 500 }, failed: [] });
    await waitFor(async () => (await shadowCount(server!.base, "shadow_error")) === 500);
    expect(sample(await metricsText(server.base), "mlops_requests_total", { model: MODEL, variant: "shadow", route: "infer", status: "400" })).toBe(500);
  });

  it("mirrors a sampleRate share of the requests", async () => {
    server = await serveVariants({ shadow: { model: `${MODEL}:2`, sampleRate: 0.3, maxInFlight: 1000 } }, { challengers: [await fixture("logistic")], deps: { variants: { random: seededRandom(11) } } });
    await waitFor(() => server!.app.variants!.shadow!.serving !== undefined);
    expect(tally(await load(server.inferUrl, 2000)).failed).toEqual([]);
    await waitFor(() => server!.app.variants!.router.shadowsInFlight === 0);
    const mirrored = await shadowCount(server.base, "agree");
    expect(mirrored / 2000).toBeGreaterThan(0.26);
    expect(mirrored / 2000).toBeLessThan(0.34);
  });
});
