/**
 * Variants across the layers: a ModelEndpoint's `variants` reach the EndpointSpec it renders (the runtime's
 * schema filling the defaults, and refusing bad ones naming the field), the runtime boots from that spec and
 * splits traffic, and its /metrics with a canary and a shadow after traffic (fallbacks included) passes
 * `promtool check metrics` (Debian's prometheus package).
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ModelEndpointArgsSchema } from "../../../../components/model-endpoint/args.js";
import { buildEndpointSpec, normalizeEndpoint } from "../../../../components/model-endpoint/index.js";
import { startServer } from "../../../../runtime/serve/main.js";
import { fixture, tempRegistry, waitFor } from "../helpers.js";
import { load, metricsText, mismatchedModel, MODEL, tally } from "./fixture.js";

const args = { registry: "file:///r", model: "fraud@champion", kubernetes: { kubeconfig: "x" } };

describe("ModelEndpoint variants", () => {
  it("renders them into the EndpointSpec, with the runtime's defaults", () => {
    const variants = { canary: { model: "fraud:4", weight: 10, steps: [50, 100], onSuccess: "promote" as const }, shadow: { model: "fraud:5", sampleRate: 0.05 } };
    expect(ModelEndpointArgsSchema.safeParse({ ...args, variants }).success).toBe(true);
    const spec = buildEndpointSpec({ name: "fraud", registryUri: "file:///r", endpoint: normalizeEndpoint({ ...args, variants }, "dev") });
    expect(spec.variants).toEqual({
      canary: { model: "fraud:4", weight: 10, steps: [50, 100], onSuccess: "promote", bakeSeconds: 60, routing: "hash", analysis: { maxErrorRatioIncrease: 0.01, p99LatencyRatio: 1.5, p99LatencySlackMs: 10, minRequests: 100 } },
      shadow: { model: "fraud:5", sampleRate: 0.05, maxInFlight: 64 },
    });
    expect(buildEndpointSpec({ name: "fraud", registryUri: "file:///r", endpoint: normalizeEndpoint(args, "dev") }).variants).toBeUndefined();
  });

  it("refuses bad ones, naming the field", () => {
    const r = ModelEndpointArgsSchema.safeParse({ ...args, variants: { canary: { model: "fraud:4", weight: 101 } } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(["variants", "canary", "weight"]);
    expect(() => buildEndpointSpec({ name: "fraud", registryUri: "file:///r", endpoint: normalizeEndpoint({ ...args, variants: { canary: { model: "churn:4", weight: 10 } } }, "dev") })).toThrow(
      /variants\.canary\.model: names model "churn", not the endpoint's model "fraud"/,
    );
  });
});

describe("mlops serve with variants", () => {
  it("boots from the spec, splits, falls back, mirrors, and its /metrics passes promtool check metrics", async () => {
    const t = await tempRegistry();
    await t.registry.register(MODEL, await fixture("logistic"), { alias: "champion" });
    await t.registry.register(MODEL, mismatchedModel());
    await t.registry.register(MODEL, await fixture("logistic_v2"));
    const spec = buildEndpointSpec({
      name: "logistic",
      registryUri: t.uri,
      endpoint: normalizeEndpoint({ ...args, model: `${MODEL}@champion`, pollIntervalSeconds: 0.05, variants: { canary: { model: `${MODEL}:2`, weight: 50, bakeSeconds: 3600, analysis: { minRequests: 1_000_000 } }, shadow: { model: `${MODEL}:3`, sampleRate: 0.5 } } }, "dev"),
    });
    const server = await startServer({ ...spec, server: { ...spec.server, host: "127.0.0.1", port: 0 } }, { registry: t.registry });
    try {
      await waitFor(() => server.app.variants!.router.effectiveWeight === 50 && server.app.variants!.shadow!.serving !== undefined, 10_000);
      expect(tally(await load(`${server.url}/v2/models/${MODEL}/infer`, 400))).toEqual({ byVersion: { "1": 400 }, failed: [] });
      await waitFor(() => server.app.variants!.router.shadowsInFlight === 0);
      const text = await metricsText(server.url);
      expect(text).toMatch(/^mlops_canary_fallbacks_total\{model="logistic"\} [1-9]/m);
      expect(text).toMatch(/^mlops_shadow_requests_total\{model="logistic",result="disagree"\} [1-9]/m);
      const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
      if (r.error) throw new Error(`promtool is not installed (apt-get install -y prometheus): ${r.error.message}`);
      expect({ code: r.status, output: `${r.stdout}${r.stderr}` }).toEqual({ code: 0, output: "" });
    } finally {
      await server.stop();
      await t.cleanup();
    }
  });
});
