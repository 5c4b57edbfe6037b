/**
 * Fixtures for serving by entity id: a feature store over CSV sources in a temp folder (customers keyed by
 * INT64 ids over two views, merchants keyed by string ids), materialized into a real online store of
 * either kind (the embedded LMDB store, or a `redis-server` the test starts), small logistic ONNX models
 * in a file:// registry, and an app serving them with `features`, on a real socket.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildOnnxModel } from "../../../src/onnx/build.js";
import { Registry } from "../../../src/registry/index.js";
import { parseEndpointSpec, type EndpointSpecInput } from "../../../src/spec/endpoint.js";
import type { EndpointFeaturesInput } from "../../../src/spec/endpoint-features.js";
import { parseFeatureStoreSpec, type FeatureStoreSpec, type FeatureStoreSpecInput } from "../../../src/spec/features.js";
import { materialize } from "../../../runtime/features/materialize.js";
import { openOnlineStore, type OnlineStore } from "../../../runtime/features/online/index.js";
import { buildApp, type ServeApp } from "../../../runtime/serve/app.js";
import { writeCsv } from "../../helpers/feature-data.js";
import { listen, type Live } from "./live.js";
import { startRedis, type OnlineKind, type TestRedis } from "../features/online/helpers.js";

/** The customer model's features, in its input order: across two views, interleaved. */
export const CUSTOMER_FEATURES = ["txn_stats:spend_7d", "profile:age", "txn_stats:txn_count_7d"] as const;
export const MERCHANT_FEATURES = ["merchant_stats:risk", "merchant_stats:chargebacks"] as const;

/** What the store holds once materialized: customer id → [spend_7d, age, txn_count_7d]. */
export const CUSTOMERS = {
  1001: [12.5, 34, 3],
  1002: [80.25, 51, 17],
} as const;
/** Its txn_stats row is two hours old: past the view's 1 h ttl. */
export const STALE_CUSTOMER = 1003;
/** Its spend_7d is stored as null (an empty CSV cell). */
export const NULL_CUSTOMER = 1004;
/** `risk` is a float32 feature: stored as the float32 nearest 0.05. */
export const MERCHANTS = { "m-01": [0.75, 2], "m-02": [Math.fround(0.05), 0] } as const;

/** `input` FLOAT [batch, d] → sigmoid(input · coef + bias) → `probability` FLOAT [batch, 1]. */
export function logisticOnnx(coef: readonly number[], bias: number, inputName = "input"): Buffer {
  const d = coef.length;
  return buildOnnxModel({
    graphName: "logistic",
    inputs: [{ name: inputName, elemType: "float", shape: ["batch", d] }],
    outputs: [{ name: "probability", elemType: "float", shape: ["batch", 1] }],
    initializers: [
      { name: "coef", elemType: "float", dims: [d, 1], data: coef },
      { name: "bias", elemType: "float", dims: [1], data: [bias] },
    ],
    nodes: [
      { opType: "MatMul", inputs: [inputName, "coef"], outputs: ["linear"] },
      { opType: "Add", inputs: ["linear", "bias"], outputs: ["logit"] },
      { opType: "Sigmoid", inputs: ["logit"], outputs: ["probability"] },
    ],
  });
}

/** The customer model (3 features), the merchant model (2), and a 4-feature model that fits neither list. */
export const MODELS = {
  customer: logisticOnnx([0.05, -0.02, 0.1], -0.3),
  merchant: logisticOnnx([1.5, 0.2], -1),
  wide: logisticOnnx([0.1, 0.1, 0.1, 0.1], 0),
};

function storeSpec(dir: string, online: FeatureStoreSpecInput["online"]): FeatureStoreSpec {
  const source = (name: string) => ({ uri: `file://${join(dir, `${name}.csv`)}`, timestampField: "event_timestamp" });
  return parseFeatureStoreSpec({
    name: "fraud",
    registry: `file://${join(dir, "feature-registry")}`,
    online,
    entities: [
      { name: "customer", joinKeys: ["customer_id"] },
      { name: "merchant", joinKeys: ["merchant_id"], valueType: "string" },
    ],
    views: [
      { name: "txn_stats", entities: ["customer"], source: source("txn_stats"), ttl: "1h", features: [{ name: "spend_7d", dtype: "float64" }, { name: "txn_count_7d", dtype: "int64" }] },
      { name: "profile", entities: ["customer"], source: source("profile"), features: [{ name: "age", dtype: "int32" }] },
      { name: "merchant_stats", entities: ["merchant"], source: source("merchant_stats"), ttl: "1h", features: [{ name: "risk", dtype: "float32" }, { name: "chargebacks", dtype: "int64" }] },
    ],
  });
}

async function writeSources(dir: string, now: number): Promise<void> {
  const ago = (minutes: number) => new Date(now - minutes * 60_000).toISOString();
  await writeCsv(join(dir, "txn_stats.csv"), ["customer_id", "event_timestamp", "spend_7d", "txn_count_7d"], [
    [1001, ago(40), 1, 1],
    [1001, ago(10), 12.5, 3],
    [1002, ago(5), 80.25, 17],
    [STALE_CUSTOMER, ago(120), 5, 1],
    [NULL_CUSTOMER, ago(1), null, 2],
  ]);
  await writeCsv(join(dir, "profile.csv"), ["customer_id", "event_timestamp", "age"], [
    [1001, ago(60 * 24 * 30), 34],
    [1002, ago(60 * 24 * 30), 51],
    [STALE_CUSTOMER, ago(60 * 24 * 30), 22],
    [NULL_CUSTOMER, ago(60 * 24 * 30), 40],
  ]);
  await writeCsv(join(dir, "merchant_stats.csv"), ["merchant_id", "event_timestamp", "risk", "chargebacks"], [
    ["m-01", ago(1), 0.75, 2],
    ["m-02", ago(1), 0.05, 0],
  ]);
}

/** A materialized store of `kind`, and a registry holding the models (each with alias `champion`). */
export interface FeatureWorld {
  readonly dir: string;
  readonly kind: OnlineKind;
  readonly store: FeatureStoreSpec;
  /** A connection of the test's own (another "process" than the server's). */
  readonly online: OnlineStore;
  readonly registry: Registry;
  readonly registryUri: string;
  readonly redis?: TestRedis;
  close(): Promise<void>;
}

/** `redisArgs` go to redis-server; `passwordEnv` names the variable holding its AUTH password (set by the caller). */
export async function featureWorld(kind: OnlineKind, opts: { redisArgs?: string[]; passwordEnv?: string } = {}): Promise<FeatureWorld> {
  const dir = await mkdtemp(join(tmpdir(), "mlops-serve-features-"));
  const redis = kind === "redis" ? await startRedis(opts.redisArgs ?? []) : undefined;
  const online: FeatureStoreSpecInput["online"] = redis
    ? { redis: { url: redis.url, ...(opts.passwordEnv ? { passwordEnv: opts.passwordEnv } : {}) } }
    : { embedded: { path: join(dir, "online") } };
  const store = storeSpec(dir, online);
  const now = Date.now();
  await writeSources(dir, now);
  await materialize(store, { start: new Date(now - 90 * 86_400_000), end: new Date(now), now: new Date(now) });
  const registryUri = `file://${join(dir, "models")}`;
  const registry = await Registry.open(registryUri);
  for (const [name, bytes] of Object.entries(MODELS)) await registry.register(name, bytes, { alias: "champion" });
  const conn = await openOnlineStore(store);
  return {
    dir,
    kind,
    store,
    online: conn,
    registry,
    registryUri,
    ...(redis ? { redis } : {}),
    async close() {
      await conn.close();
      await redis?.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An app serving `model@champion` with `features`, listening on 127.0.0.1. */
export type Served = Live;

export function customerFeatures(w: FeatureWorld, over: Partial<EndpointFeaturesInput> = {}): EndpointFeaturesInput {
  return { store: w.store, entity: "customer", features: [...CUSTOMER_FEATURES], ...over };
}

export function merchantFeatures(w: FeatureWorld, over: Partial<EndpointFeaturesInput> = {}): EndpointFeaturesInput {
  return { store: w.store, entity: "merchant", features: [...MERCHANT_FEATURES], ...over };
}

export function featureSpec(w: FeatureWorld, model: string, features: EndpointFeaturesInput, over: Partial<EndpointSpecInput> = {}) {
  return parseEndpointSpec({ name: "by-entity", model: `${model}@champion`, registry: w.registryUri, features, ...over });
}

export async function serve(w: FeatureWorld, model: string, features: EndpointFeaturesInput, over: Partial<EndpointSpecInput> = {}): Promise<Served> {
  const app = await buildApp({ spec: featureSpec(w, model, features, over), registry: w.registry });
  return listen(app, model);
}
