// Serving by entity id end to end: features materialized into a real online store (the embedded LMDB
// store, and a redis-server started here), a model served with `features`, requests by INT64 and BYTES
// entity ids in JSON and binary, each answer compared with the model's answer on the feature vector the
// feature server's own lookup returns for the same ids.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PlanCache } from "../../../runtime/features/online/request.js";
import { answerOnlineFeatures } from "../../../runtime/features/server.js";
import { ONLINE_KINDS } from "../features/online/helpers.js";
import { sample } from "./helpers.js";
import { infer, type Answer, type ClientInput } from "./oip-client.js";
import {
  CUSTOMER_FEATURES,
  CUSTOMERS,
  customerFeatures,
  featureWorld,
  MERCHANT_FEATURES,
  merchantFeatures,
  MERCHANTS,
  NULL_CUSTOMER,
  serve,
  STALE_CUSTOMER,
  type FeatureWorld,
  type Served,
} from "./features-fixture.js";

const ids = (values: readonly number[], over: Partial<ClientInput> = {}): ClientInput => ({ name: "customer_id", datatype: "INT64", shape: [values.length], values, ...over });
const errorOf = (a: Answer): string => a.json.error;

describe.each(ONLINE_KINDS)("serving by entity id (%s online store)", (kind) => {
  let w: FeatureWorld;
  let customer: Served;
  let merchant: Served;
  beforeAll(async () => {
    w = await featureWorld(kind);
    customer = await serve(w, "customer", customerFeatures(w));
    merchant = await serve(w, "merchant", merchantFeatures(w));
  }, 60_000);
  afterAll(async () => {
    await customer?.close();
    await merchant?.close();
    await w?.close();
  });

  /** The feature vectors the feature server's lookup (Feast's format, column-major) gives for `keys`, row-major. */
  async function lookedUp(joinKey: string, keys: readonly (number | string)[], features: readonly string[]): Promise<unknown[][]> {
    const text = await answerOnlineFeatures(w.online, new PlanCache(w.store), { features, entities: { [joinKey]: keys }, full_feature_names: true });
    const { results } = JSON.parse(text) as { results: { values: unknown[]; statuses: string[] }[] };
    for (const r of results) expect(r.statuses.every((s) => s === "PRESENT")).toBe(true);
    return keys.map((_, row) => features.map((_, j) => results[j + 1]!.values[row]));
  }

  /** The model's answer on the feature vectors themselves (the request the client would make without `features`). */
  function direct(url: string, vectors: unknown[][]): Promise<Answer> {
    return infer(url, { inputs: [{ name: "input", datatype: "FP32", shape: [vectors.length, vectors[0]!.length], values: vectors.flat() as number[] }] });
  }

  it("answers a JSON request by INT64 entity id as the model answers on the looked-up feature vectors", async () => {
    const keys = [1001, 1002, 1001];
    const got = await infer(customer.inferUrl, { inputs: [ids(keys)] });
    expect(got.status, got.raw.toString()).toBe(200);
    const vectors = await lookedUp("customer_id", keys, CUSTOMER_FEATURES);
    // The features in the model's input order, across two views.
    expect(vectors).toEqual([CUSTOMERS[1001], CUSTOMERS[1002], CUSTOMERS[1001]]);
    const want = await direct(customer.inferUrl, vectors);
    expect(want.status).toBe(200);
    expect(got.outputs.probability).toEqual(want.outputs.probability);
    expect(got.outputs.probability!.shape).toEqual([3, 1]);
    // Different entities, different answers: the ids were not ignored.
    expect(got.outputs.probability!.values[0]).not.toEqual(got.outputs.probability!.values[1]);
  });

  it("takes the entity ids as shape [N, 1] too", async () => {
    const got = await infer(customer.inferUrl, { inputs: [ids([1002, 1001], { shape: [2, 1] })] });
    expect(got.status, got.raw.toString()).toBe(200);
    const want = await direct(customer.inferUrl, [[...CUSTOMERS[1002]], [...CUSTOMERS[1001]]]);
    expect(got.outputs.probability).toEqual(want.outputs.probability);
  });

  it("takes INT64 entity ids as binary tensor data and answers in binary, equal to JSON", async () => {
    const keys = [1002, 1001];
    const bin = await infer(customer.inferUrl, { inputs: [ids(keys, { binary: true })], binaryDataOutput: true });
    expect(bin.status, bin.raw.toString()).toBe(200);
    expect(bin.headers["content-type"]).toBe("application/octet-stream");
    expect(bin.outputs.probability!.binary).toBe(true);
    const json = await infer(customer.inferUrl, { inputs: [ids(keys)] });
    expect(bin.outputs.probability!.values).toEqual(json.outputs.probability!.values);
    const want = await direct(customer.inferUrl, await lookedUp("customer_id", keys, CUSTOMER_FEATURES));
    expect(bin.outputs.probability!.values).toEqual(want.outputs.probability!.values);
  });

  it("takes an int64 entity's ids as BYTES of decimal digits", async () => {
    const got = await infer(customer.inferUrl, { inputs: [{ name: "customer_id", datatype: "BYTES", shape: [2], values: ["1001", "1002"], binary: true }] });
    expect(got.status, got.raw.toString()).toBe(200);
    const want = await infer(customer.inferUrl, { inputs: [ids([1001, 1002])] });
    expect(got.outputs.probability).toEqual(want.outputs.probability);
  });

  it("answers a request by BYTES entity id (string keys), JSON and binary, as the model answers on the looked-up features", async () => {
    const keys = ["m-02", "m-01"];
    const vectors = await lookedUp("merchant_id", keys, MERCHANT_FEATURES);
    expect(vectors).toEqual([MERCHANTS["m-02"], MERCHANTS["m-01"]]);
    const want = await direct(merchant.inferUrl, vectors);
    for (const binary of [false, true]) {
      const got = await infer(merchant.inferUrl, { inputs: [{ name: "merchant_id", datatype: "BYTES", shape: [2], values: keys, binary }] });
      expect(got.status, got.raw.toString()).toBe(200);
      expect(got.outputs.probability!.values).toEqual(want.outputs.probability!.values);
    }
  });

  it("fails with 400 when a string entity's ids come as INT64, naming the datatype to send", async () => {
    const got = await infer(merchant.inferUrl, { inputs: [{ name: "merchant_id", datatype: "INT64", shape: [1], values: [1] }] });
    expect(got.status).toBe(400);
    expect(errorOf(got)).toMatch(/input "merchant_id": datatype INT64 .* send "datatype": "BYTES"/);
  });

  it("still answers a request that sends the model's own feature tensor", async () => {
    const got = await direct(customer.inferUrl, [[1, 2, 3]]);
    expect(got.status, got.raw.toString()).toBe(200);
    expect(got.outputs.probability!.shape).toEqual([1, 1]);
  });

  it("fails with 422 naming the entity key value, the feature and NOT_FOUND for an entity the store does not hold", async () => {
    const got = await infer(customer.inferUrl, { inputs: [ids([1001, 999])] });
    expect(got.status).toBe(422);
    expect(errorOf(got)).toMatch(/customer_id 999: txn_stats:spend_7d is NOT_FOUND \(the online store holds nothing for this entity in view txn_stats\)/);
    expect(errorOf(got)).toContain("customer_id 999: profile:age is NOT_FOUND");
    expect(errorOf(got)).not.toContain("customer_id 1001");
    expect(errorOf(got)).toMatch(/set features\.missing to \{ fill: <number> \}/);
  });

  it("fails with 422 naming OUTSIDE_MAX_AGE for a value older than the view's ttl", async () => {
    const got = await infer(customer.inferUrl, { inputs: [ids([STALE_CUSTOMER])] });
    expect(got.status).toBe(422);
    expect(errorOf(got)).toMatch(new RegExp(`customer_id ${STALE_CUSTOMER}: txn_stats:spend_7d is OUTSIDE_MAX_AGE \\(its value is from \\S+Z, older than view txn_stats's ttl of 1h\\)`));
    // The view without a ttl is not stale, however old.
    expect(errorOf(got)).not.toContain("profile:age");
  });

  it("fails with 422 naming NULL_VALUE for a stored null", async () => {
    const got = await infer(customer.inferUrl, { inputs: [ids([NULL_CUSTOMER])] });
    expect(got.status).toBe(422);
    expect(errorOf(got)).toContain(`customer_id ${NULL_CUSTOMER}: txn_stats:spend_7d is NULL_VALUE (a null is stored for it)`);
  });

  it("fails with 400 naming the limit when a request carries more entity rows than features.maxEntities", async () => {
    const small = await serve(w, "customer", customerFeatures(w, { maxEntities: 2 }));
    try {
      const got = await infer(small.inferUrl, { inputs: [ids([1001, 1002, 1001])] });
      expect(got.status).toBe(400);
      expect(errorOf(got)).toContain("carries 3 entity rows; this endpoint looks up at most 2 per request (features.maxEntities)");
    } finally {
      await small.close();
    }
  });

  it("serves the fill value in place of missing and stale features with missing: { fill }", async () => {
    const filled = await serve(w, "customer", customerFeatures(w, { missing: { fill: 0 } }));
    try {
      const got = await infer(filled.inferUrl, { inputs: [ids([999, STALE_CUSTOMER, NULL_CUSTOMER, 1001])] });
      expect(got.status, got.raw.toString()).toBe(200);
      // 999: nothing; the stale one: txn_stats filled, its age kept (22); the null one: spend filled, the rest kept (40, 2).
      const want = await direct(filled.inferUrl, [[0, 0, 0], [0, 22, 0], [0, 40, 2], [...CUSTOMERS[1001]]]);
      expect(got.outputs.probability).toEqual(want.outputs.probability);
      const metrics = (await filled.app.inject({ method: "GET", url: "/metrics" })).body;
      expect(sample(metrics, "mlops_feature_lookup_values_total", { view: "txn_stats", status: "NOT_FOUND" })).toBe(2);
      expect(sample(metrics, "mlops_feature_lookup_values_total", { view: "txn_stats", status: "OUTSIDE_MAX_AGE" })).toBe(2);
      expect(sample(metrics, "mlops_feature_lookup_values_total", { view: "txn_stats", status: "NULL_VALUE" })).toBe(1);
      expect(sample(metrics, "mlops_feature_lookup_values_total", { view: "profile", status: "NOT_FOUND" })).toBe(1);
      expect(sample(metrics, "mlops_feature_lookup_values_total", { view: "profile", status: "PRESENT" })).toBe(3);
    } finally {
      await filled.close();
    }
  });

  it("shows the lookup latency in the serving metrics", async () => {
    const served = await serve(w, "customer", customerFeatures(w));
    try {
      for (let i = 0; i < 3; i++) expect((await infer(served.inferUrl, { inputs: [ids([1001])] })).status).toBe(200);
      // A request with the model's own inputs reads no features.
      expect((await direct(served.inferUrl, [[1, 2, 3]])).status).toBe(200);
      const after = (await served.app.inject({ method: "GET", url: "/metrics" })).body;
      expect(sample(after, "mlops_feature_lookup_duration_seconds_count")).toBe(3);
      expect(sample(after, "mlops_feature_lookup_duration_seconds_sum")).toBeGreaterThan(0);
      expect(sample(after, "mlops_feature_lookup_values_total", { view: "txn_stats", status: "PRESENT" })).toBe(6);
      expect(sample(after, "mlops_feature_lookup_errors_total")).toBe(0);
    } finally {
      await served.close();
    }
  });

  it("advertises the entity input in the model metadata's parameters, the model's own inputs unchanged", async () => {
    const meta = (await customer.app.inject({ method: "GET", url: "/v2/models/customer" })).json();
    expect(meta.inputs).toEqual([{ name: "input", datatype: "FP32", shape: [-1, 3] }]);
    expect(meta.parameters).toEqual({
      entity_input: "customer_id",
      entity_input_datatype: "INT64",
      entity_input_shape: "[-1]",
      entity_input_replaces: "input",
      entity: "customer",
      features: CUSTOMER_FEATURES.join(","),
      missing_features: "error",
    });
    const m = (await merchant.app.inject({ method: "GET", url: "/v2/models/merchant" })).json();
    expect(m.parameters).toMatchObject({ entity_input: "merchant_id", entity_input_datatype: "BYTES" });
  });

  it("fails to load a model whose input width differs from the feature count, naming both", async () => {
    await expect(serve(w, "wide", customerFeatures(w))).rejects.toThrow(
      /features\.features: lists 3 features, but input "input" of model wide:1 takes 4 \(shape \[-1,4\]\).*List the model's 4 features in its input order, or serve a model trained on these 3/,
    );
  });
});

describe("serving by entity id with a Redis that requires AUTH", () => {
  const ENV = "MLOPS_TEST_ONLINE_PASSWORD";
  const PASSWORD = "s3cret-online-store-pass";
  let w: FeatureWorld;
  beforeAll(async () => {
    process.env[ENV] = PASSWORD;
    w = await featureWorld("redis", { redisArgs: ["--requirepass", PASSWORD], passwordEnv: ENV });
  }, 60_000);
  afterAll(async () => {
    delete process.env[ENV];
    await w?.close();
  });

  it("reads the password from the variable online.redis.passwordEnv names", async () => {
    process.env[ENV] = PASSWORD;
    const served = await serve(w, "customer", customerFeatures(w));
    try {
      const got = await infer(served.inferUrl, { inputs: [ids([1001])] });
      expect(got.status, got.raw.toString()).toBe(200);
    } finally {
      await served.close();
    }
  });

  it("fails at boot naming passwordEnv when the variable is unset, without the password", async () => {
    delete process.env[ENV];
    const err = await serve(w, "customer", customerFeatures(w)).then(() => undefined, (e: Error) => e);
    expect(err?.message).toContain("online.redis.passwordEnv: names an unset or empty environment variable");
    expect(err?.message).toContain(`Export ${ENV}=<the Redis AUTH token>`);
    expect(err?.message).not.toContain(PASSWORD);
  });

  it("answers 503 naming the online store once it stops answering", async () => {
    process.env[ENV] = PASSWORD;
    const served = await serve(w, "customer", customerFeatures(w));
    try {
      expect((await infer(served.inferUrl, { inputs: [ids([1001])] })).status).toBe(200);
      await w.redis!.stop();
      const got = await infer(served.inferUrl, { inputs: [ids([1001])] });
      expect(got.status).toBe(503);
      expect(errorOf(got)).toMatch(/^the online store did not answer \(.+\); the features of this request could not be read: retry later$/);
      expect(errorOf(got)).not.toContain(PASSWORD);
    } finally {
      await served.close();
    }
  });
});
