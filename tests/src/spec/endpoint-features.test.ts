// EndpointSpec `features` (serving by entity id): what parseEndpointSpec accepts and refuses, each refusal
// naming the field, the value and the fix.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { MlopsError } from "../../../src/errors.js";
import { EndpointSpecSchema, parseEndpointSpec } from "../../../src/spec/endpoint.js";
import type { EndpointFeaturesInput } from "../../../src/spec/endpoint-features.js";
import type { FeatureStoreSpecInput } from "../../../src/spec/features.js";

const STORE: FeatureStoreSpecInput = {
  name: "fraud",
  registry: "file:///srv/features/registry",
  entities: [
    { name: "customer", joinKeys: ["customer_id"] },
    { name: "merchant", joinKeys: ["merchant_id"], valueType: "string" },
    { name: "pair", joinKeys: ["customer_id", "merchant_id"] },
  ],
  views: [
    { name: "txn_stats", entities: ["customer"], source: { uri: "s3://data/txn.parquet" }, ttl: "3d", features: [{ name: "spend_7d", dtype: "float64" }, { name: "txn_count_7d", dtype: "int64" }] },
    { name: "offline_only", entities: ["customer"], source: { uri: "s3://data/o.parquet" }, online: false, features: [{ name: "x", dtype: "float64" }] },
    { name: "pair_stats", entities: ["customer", "merchant"], source: { uri: "s3://data/p.parquet" }, features: [{ name: "n", dtype: "int64" }] },
  ],
};

const spec = (features: Partial<EndpointFeaturesInput>) =>
  parseEndpointSpec({ name: "fraud", model: "fraud@champion", registry: "s3://models", features: { store: STORE, entity: "customer", features: ["txn_stats:spend_7d"], ...features } });

function problems(features: Partial<EndpointFeaturesInput>): readonly string[] {
  try {
    spec(features);
  } catch (e) {
    if (e instanceof MlopsError) return e.problems;
    throw e;
  }
  throw new Error("expected the spec to be refused");
}

describe("EndpointSpec features", () => {
  it("is off by default", () => {
    expect(parseEndpointSpec({ name: "fraud", model: "fraud@champion", registry: "s3://models" }).features).toBeUndefined();
  });

  it('takes the store, the entity and the features, with missing "error" and 1000 entity rows by default', () => {
    const f = spec({ features: ["txn_stats:txn_count_7d", "txn_stats:spend_7d"] }).features!;
    expect(f).toMatchObject({ entity: "customer", features: ["txn_stats:txn_count_7d", "txn_stats:spend_7d"], missing: "error", maxEntities: 1000 });
    expect(f.store.online).toEqual({ embedded: {} });
    expect(spec({ missing: { fill: -1 }, input: "x" }).features).toMatchObject({ missing: { fill: -1 }, input: "x" });
  });

  it("fails when the entity is not one of the store's, listing those", () => {
    expect(problems({ entity: "shop" })).toEqual(['features.entity: is not an entity of feature store fraud; received "shop". Use one of: customer, merchant, pair.']);
  });

  it("fails when the entity has several join keys", () => {
    expect(problems({ entity: "pair", features: ["pair_stats:n"] })[0]).toMatch(/^features\.entity: has 2 join keys \(customer_id, merchant_id\); a request by entity id sends one key per row; received "pair"/);
  });

  it("fails naming the feature when it is not in the store, in an offline view, or in a view keyed otherwise", () => {
    expect(problems({ features: ["txn_stats:spend_7d", "txn_stats:nope", "offline_only:x", "pair_stats:n", "txn_stats:spend_7d"] })).toEqual([
      'features.features[1]: is not a feature of view txn_stats; received "txn_stats:nope". Use one of: txn_stats:spend_7d, txn_stats:txn_count_7d.',
      'features.features[2]: is in view offline_only, which is not in the online store (online: false); received "offline_only:x". Set online: true on the view and materialize it.',
      'features.features[3]: is in view pair_stats, keyed by customer + merchant, not by entity customer alone; received "pair_stats:n". Serve features of views whose entities are [customer].',
      "features.features[4]: is listed twice; received \"txn_stats:spend_7d\". List each feature once, in the model's input order.",
    ]);
  });

  it("fails with the store's own cross-checks, under features.store", () => {
    const store = { ...STORE, views: [STORE.views[0]!, STORE.views[0]!] };
    expect(problems({ store } as Partial<EndpointFeaturesInput>)).toContain('features.store.views[1].name: is declared twice; received "txn_stats". Give each view its own name.');
  });

  it("fails when missing is neither \"error\" nor { fill: <number> }", () => {
    expect(problems({ missing: "zero" as never }).join("\n")).toMatch(/features\.missing: must be "error" .* or \{ fill: <number> \}/);
  });

  it("is in the JSON Schema of the endpoint spec", () => {
    const schema = z.toJSONSchema(EndpointSpecSchema, { io: "input", unrepresentable: "any" }) as { properties: Record<string, { required?: string[] }> };
    expect(schema.properties.features!.required).toEqual(["store", "entity", "features"]);
  });
});
