/**
 * EndpointSpec `variants`: the defaults a canary and a shadow get, and every bad input refused naming the
 * field, the value received and the fix (an unsupported canary config fails loudly: KServe #5335 ignored it).
 */
import { describe, expect, it } from "vitest";
import { parseEndpointSpec } from "../../../src/spec/endpoint.js";
import { canaryWeights, VARIANT_DEFAULTS } from "../../../src/spec/endpoint-variants.js";

const base = { name: "fraud", model: "fraud@champion", registry: "file:///tmp/r" };
const parse = (variants: unknown, model = base.model) => parseEndpointSpec({ ...base, model, variants });
const problems = (variants: unknown, model?: string): string[] => {
  try {
    parse(variants, model);
  } catch (e) {
    return (e as { problems: string[] }).problems;
  }
  throw new Error("parsed");
};

describe("EndpointSpec variants", () => {
  it("fills a canary's and a shadow's defaults", () => {
    const s = parse({ canary: { model: "fraud:4", weight: 10, steps: [25, 50] }, shadow: { model: "fraud:5", sampleRate: 0.1 } });
    expect(s.variants!.canary).toEqual({
      model: "fraud:4",
      weight: 10,
      steps: [25, 50],
      bakeSeconds: VARIANT_DEFAULTS.bakeSeconds,
      onSuccess: "wait",
      routing: "hash",
      analysis: { maxErrorRatioIncrease: 0.01, p99LatencyRatio: 1.5, p99LatencySlackMs: 10, minRequests: 100 },
    });
    expect(s.variants!.shadow).toEqual({ model: "fraud:5", sampleRate: 0.1, maxInFlight: 64 });
    expect(canaryWeights(s.variants!.canary!)).toEqual([10, 25, 50]);
    expect(parseEndpointSpec(base).variants).toBeUndefined();
  });

  it("refuses a weight outside 0-100 and a sample rate outside 0-1, naming the field and the value", () => {
    expect(problems({ canary: { model: "fraud:4", weight: 150 } })).toEqual([expect.stringMatching(/^variants\.canary\.weight: must be 0 to 100 \(a percentage of infer requests\); received 150\./)]);
    expect(problems({ shadow: { model: "fraud:4", sampleRate: 2 } })).toEqual([expect.stringMatching(/^variants\.shadow\.sampleRate: must be 0 to 1 .*received 2\./)]);
    expect(problems({ canary: { model: "fraud:4", weight: 10, analysis: { p99LatencyRatio: 0.5 } } })[0]).toMatch(/^variants\.canary\.analysis\.p99LatencyRatio: .*received 0\.5/);
    expect(problems({ canary: { model: "fraud:4", weight: 10, onSuccess: "yes" } })[0]).toMatch(/^variants\.canary\.onSuccess: must be "promote" .* or "wait" .*received "yes"/);
  });

  it("refuses steps that do not increase", () => {
    expect(problems({ canary: { model: "fraud:4", weight: 25, steps: [50, 40] } })).toEqual([
      expect.stringMatching(/^variants\.canary\.steps\[1\]: is 40, not above the weight before it \(50\); received \[50,40\]\. List increasing weights/),
    ]);
    expect(problems({ canary: { model: "fraud:4", weight: 25, steps: [10] } })[0]).toMatch(/^variants\.canary\.steps\[0\]: is 10, not above the weight before it \(25\)/);
  });

  it("refuses a canary of another model, the stable model itself, and a zero weight with no steps", () => {
    expect(problems({ canary: { model: "churn:2", weight: 10 } })[0]).toMatch(/^variants\.canary\.model: names model "churn", not the endpoint's model "fraud"; received "churn:2"\. A canary is another version of the same model: write "fraud:<version>"/);
    expect(problems({ canary: { model: "fraud@champion", weight: 10 } })[0]).toMatch(/^variants\.canary\.model: is the stable model itself/);
    expect(problems({ canary: { model: "fraud:4", weight: 0 } })[0]).toMatch(/^variants\.canary\.weight: is 0 with no steps.*Start at a weight above 0/);
    expect(problems({ canary: { model: "fraud", weight: 10 } })[0]).toMatch(/^variants\.canary\.model: must be "<name>@<alias>" or "<name>:<version>"/);
  });

  it("refuses promote when the stable model is a pinned version: there is no alias to move", () => {
    expect(problems({ canary: { model: "fraud:4", weight: 10, onSuccess: "promote" } }, "fraud:3")[0]).toMatch(
      /^variants\.canary\.onSuccess: is "promote" but the stable model fraud:3 is a pinned version.*Serve "fraud@<alias>" as the model, or set onSuccess: "wait"\./,
    );
    expect(parse({ canary: { model: "fraud:4", weight: 10, onSuccess: "wait" } }, "fraud:3").variants!.canary!.onSuccess).toBe("wait");
  });

  it("refuses unknown settings, a shadow of the stable model, and names the spec's source", () => {
    expect(problems({ canary: { model: "fraud:4", weight: 10, bake: 60 } })[0]).toMatch(/^variants\.canary: .*bake/);
    expect(problems({ mirror: {} })[0]).toMatch(/^variants: .*mirror/);
    expect(problems({ shadow: { model: "fraud@champion", sampleRate: 0.5 } })[0]).toMatch(/^variants\.shadow\.model: is the stable model itself/);
    expect(() => parseEndpointSpec({ ...base, variants: { canary: { model: "fraud:4", weight: 0 } } }, "MLOPS_ENDPOINT_SPEC")).toThrow(/^MLOPS_ENDPOINT_SPEC: 1 invalid value/);
  });
});
