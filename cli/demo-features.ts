import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { MlopsError } from "../src/errors.js";
import type { Logger } from "../src/log.js";
import type { Registry } from "../src/registry/index.js";
import { FeatureRegistry } from "../src/features/registry.js";
import { parseEndpointSpec } from "../src/spec/endpoint.js";
import { parseFeatureRefs, parseFeatureStoreSpec, type FeatureStoreSpec } from "../src/spec/features.js";
import { parseTrainSpec } from "../src/spec/train.js";
import { seededRandom } from "../src/random.js";

/**
 * The main job's features phase: a fraud example with entities and timestamps, from a generator (below),
 * through the feature store to a model served by entity id, all on the embedded default.
 *
 * The generator, seeded and fixed in time so every run writes the same bytes:
 * - {@link CUSTOMERS} customers, ids 1000…; each has a usual daily spend and daily transaction count, and
 *   on a few days of a 30-day window (ending {@link END}) a burst: a large spend in few transactions.
 * - `txn_stats.csv`: one row per customer per day, `event_timestamp` at midnight UTC with the trailing
 *   7-day `spend_7d` (float64) and `txn_count_7d` (int64), `created_at` 1 to 60 minutes later.
 * - `labels.csv` (the entity file): {@link LABELS_PER_CUSTOMER} events per customer on days 8…29 at 02:00 to
 *   22:00 UTC, `is_fraud` drawn with a probability that grows with that day's `spend_7d` and falls with its
 *   `txn_count_7d`: the features known at the event's time, not the next day's. A join that respects time
 *   trains a model well above chance (the gate asks AUC >= {@link MIN_AUC}); one that leaks later rows would
 *   see other values.
 */
export const CUSTOMERS = 200;
export const DAYS = 30;
export const LABELS_PER_CUSTOMER = 4;
export const END = Date.UTC(2025, 5, 30);
export const MIN_AUC = 0.7;
const SEED = 20250630;
const DAY_MS = 86_400_000;
const MODEL = "fraud";
const SET = "fraud-train";
export const FEATURES = ["txn_stats:spend_7d", "txn_stats:txn_count_7d"] as const;

/** The same seed gives the same example data on every machine. */
export const prng = seededRandom;

export interface FraudData {
  /** customer_id,event_timestamp,created_at,spend_7d,txn_count_7d */
  readonly txnStats: string;
  /** customer_id,event_timestamp,is_fraud */
  readonly labels: string;
  readonly rows: number;
  readonly labelRows: number;
  /** Each customer's latest spend_7d and txn_count_7d (what the online store serves). */
  readonly latest: ReadonlyMap<number, readonly [number, number]>;
}

const iso = (ms: number) => new Date(ms).toISOString();
/** Fraud odds: high 7-day spend in few transactions. */
const fraudLogit = (spend: number, count: number) => -1.2 + 3 * (spend / 700 - 1) - 0.15 * (count - 14);

/** The example data set; pure: depends on nothing but the constants above. */
export function generateFraud(): FraudData {
  const rand = prng(SEED);
  const start = END - (DAYS - 1) * DAY_MS;
  const stats = ["customer_id,event_timestamp,created_at,spend_7d,txn_count_7d"];
  const labels = ["customer_id,event_timestamp,is_fraud"];
  const latest = new Map<number, readonly [number, number]>();
  for (let c = 0; c < CUSTOMERS; c++) {
    const id = 1000 + c;
    const usualSpend = 40 + 100 * rand();
    const usualCount = 1 + Math.floor(3 * rand());
    const daily: Array<[number, number]> = [];
    for (let d = 0; d < DAYS; d++) {
      const burst = rand() < 0.06;
      const spend = burst ? 300 + 900 * rand() : usualSpend * (0.5 + rand());
      const count = burst ? Math.floor(2 * rand()) + 1 : usualCount + Math.floor(3 * rand());
      daily.push([spend, count]);
    }
    const window = (d: number): [number, number] => {
      let s = 0;
      let n = 0;
      for (let k = Math.max(0, d - 6); k <= d; k++) {
        s += daily[k]![0];
        n += daily[k]![1];
      }
      return [Math.round(s * 100) / 100, n];
    };
    for (let d = 0; d < DAYS; d++) {
      const t = start + d * DAY_MS;
      const [s, n] = window(d);
      stats.push(`${id},${iso(t)},${iso(t + (1 + Math.floor(59 * rand())) * 60_000)},${s.toFixed(2)},${n}`);
    }
    latest.set(id, window(DAYS - 1));
    for (let i = 0; i < LABELS_PER_CUSTOMER; i++) {
      const d = 8 + Math.floor((DAYS - 8) * rand());
      const t = start + d * DAY_MS + (2 * 3600 + Math.floor(20 * 3600 * rand())) * 1000;
      const [s, n] = window(d);
      const fraud = rand() < 1 / (1 + Math.exp(-fraudLogit(s, n))) ? 1 : 0;
      labels.push(`${id},${iso(t)},${fraud}`);
    }
  }
  return { txnStats: stats.join("\n") + "\n", labels: labels.join("\n") + "\n", rows: stats.length - 1, labelRows: labels.length - 1, latest };
}

/** The feature store of the example: entity `customer`, view `txn_stats`, online in the embedded store. */
export function fraudStoreSpec(dataDir: string, featureRegistry: string): FeatureStoreSpec {
  return parseFeatureStoreSpec({
    name: "fraud",
    registry: featureRegistry,
    online: { embedded: {} },
    entities: [{ name: "customer", joinKeys: ["customer_id"], description: "a card holder" }],
    views: [
      {
        name: "txn_stats",
        entities: ["customer"],
        source: { uri: pathToFileURL(join(dataDir, "txn_stats.csv")).href, timestampField: "event_timestamp", createdTimestampField: "created_at" },
        features: [
          { name: "spend_7d", dtype: "float64", description: "spend over the trailing 7 days" },
          { name: "txn_count_7d", dtype: "int64", description: "transactions over the trailing 7 days" },
        ],
      },
    ],
  });
}

export interface FeaturesPhase {
  readonly url: string;
  stop(): Promise<void>;
}

export interface FeaturesPhaseOptions {
  readonly registry: Registry;
  readonly logger: Logger;
  /** Port of the by-entity server (0: any free one). */
  readonly port: number;
  readonly handleSignals: boolean;
  readonly say: (s?: string) => void;
  readonly step: (n: number, what: string, detail: string) => string;
  /** Number of the phase's first step. */
  readonly first: number;
}

/**
 * Generates the example next to the model registry (a temp folder for a registry that is not file://),
 * applies the spec, materializes, saves a point-in-time training set, trains on it, and serves the model
 * by entity id. Resolves with the server, still serving.
 */
export async function featuresPhase(o: FeaturesPhaseOptions): Promise<FeaturesPhase> {
  const { say, step } = o;
  let n = o.first;
  const base = o.registry.uri.startsWith("file://") ? dirname(fileURLToPath(o.registry.uri)) : await mkdtemp(join(tmpdir(), "mlops-demo-"));
  const dataDir = join(base, "fraud-data");
  const featureRegistry = pathToFileURL(join(base, "features")).href;
  await mkdir(dataDir, { recursive: true });
  const data = generateFraud();
  await writeFile(join(dataDir, "txn_stats.csv"), data.txnStats);
  await writeFile(join(dataDir, "labels.csv"), data.labels);
  const spec = fraudStoreSpec(dataDir, featureRegistry);
  await writeFile(join(dataDir, "features.json"), JSON.stringify(spec, null, 2) + "\n");
  say("");
  say(step(n++, "generated the fraud example", `${CUSTOMERS} customers, ${data.rows} txn_stats rows, ${data.labelRows} labelled events in ${dataDir}`));

  const applied = await FeatureRegistry.open(spec.registry).apply(spec);
  say(step(n++, "applied the feature spec", applied.map((r) => `${r.view} v${r.version}${r.changed ? "" : " (unchanged)"}`).join(", ") + `  registry ${featureRegistry}`));

  const { materialize } = await import("../runtime/features/materialize.js");
  const summaries = await materialize(spec, { start: new Date(END - (DAYS + 7) * DAY_MS) });
  say(step(n++, "materialized into the embedded store", summaries.map((s) => `${s.view}: ${s.rowsWritten} written, ${s.rowsSkipped} already current`).join("; ")));

  const { historicalFeatures } = await import("../runtime/features/historical.js");
  const { saveHistorical } = await import("../runtime/features/save.js");
  const refs = parseFeatureRefs([...FEATURES], spec, "features");
  const entities = join(dataDir, "labels.csv");
  const scratchDir = await mkdtemp(join(tmpdir(), "mlops-demo-join-"));
  const joined = await historicalFeatures({ spec, refs, entities, out: join(dataDir, "training-set.csv"), scratchDir }).finally(() =>
    rm(scratchDir, { recursive: true, force: true }),
  );
  const saved = await saveHistorical(SET, joined, { spec, refs, entities, fullFeatureNames: false, allowLaterWrites: false });
  const matched = joined.views.map((v) => `${v.matched}/${joined.rows}`).join(", ");
  say(step(n++, "saved a point-in-time training set", `${saved.name}:${saved.version}${saved.changed ? "" : " (unchanged)"}  ${joined.rows} rows, ${matched} with features known at event time`));

  const { runTraining } = await import("../runtime/train/index.js");
  const trained = await runTraining(
    parseTrainSpec({
      name: "fraud-demo",
      registry: o.registry.uri,
      model: MODEL,
      dataset: { trainingSet: `${SET}:latest`, featureRegistry, label: "is_fraud" },
      trainer: { builtin: "logistic-regression", l2: 1.0 },
      split: { holdoutFraction: 0.25, seed: 7 },
      gate: { minimum: { auc: MIN_AUC } },
      alias: "champion",
    }),
    { logger: o.logger, progress: "none" },
  );
  if (trained.status !== "registered" || !trained.version) {
    throw new MlopsError(`the demo's fraud training run did not pass its gate: ${trained.reason ?? "unknown reason"}`);
  }
  const auc = trained.metrics.auc ?? NaN;
  say(step(n++, `trained on ${SET}:${saved.version}`, `holdout auc ${auc.toFixed(4)}  (gate: auc >= ${MIN_AUC}: pass)  registered ${MODEL}:${trained.version.version} as champion`));

  const { startServer } = await import("../runtime/serve/main.js");
  const endpoint = parseEndpointSpec({
    name: MODEL,
    model: `${MODEL}@champion`,
    registry: o.registry.uri,
    server: { host: "127.0.0.1", port: o.port },
    features: { store: spec, entity: "customer", features: [...FEATURES] },
  });
  const server = await startServer(endpoint, { registry: o.registry, logger: o.logger, handleSignals: o.handleSignals }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "EADDRINUSE") throw MlopsError.of("--port", `is in use (the by-entity server takes port + 1)`, o.port, "Pass another port, or --port 0 for any free ones.");
    throw e;
  });
  say(step(n++, `serving ${MODEL}@champion by customer_id`, server.url));

  // The riskiest and the calmest customer by their latest features: two different answers.
  const byRisk = [...data.latest].sort((a, b) => fraudLogit(...b[1]) - fraudLogit(...a[1]));
  const ids = [byRisk[0]![0], byRisk[byRisk.length - 1]![0]];
  const request = JSON.stringify({ inputs: [{ name: "customer_id", datatype: "INT64", shape: [ids.length], data: ids }] });
  const res = await fetch(`${server.url}/v2/models/${MODEL}/infer`, { method: "POST", headers: { "content-type": "application/json" }, body: request });
  const answer = (await res.json()) as { model_version?: string; outputs?: Array<{ name: string; data: number[] }>; error?: string };
  if (!res.ok) {
    await server.stop();
    throw new Error(`infer by entity id failed: ${res.status} ${answer.error ?? ""}`);
  }
  const p = answer.outputs!.find((x) => x.name === "probability") ?? answer.outputs![0]!;
  say(`   request: ${request}`);
  ids.forEach((id, i) => {
    const [spend, count] = data.latest.get(id)!;
    say(`     customer_id ${id}  P(fraud) = ${p.data[i]!.toFixed(4)}   spend_7d ${spend.toFixed(2)}  txn_count_7d ${count}  (version ${answer.model_version})`);
  });
  say(`   curl -s ${server.url}/v2/models/${MODEL}/infer -H 'content-type: application/json' \\`);
  say(`     -d '${request}'`);
  return { url: server.url, stop: () => server.stop() };
}
