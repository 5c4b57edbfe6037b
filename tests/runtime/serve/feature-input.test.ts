// The model side of serving by entity id, without a server: the load-time checks of a version against the
// features block (bind.ts), and stored values written into each input datatype (columns.ts, lookup.ts),
// over a stand-in online store that answers what each test gives it.
import { describe, expect, it } from "vitest";
import { buildOnnxModel, type OnnxValueInfo } from "../../../src/onnx/build.js";
import type { ModelVersion } from "../../../src/registry/types.js";
import { EndpointFeaturesSchema, type EndpointFeaturesInput } from "../../../src/spec/endpoint-features.js";
import { parseFeatureStoreSpec } from "../../../src/spec/features.js";
import { PlanCache } from "../../../runtime/features/online/request.js";
import type { OnlineStore, ViewRead, ViewValues } from "../../../runtime/features/online/types.js";
import { bindModel, type FeatureContext } from "../../../runtime/serve/feature-input/bind.js";
import { LoadedModel } from "../../../runtime/serve/model.js";
import type { InferCall } from "../../../runtime/serve/protocol.js";
import { BadRequest } from "../../../runtime/serve/tensor.js";

const STORE = parseFeatureStoreSpec({
  name: "fraud",
  registry: "file:///tmp/unused-registry",
  entities: [{ name: "customer", joinKeys: ["customer_id"] }],
  views: [
    {
      name: "stats",
      entities: ["customer"],
      source: { uri: "file:///tmp/unused.csv" },
      features: [
        { name: "amount", dtype: "float64" },
        { name: "count", dtype: "int64" },
        { name: "flag", dtype: "bool" },
        { name: "tier", dtype: "string" },
        { name: "small", dtype: "int32" },
      ],
    },
  ],
});

/** Every input passed through unchanged (Identity), so any datatype and shape can be declared. */
async function model(inputs: OnnxValueInfo[], name = "m"): Promise<LoadedModel> {
  const bytes = buildOnnxModel({
    graphName: "identity",
    inputs,
    outputs: inputs.map((i) => ({ ...i, name: `${i.name}_out` })),
    nodes: inputs.map((i) => ({ opType: "Identity", inputs: [i.name], outputs: [`${i.name}_out`] })),
  });
  return LoadedModel.load({ name, version: 1, digest: "sha256:test" } as ModelVersion, bytes);
}

/** A store that answers every read with `rows` (per key text: event µs and feature name → JSON text). */
function stubStore(rows: Record<string, { t: number; v: Record<string, string> }>): OnlineStore {
  return {
    kind: "embedded",
    healthy: true,
    write: async () => ({ written: 0, skipped: 0 }),
    close: async () => {},
    read: async (reads: readonly ViewRead[]): Promise<ViewValues[]> =>
      reads.map((r) => ({
        eventMicros: Float64Array.from(r.keys, (k) => rows[k]?.t ?? NaN),
        values: r.features.map((f) => r.keys.map((k) => rows[k]?.v[f])),
      })),
  };
}

const NOW = Date.now() * 1000;

function context(features: Partial<EndpointFeaturesInput>, store: OnlineStore = stubStore({})): FeatureContext {
  const cfg = EndpointFeaturesSchema.parse({ store: STORE, entity: "customer", features: ["stats:amount"], ...features });
  const metrics = { observeLookup: () => {}, countValues: () => {}, countError: () => {} };
  return { cfg, store, plan: new PlanCache(STORE).plan(cfg.features, true, "features.features"), metrics, joinKey: "customer_id", keyType: "int64" };
}

const float = (name: string, d: number | string): OnnxValueInfo => ({ name, elemType: "float", shape: ["batch", d] });

function entityCall(ids: bigint[]): InferCall {
  return { id: undefined, feeds: { customer_id: { data: BigInt64Array.from(ids), shape: [ids.length] } }, rows: ids.length, outputs: undefined, binaryOutput: false };
}

describe("binding a model version to the features block (at load time)", () => {
  it("fails when the model has several inputs and features.input names none, listing them", async () => {
    const m = await model([float("a", 1), float("b", 1)]);
    expect(() => bindModel(context({}), m)).toThrow(/features\.input: must name the input the features fill: model m:1 has 2 inputs.*Set features\.input to one of: a \(FP32 \[-1,1\]\), b \(FP32 \[-1,1\]\)/);
  });

  it("fails when features.input is not an input of the model", async () => {
    const m = await model([float("a", 1)]);
    expect(() => bindModel(context({ input: "x" }), m)).toThrow(/features\.input: is not an input of model m:1; received "x"\. Name one of its inputs: a \(FP32 \[-1,1\]\)/);
  });

  it("fails when the input is not two-dimensional", async () => {
    const m = await model([{ name: "a", elemType: "float", shape: ["batch", 2, 2] }]);
    expect(() => bindModel(context({}), m)).toThrow(/features\.input: names input "a" of model m:1, of shape \[-1,2,2\]; the features fill a two-dimensional \[rows, features\] input/);
  });

  it("fails when the feature count differs from the input's width, naming both", async () => {
    const m = await model([float("input", 2)]);
    expect(() => bindModel(context({ features: ["stats:amount", "stats:count", "stats:flag"] }), m)).toThrow(
      /features\.features: lists 3 features, but input "input" of model m:1 takes 2 \(shape \[-1,2\]\).*List the model's 2 features in its input order, or serve a model trained on these 3/,
    );
  });

  it("takes any feature count for an input whose width is dynamic", async () => {
    const m = await model([float("input", "d")]);
    expect(bindModel(context({ features: ["stats:amount", "stats:count"] }), m).parameters.entity_input_replaces).toBe("input");
  });

  it("fails when a feature's dtype does not fit the input's datatype, naming the feature and what fits", async () => {
    const m = await model([float("input", 2)]);
    expect(() => bindModel(context({ features: ["stats:amount", "stats:tier"] }), m)).toThrow(
      /features\.features\[1\]: is a string feature, which input "input" \(FP32\) of model m:1 cannot take; received "stats:tier"\. A FP32 input takes float32, float64, int32, int64 or bool features/,
    );
    const ints = await model([{ name: "input", elemType: "int64", shape: ["batch", 1] }]);
    expect(() => bindModel(context({ features: ["stats:amount"] }), ints)).toThrow(/is a float64 feature, which input "input" \(INT64\).*takes int32, int64 or bool features/);
  });

  it("fails when the fill value does not fit the input's datatype", async () => {
    const ints = await model([{ name: "input", elemType: "int32", shape: ["batch", 1] }]);
    expect(() => bindModel(context({ features: ["stats:count"], missing: { fill: 0.5 } }), ints)).toThrow(/features\.missing\.fill: is not an integer from -2147483648 to 2147483647, which INT32 needs/);
    const strings = await model([{ name: "input", elemType: "string", shape: ["batch", 1] }]);
    expect(() => bindModel(context({ features: ["stats:tier"], missing: { fill: 0 } }), strings)).toThrow(/features\.missing\.fill: is a number, but a BYTES input takes strings/);
  });

  it("fails when the join key is also the name of a model input", async () => {
    const m = await model([float("input", 1), float("customer_id", 1)]);
    expect(() => bindModel(context({ input: "input" }), m)).toThrow(/features\.entity: has join key customer_id, which is also the name of an input of model m:1/);
  });

  it("checks a request by entity against the entity signature, the model's other inputs still required", async () => {
    const m = await model([float("input", 1), float("other", 2)]);
    const bound = bindModel(context({ input: "input" }), m);
    const sig = bound.alternate([{ name: "customer_id", datatype: "INT64", shape: [3] }])!;
    expect(sig.inputs).toEqual([{ name: "customer_id", datatype: "INT64", shape: [-1] }, { name: "other", datatype: "FP32", shape: [-1, 2] }]);
    expect(bound.alternate([{ name: "customer_id", datatype: "INT64", shape: [3, 1] }])!.inputs[0]!.shape).toEqual([-1, 1]);
    expect(bound.alternate([{ name: "input", datatype: "FP32", shape: [3, 1] }])).toBeUndefined();
  });
});

describe("stored values into the input's datatype", () => {
  const fresh = (v: Record<string, string>) => ({ t: NOW, v });

  it("keeps int64 values beyond 2^53 exact into an INT64 input, and bools as 0/1", async () => {
    const m = await model([{ name: "input", elemType: "int64", shape: ["batch", 2] }]);
    const store = stubStore({ "7": fresh({ count: "9007199254740993", flag: "true" }) });
    const call = await bindModel(context({ features: ["stats:count", "stats:flag"] }, store), m).resolve(entityCall([7n]));
    expect(call.feeds.input).toEqual({ data: BigInt64Array.from([9007199254740993n, 1n]), shape: [1, 2] });
    expect(call.feeds.customer_id).toBeUndefined();
  });

  it("writes string features into a BYTES input", async () => {
    const m = await model([{ name: "input", elemType: "string", shape: ["batch", 1] }]);
    const store = stubStore({ "7": fresh({ tier: '"gold \\"plus\\""' }) });
    const call = await bindModel(context({ features: ["stats:tier"] }, store), m).resolve(entityCall([7n]));
    expect(call.feeds.input!.data).toEqual(['gold "plus"']);
  });

  it("writes numbers and bools into an FP64 input, rows in request order", async () => {
    const m = await model([{ name: "input", elemType: "double", shape: ["batch", 3] }]);
    const store = stubStore({ "1": fresh({ amount: "12.5", small: "-3", flag: "false" }), "2": fresh({ amount: "0.1", small: "7", flag: "true" }) });
    const call = await bindModel(context({ features: ["stats:amount", "stats:small", "stats:flag"] }, store), m).resolve(entityCall([2n, 1n, 2n]));
    expect(Array.from(call.feeds.input!.data as Float64Array)).toEqual([0.1, 7, 1, 12.5, -3, 0, 0.1, 7, 1]);
    expect(call.feeds.input!.shape).toEqual([3, 3]);
  });

  it("fails with 422 naming the entity, the feature and the value when a stored value does not fit", async () => {
    const m = await model([{ name: "input", elemType: "int32", shape: ["batch", 1] }]);
    const store = stubStore({ "7": fresh({ count: "3000000000" }) });
    const err = await bindModel(context({ features: ["stats:count"] }, store), m).resolve(entityCall([7n])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequest);
    expect((err as BadRequest).status).toBe(422);
    expect((err as BadRequest).message).toContain("customer_id 7: feature stats:count is 3000000000, which does not fit INT32 (-2147483648 to 2147483647)");
  });

  it("fails with 400 naming the element when a BYTES id is not an int64", async () => {
    const m = await model([float("input", 1)]);
    const bound = bindModel(context({}), m);
    const call: InferCall = { id: undefined, feeds: { customer_id: { data: ["12", "x1"], shape: [2] } }, rows: 2, outputs: undefined, binaryOutput: false };
    const err = (await bound.resolve(call).catch((e: unknown) => e)) as BadRequest;
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/input "customer_id": element 1 is "x1", not an int64 join key value/);
  });

  it("names at most five problems and counts the rest", async () => {
    const m = await model([float("input", 1)]);
    const err = (await bindModel(context({}), m).resolve(entityCall([1n, 2n, 3n, 4n, 5n, 6n, 7n])).catch((e: unknown) => e)) as BadRequest;
    expect(err.status).toBe(422);
    expect(err.message.match(/is NOT_FOUND/g)).toHaveLength(5);
    expect(err.message).toContain("customer_id 5: stats:amount is NOT_FOUND");
    expect(err.message).toContain("; and 2 more.");
  });
});
