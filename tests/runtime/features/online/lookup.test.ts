import { describe, expect, it } from "vitest";
import { PlanCache, RequestError } from "../../../../runtime/features/online/request.js";
import { answerOnlineFeatures } from "../../../../runtime/features/server.js";
import { ONLINE_KINDS, useOnline } from "./helpers.js";

const T0 = Date.UTC(2026, 0, 2, 3, 0, 0) * 1000; // µs
const HOUR = 3600 * 1e6;

describe.each(ONLINE_KINDS)("online lookup (%s)", (kind) => {
  const fx = useOnline(kind);

  async function seed() {
    const { store, spec } = fx();
    await store.write(spec.views[0]!, [
      { key: "1", eventMicros: T0, createdMicros: -1, values: ["12.5", "3", '"gold"'] },
      { key: "2", eventMicros: T0 + 500_000, createdMicros: -1, values: ["null", "9007199254740993", "null"] },
    ]);
    return { store, spec, plans: new PlanCache(spec) };
  }

  const body = (ids: unknown[], features = ["txn_stats:spend_7d", "txn_stats:txn_count_7d", "txn_stats:tier"]) => ({ features, entities: { customer_id: ids } });

  it("answers present values, stored nulls and unknown entities with their statuses and timestamps", async () => {
    const { store, plans } = await seed();
    const text = await answerOnlineFeatures(store, plans, body([1, 2, 3]), { nowMicros: T0 + 1e6 });
    expect(JSON.parse(text)).toEqual({
      metadata: { feature_names: ["customer_id", "spend_7d", "txn_count_7d", "tier"] },
      results: [
        { values: [1, 2, 3], statuses: ["PRESENT", "PRESENT", "PRESENT"], event_timestamps: ["1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"] },
        { values: [12.5, null, null], statuses: ["PRESENT", "NULL_VALUE", "NOT_FOUND"], event_timestamps: ["2026-01-02T03:00:00Z", "2026-01-02T03:00:00.500Z", "1970-01-01T00:00:00Z"] },
        { values: [3, 9007199254740993, null], statuses: ["PRESENT", "PRESENT", "NOT_FOUND"], event_timestamps: ["2026-01-02T03:00:00Z", "2026-01-02T03:00:00.500Z", "1970-01-01T00:00:00Z"] },
        { values: ["gold", null, null], statuses: ["PRESENT", "NULL_VALUE", "NOT_FOUND"], event_timestamps: ["2026-01-02T03:00:00Z", "2026-01-02T03:00:00.500Z", "1970-01-01T00:00:00Z"] },
      ],
    });
    // int64 values beyond 2^53 come back digit for digit (the text is never parsed on the way).
    expect(text).toContain("[3,9007199254740993,null]");
  });

  it("enforces the view's TTL at read time: a value exactly ttl old is PRESENT, one microsecond older is OUTSIDE_MAX_AGE", async () => {
    const { store, plans } = await seed();
    const at = async (now: number) => JSON.parse(await answerOnlineFeatures(store, plans, body([1], ["txn_stats:spend_7d"]), { nowMicros: now })).results[1];
    expect(await at(T0 + HOUR)).toEqual({ values: [12.5], statuses: ["PRESENT"], event_timestamps: ["2026-01-02T03:00:00Z"] });
    expect(await at(T0 + HOUR + 1)).toEqual({ values: [null], statuses: ["OUTSIDE_MAX_AGE"], event_timestamps: ["2026-01-02T03:00:00Z"] });
    expect((await at(T0 + 3 * HOUR)).statuses).toEqual(["OUTSIDE_MAX_AGE"]);
  });

  it("does not return a 1 s TTL value as PRESENT 17 minutes later (feast #6821)", async () => {
    const { specWith, reopen } = fx();
    const v = specWith({}).views[0]!;
    const spec = specWith({ views: [{ ...v, ttl: "1s", tags: {} }] });
    const store = await reopen(spec);
    await store.write(spec.views[0]!, [{ key: "1", eventMicros: T0, createdMicros: -1, values: ["1", "1", '"a"'] }]);
    const got = JSON.parse(await answerOnlineFeatures(store, new PlanCache(spec), body([1], ["txn_stats:spend_7d"]), { nowMicros: T0 + 17 * 60e6 }));
    expect(got.results[1]).toEqual({ values: [null], statuses: ["OUTSIDE_MAX_AGE"], event_timestamps: ["2026-01-02T03:00:00Z"] });
  });

  it("never ages out a view without a TTL", async () => {
    const { specWith, reopen } = fx();
    const { ttl: _ttl, ...noTtl } = specWith({}).views[0]!;
    const s2 = specWith({ views: [{ ...noTtl, tags: {} }] });
    const store = await reopen(s2);
    await store.write(s2.views[0]!, [{ key: "1", eventMicros: T0, createdMicros: -1, values: ["1", "1", '"a"'] }]);
    const got = JSON.parse(await answerOnlineFeatures(store, new PlanCache(s2), body([1], ["txn_stats:spend_7d"]), { nowMicros: T0 + 1e6 * 3600 * 24 * 365 }));
    expect(got.results[1].statuses).toEqual(["PRESENT"]);
  });

  it("names columns view__feature with full_feature_names, in request order, repeating entity rows", async () => {
    const { store, plans } = await seed();
    const got = JSON.parse(await answerOnlineFeatures(store, plans, { ...body([2, 1, 1], ["txn_stats:tier", "txn_stats:spend_7d"]), full_feature_names: true }, { nowMicros: T0 + 1e6 }));
    expect(got.metadata.feature_names).toEqual(["customer_id", "txn_stats__tier", "txn_stats__spend_7d"]);
    expect(got.results[1].values).toEqual([null, "gold", "gold"]);
    expect(got.results[2].values).toEqual([null, 12.5, 12.5]);
  });

  it("accepts int64 keys as digit strings (ids beyond 2^53)", async () => {
    const { store, plans } = await seed();
    const got = JSON.parse(await answerOnlineFeatures(store, plans, body(["1", "0002"], ["txn_stats:tier"]), { nowMicros: T0 + 1e6 }));
    expect(got.results[0].values).toEqual([1, 2]);
    expect(got.results[1].statuses).toEqual(["PRESENT", "NULL_VALUE"]);
  });

  const refusals: Array<[string, unknown, number, RegExp]> = [
    ["a body that is not an object", [1], 400, /^\(body\): is not a JSON object/],
    ["no features", { entities: { customer_id: [1] } }, 400, /^features: is not a non-empty list/],
    ["an unknown view", { features: ["nope:x"], entities: { customer_id: [1] } }, 404, /does not name a view of this store.*txn_stats/],
    ["an unknown feature", { features: ["txn_stats:nope"], entities: { customer_id: [1] } }, 404, /features\[0\]: is not a feature of view txn_stats/],
    ["a malformed reference", { features: ["spend_7d"], entities: { customer_id: [1] } }, 400, /features\[0\]: is not a "view:feature" reference/],
    ["a feature twice", { features: ["txn_stats:tier", "txn_stats:tier"], entities: { customer_id: [1] } }, 400, /features\[1\]: is requested twice/],
    ["a missing join key", { features: ["txn_stats:tier"], entities: {} }, 400, /entities\.customer_id: is missing; view txn_stats is keyed by it/],
    ["an unknown join key", { features: ["txn_stats:tier"], entities: { customer_id: [1], driver_id: [1] } }, 400, /entities\.driver_id: is not a join key/],
    ["a fractional id", { features: ["txn_stats:tier"], entities: { customer_id: [1, 2.5] } }, 400, /entities\.customer_id\[1\]: is not a valid int64 join key value; received 2\.5/],
    ["an unsafe integer id", { features: ["txn_stats:tier"], entities: { customer_id: [2 ** 60] } }, 400, /as JSON strings of digits/],
    ["too many entity rows", { features: ["txn_stats:tier"], entities: { customer_id: Array.from({ length: 1001 }, (_, i) => i) } }, 400, /more than 1000 entity rows/],
    ["a non-boolean full_feature_names", { features: ["txn_stats:tier"], entities: { customer_id: [1] }, full_feature_names: "yes" }, 400, /^full_feature_names: is not a boolean/],
    ["an unknown feature service", { feature_service: "svc", entities: { customer_id: [1] } }, 404, /feature_service: is not a feature service/],
  ];
  it.each(refusals)("refuses %s with the field named", async (_what, request, status, message) => {
    const { store, plans } = await seed();
    const err = await answerOnlineFeatures(store, plans, request).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestError);
    expect((err as RequestError).status).toBe(status);
    expect((err as RequestError).message).toMatch(message);
  });

  it("refuses two columns of one name without full_feature_names", async () => {
    const { specWith, reopen } = fx();
    const v = specWith({}).views[0]!;
    const spec = specWith({ views: [{ ...v, tags: {} }, { ...v, name: "other", tags: {} }] });
    const store = await reopen(spec);
    const err = await answerOnlineFeatures(store, new PlanCache(spec), { features: ["txn_stats:tier", "other:tier"], entities: { customer_id: [1] } }).catch((e: unknown) => e);
    expect((err as RequestError).message).toMatch(/features\[1\]: gives the answer a second column named tier.*full_feature_names/);
  });

  it("serves a declared feature service", async () => {
    const { specWith, reopen } = fx();
    const spec = specWith({ featureServices: [{ name: "scoring", features: ["txn_stats:tier", "txn_stats:spend_7d"] }] });
    const store = await reopen(spec);
    await store.write(spec.views[0]!, [{ key: "1", eventMicros: T0, createdMicros: -1, values: ["12.5", "3", '"gold"'] }]);
    const got = JSON.parse(await answerOnlineFeatures(store, new PlanCache(spec), { feature_service: "scoring", entities: { customer_id: [1] } }, { nowMicros: T0 }));
    expect(got.metadata.feature_names).toEqual(["customer_id", "tier", "spend_7d"]);
    expect(got.results[1].values).toEqual(["gold"]);
  });

  it("fails to parse a spec whose feature service names an unknown feature", () => {
    const { specWith } = fx();
    expect(() => specWith({ featureServices: [{ name: "scoring", features: ["txn_stats:nope"] }] })).toThrow(/featureServices\[0\]\.features: is not a feature of view txn_stats/);
  });
});
