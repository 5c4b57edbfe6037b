import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { MlopsError } from "../../../src/errors.js";
import { FEATURE_DEFAULTS, durationSeconds, parseFeatureRefs, parseFeatureStoreSpec, viewJoinKeys, viewTtlSeconds } from "../../../src/spec/features.js";

/** The spec exactly as issue 9 writes it. */
const ISSUE_YAML = `
apiVersion: mlops/v1
kind: FeatureStore
name: fraud
registry: file:///abs/path/registry        # object store URI (s3://… on a cluster): view versions, training sets, watermarks
online:
  embedded: {}                             # the local default; or: redis: { url: redis://127.0.0.1:6379 }
entities:
  - name: customer
    joinKeys: [customer_id]
views:
  - name: txn_stats
    entities: [customer]
    source:
      uri: file:///abs/path/txn_stats.csv  # .csv or .parquet, file:// or s3://
      timestampField: event_timestamp      # ISO 8601 in CSV
      createdTimestampField: created_at    # optional; breaks ties between equal event timestamps
    ttl: 3d                                # s, m, h, d; absent = unlimited lookback
    features:
      - { name: spend_7d, dtype: float64 }  # float32, float64, int32, int64, bool, string
      - { name: txn_count_7d, dtype: int64 }
    online: true
`;

const base = () => YAML.parse(ISSUE_YAML) as Record<string, any>;

function problems(input: unknown): readonly string[] {
  try {
    parseFeatureStoreSpec(input, "f.yaml");
  } catch (err) {
    expect(err).toBeInstanceOf(MlopsError);
    return (err as MlopsError).problems;
  }
  throw new Error("expected the spec to be refused");
}

describe("parseFeatureStoreSpec", () => {
  it("parses the issue's YAML exactly as written, with defaults filled in", () => {
    const spec = parseFeatureStoreSpec(base());
    expect(spec.name).toBe("fraud");
    expect(spec.online).toEqual({ embedded: {} });
    expect(spec.entities).toEqual([{ name: "customer", joinKeys: ["customer_id"], valueType: "int64" }]);
    const view = spec.views[0]!;
    expect(view.source).toEqual({ uri: "file:///abs/path/txn_stats.csv", timestampField: "event_timestamp", createdTimestampField: "created_at" });
    expect(view.features).toEqual([
      { name: "spend_7d", dtype: "float64" },
      { name: "txn_count_7d", dtype: "int64" },
    ]);
    expect(viewTtlSeconds(view)).toBe(3 * 86_400);
    expect(viewJoinKeys(view, spec)).toEqual(["customer_id"]);
    expect(spec.materialization).toEqual({ lateness: FEATURE_DEFAULTS.lateness, chunkRows: FEATURE_DEFAULTS.chunkRows });
  });

  it("takes the redis online store from the issue's comment", () => {
    const input = base();
    input.online = YAML.parse("redis: { url: redis://127.0.0.1:6379 }");
    expect(parseFeatureStoreSpec(input).online).toEqual({ redis: { url: "redis://127.0.0.1:6379" } });
  });

  it("names a bad dtype with the allowed ones", () => {
    const input = base();
    input.views[0].features[1].dtype = "integer";
    expect(problems(input).join("\n")).toMatch(/views\[0\]\.features\[1\]\.dtype: .*received "integer"\. Use one of: "float32", "float64", "int32", "int64", "bool", "string"/);
  });

  it("names a bad TTL, a bad URI and an unknown field", () => {
    const input = base();
    input.views[0].ttl = "3 days";
    input.views[0].source.uri = "/abs/path/txn.csv";
    input.views[0].feature = [];
    const text = problems(input).join("\n");
    expect(text).toMatch(/views\[0\]\.ttl: must be a duration .*received "3 days"/);
    expect(text).toMatch(/views\[0\]\.source\.uri: must be a file:\/\/ or s3:\/\/ URI; received "\/abs\/path\/txn\.csv"/);
    expect(text).toMatch(/views\[0\]: .*Remove feature/);
  });

  it("names an undeclared entity, a feature declared twice and a feature named like a join key", () => {
    const input = base();
    input.views[0].entities = ["merchant"];
    input.views[0].features.push({ name: "spend_7d", dtype: "float32" });
    const text = problems(input).join("\n");
    expect(text).toMatch(/views\[0\]\.entities\[0\]: is not a declared entity; received "merchant"\. .*customer/);
    expect(text).toMatch(/views\[0\]\.features\[2\]\.name: is declared twice in the view; received "spend_7d"/);
    const keyed = base();
    keyed.views[0].features[0].name = "customer_id";
    expect(problems(keyed).join("\n")).toMatch(/views\[0\]\.features\[0\]\.name: is a join key or timestamp column of the view; received "customer_id"/);
  });

  it("reserves the __ prefix for the columns the runtime adds", () => {
    const input = base();
    input.views[0].features[0].name = "__event_ts";
    input.entities[0].joinKeys = ["__k"];
    const text = problems(input).join("\n");
    expect(text).toMatch(/views\[0\]\.features\[0\]\.name: starts with "__", which is reserved/);
    expect(text).toMatch(/entities\[0\]\.joinKeys\[0\]: starts with "__"/);
  });

  it("requires an embedded store path with an s3:// registry", () => {
    const input = base();
    input.registry = "s3://bucket/registry";
    expect(problems(input).join("\n")).toMatch(/online\.embedded\.path: is required when the registry is not a file:\/\/ URI/);
  });
});

describe("parseFeatureRefs and durations", () => {
  const spec = parseFeatureStoreSpec(base());

  it("parses view:feature lists", () => {
    expect(parseFeatureRefs("txn_stats:spend_7d, txn_stats:txn_count_7d", spec)).toEqual([
      { view: "txn_stats", feature: "spend_7d" },
      { view: "txn_stats", feature: "txn_count_7d" },
    ]);
  });

  it("names an unknown view, an unknown feature and a repeated one", () => {
    expect(() => parseFeatureRefs("txn:spend_7d", spec)).toThrow(/--features: does not name a view of this store; received "txn:spend_7d"\. .*txn_stats/);
    expect(() => parseFeatureRefs("txn_stats:spend", spec)).toThrow(/is not a feature of view txn_stats; received "txn_stats:spend"\. Use one of: txn_stats:spend_7d, txn_stats:txn_count_7d/);
    expect(() => parseFeatureRefs("txn_stats:spend_7d,txn_stats:spend_7d", spec)).toThrow(/is requested twice/);
    expect(() => parseFeatureRefs(" , ", spec)).toThrow(/names no features/);
  });

  it("reads s, m, h and d durations and names a bad one", () => {
    expect([durationSeconds("30s"), durationSeconds("15m"), durationSeconds("6h"), durationSeconds("3d")]).toEqual([30, 900, 21_600, 259_200]);
    expect(() => durationSeconds("1w", "views.x.ttl")).toThrow(/views\.x\.ttl: is not a duration; received "1w"/);
  });
});
