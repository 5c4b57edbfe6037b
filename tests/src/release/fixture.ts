/**
 * Two stages' registries in a temp folder (staging, prod), a model version in staging produced by a
 * recorded training run that passed its gate, its drift reference profile, and a feature store applied to
 * its feature registry with an endpoint spec serving by entity id from it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FeatureRegistry } from "../../../src/features/registry.js";
import { putProfile } from "../../../src/registry/profiles.js";
import { Registry } from "../../../src/registry/index.js";
import type { ModelVersion } from "../../../src/registry/types.js";
import { writeRun } from "../../../src/runs/store.js";
import type { RunRecord } from "../../../src/runs/types.js";
import { parseFeatureStoreSpec, type FeatureStoreSpecInput } from "../../../src/spec/features.js";
import { tinyOnnx } from "../../helpers/tiny-onnx.js";

export const IMAGE = `ghcr.io/acme/mlops-runtime@sha256:${"a".repeat(64)}`;
export const IMAGE_2 = `ghcr.io/acme/mlops-runtime@sha256:${"b".repeat(64)}`;
export const RUN_ID = "run-20261201T030000Z-a1b2c3";
export const PROFILE = { columns: { x0: { kind: "numeric", mean: 1.5 } }, rows: 100 };

export interface Stages {
  readonly dir: string;
  readonly staging: Registry;
  readonly prod: Registry;
  readonly version: ModelVersion;
  /** The feature store spec (input form) applied to `featureRegistry`. */
  readonly store: FeatureStoreSpecInput;
  readonly featureRegistry: string;
  /** An EndpointSpec (input form) serving `fraud@champion` by customer id. */
  readonly endpoint: Record<string, unknown>;
  close(): Promise<void>;
}

export function storeSpec(dir: string): FeatureStoreSpecInput {
  return {
    name: "fraud",
    registry: `file://${join(dir, "feature-registry")}`,
    entities: [{ name: "customer", joinKeys: ["customer_id"] }],
    views: [
      { name: "txn_stats", entities: ["customer"], source: { uri: `file://${join(dir, "txn.csv")}`, timestampField: "ts" }, ttl: "1h", features: [{ name: "spend_7d", dtype: "float64" }, { name: "count_7d", dtype: "int64" }] },
      { name: "profile", entities: ["customer"], source: { uri: `file://${join(dir, "profile.csv")}`, timestampField: "ts" }, features: [{ name: "age", dtype: "int32" }] },
    ],
  };
}

export function runRecord(over: Partial<RunRecord> = {}): RunRecord {
  return {
    runId: RUN_ID,
    model: "fraud",
    status: "registered",
    startedAt: "2026-12-01T03:00:00.000Z",
    endedAt: "2026-12-01T03:01:00.000Z",
    durationSeconds: 60,
    params: { C: "1" },
    metrics: { auc: [{ step: 0, value: 0.91, timestamp: 1 }, { step: 1, value: 0.95, timestamp: 2 }] },
    gate: { passed: true, checks: [{ metric: "auc", op: ">=", bound: 0.9, value: 0.95, passed: true }] },
    datasetDigest: `sha256:${"d".repeat(64)}`,
    codeRevision: "abc123",
    version: 1,
    ...over,
  };
}

/** The two stages, with `fraud:1` in staging (metrics auc 0.95, run {@link RUN_ID}, a profile). */
export async function stages(opts: { run?: RunRecord | null; profile?: boolean } = {}): Promise<Stages> {
  const dir = await mkdtemp(join(tmpdir(), "mlops-release-"));
  const staging = await Registry.open(`file://${dir}/staging`);
  const prod = await Registry.open(`file://${dir}/prod`);
  const version = await staging.register("fraud", tinyOnnx(), { metrics: { auc: 0.95 }, lineage: { runId: RUN_ID, codeRevision: "abc123" }, alias: "challenger" });
  if (opts.run !== null) await writeRun(staging.store, opts.run ?? runRecord());
  if (opts.profile !== false) await putProfile(staging.store, "fraud", version.version, PROFILE);
  const store = storeSpec(dir);
  const featureRegistry = `file://${join(dir, "feature-registry")}`;
  await FeatureRegistry.open(featureRegistry).apply(parseFeatureStoreSpec(store));
  const endpoint = {
    name: "fraud",
    model: "fraud@champion",
    registry: staging.uri,
    features: { store, entity: "customer", features: ["txn_stats:spend_7d", "profile:age", "txn_stats:count_7d"] },
  };
  return { dir, staging, prod, version, store, featureRegistry, endpoint, close: () => rm(dir, { recursive: true, force: true }) };
}
