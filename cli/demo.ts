import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { MlopsError, ifNotFound } from "../src/errors.js";
import { createLogger, silentLogger } from "../src/log.js";
import { Registry, defaultRegistryUri } from "../src/registry/index.js";
import { parseEndpointSpec } from "../src/spec/endpoint.js";
import { parseTrainSpec } from "../src/spec/train.js";
import { packageRoot } from "../src/package.js";
import { intFlag, parse, positionals } from "./args.js";
import { featuresPhase } from "./demo-features.js";

const USAGE = "mlops demo [--exit] [--port N] [--registry <uri>]";
const MODEL = "breast-cancer";

/**
 * The main job on the embedded default: the whole loop on this machine, no cloud, no Docker, no cluster.
 * 1. registers the example model (scikit-learn, examples/breast-cancer) as `champion` if the registry has none;
 * 2. trains the built-in logistic regression on the example data, scores it on the holdout, gates it
 *    (minimum AUC) and registers it as `challenger`;
 * 3. serves `breast-cancer@champion` over the Open Inference Protocol and sends it real requests;
 * 4. promotes the challenger to champion and shows the server switching versions without a failed request;
 * 5. prints the URL, a curl to paste, and a summary of the server's metrics;
 * 6-11. the features phase (demo-features.ts): generates a fraud example with entities and timestamps,
 *    applies its feature spec, materializes it into the embedded online store, saves a point-in-time
 *    training set, trains and gates on it, serves the model by customer_id and sends a request by entity id.
 * 12-15. the drift phase (demo-drift.ts): payload logs, normal then shifted traffic, drift found, a challenger retrained.
 * 16-23. the release phase (demo-release.ts): staging and prod registries; the challenger as a release, served as a
 *    canary at 10% under live requests, promoted by its analysis and then to prod with `mlops promote`; a broken
 *    challenger rolled back with no failed request; `mlops runs list` with both training runs.
 * Keeps serving both until Ctrl-C (or stops them with --exit).
 */
export async function demoCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals: pos } = parse(
    argv,
    { exit: { type: "boolean" }, port: { type: "string" }, registry: { type: "string" }, verbose: { type: "boolean" } },
    USAGE,
  );
  positionals(pos, [], USAGE);
  const root = packageRoot();
  const example = join(root, "examples", "breast-cancer");
  const registryUri = values.registry ?? defaultRegistryUri();
  const registry = await Registry.open(registryUri);
  const logger = values.verbose ? createLogger({ level: "info" }) : silentLogger;
  const say = (s = "") => out(s);

  say(`pulumi-mlops: the whole loop on this machine (registry ${registry.uri})`);
  say("");

  // 1. The reference model, exported from scikit-learn by examples/breast-cancer/make_model.py.
  const artifact = await readFile(join(example, "model.onnx"));
  const aliases = await registry.aliases(MODEL).catch(ifNotFound({} as Record<string, number>));
  let champion: number;
  if (aliases.champion === undefined) {
    const mv = await registry.register(MODEL, artifact, {
      alias: "champion",
      params: { trainer: "scikit-learn LogisticRegression", C: "1.0" },
      lineage: { trainer: "examples/breast-cancer/make_model.py", datasetUri: pathToFileURL(join(example, "data.csv")).href },
      description: "reference model exported from scikit-learn",
    });
    champion = mv.version;
    say(step(1, "registered the example model", `${MODEL}:${mv.version}  ${mv.digest.slice(0, 19)}…  alias champion`));
  } else {
    champion = aliases.champion;
    say(step(1, "example model already registered", `${MODEL}:${champion} is champion`));
  }

  // 2. Train the built-in trainer on the example data; the runtime gates on its own holdout score.
  const { runTraining } = await import("../runtime/train/index.js");
  const spec = parseTrainSpec({
    name: "breast-cancer-demo",
    registry: registry.uri,
    model: MODEL,
    dataset: { uri: pathToFileURL(join(example, "data.csv")).href, label: "label" },
    trainer: { builtin: "logistic-regression", l2: 1.0 },
    split: { holdoutFraction: 0.25, seed: 7 },
    gate: { minimum: { auc: 0.95 } },
    alias: "challenger",
  });
  const started = performance.now();
  const trained = await runTraining(spec, { logger, progress: "none" });
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  const m = trained.metrics;
  if (trained.status !== "registered" || !trained.version) {
    throw new MlopsError(`the demo's training run did not pass its gate: ${trained.reason ?? "unknown reason"}`);
  }
  say(step(2, "trained built-in logistic regression", `${seconds}s on ${trained.version.lineage.datasetUri?.split("/").slice(-2).join("/")}`));
  say(`   holdout: auc ${fmt(m.auc)}  accuracy ${fmt(m.accuracy)}  log loss ${fmt(m.logLoss)}  (gate: auc >= 0.95: pass)`);
  say(`   registered ${MODEL}:${trained.version.version} as challenger`);

  // 3. Serve the champion.
  const { startServer } = await import("../runtime/serve/main.js");
  const port = intFlag(values.port, "port", 8080, 0, 65535);
  const endpoint = parseEndpointSpec({
    name: MODEL,
    model: `${MODEL}@champion`,
    registry: registry.uri,
    server: { host: "127.0.0.1", port },
    pollIntervalSeconds: 0.2,
  });
  const server = await startServer(endpoint, { registry, logger, handleSignals: !values.exit }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "EADDRINUSE") throw MlopsError.of("--port", "is in use", port, "Pass another port, e.g. --port 8181, or --port 0 for any free one.");
    throw e;
  });
  say(step(3, `serving ${MODEL}@champion`, server.url));

  const rows = await holdoutRows(join(example, "data.csv"), 5);
  const infer = async () => {
    const res = await fetch(`${server.url}/v2/models/${MODEL}/infer`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "demo", inputs: [{ name: "input", datatype: "FP32", shape: [rows.length, 30], data: rows.map((r) => r.x) }] }),
    });
    const body = (await res.json()) as { model_version?: string; outputs?: Array<{ data: number[] }>; error?: string };
    if (!res.ok) throw new Error(`infer failed: ${res.status} ${body.error ?? ""}`);
    return { version: body.model_version, p: body.outputs![0]!.data };
  };
  const before = await infer();
  say(`   predictions from version ${before.version}:`);
  for (let i = 0; i < rows.length; i++) {
    say(`     row ${String(rows[i]!.row).padStart(3)}  P(malignant) = ${before.p[i]!.toFixed(4)}   label ${rows[i]!.label === 1 ? "malignant" : "benign"}`);
  }

  // 4. Promote: move champion to the trained version; the server follows the alias.
  await registry.setAlias(MODEL, "champion", trained.version.version);
  let after = await infer();
  const deadline = Date.now() + 15_000;
  let requests = 2;
  while (after.version !== String(trained.version.version) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    after = await infer();
    requests++;
  }
  if (after.version !== String(trained.version.version)) throw new Error("the server did not follow the champion alias within 15 s");
  say(step(4, `promoted ${MODEL}:${trained.version.version} to champion`, `server switched after ${requests - 1} requests, none failed`));
  say(`   predictions from version ${after.version}: ${after.p.map((p) => p.toFixed(4)).join("  ")}`);

  // 5. What to do next.
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  say("");
  say(`5. try it:`);
  say(`   curl -s ${server.url}/v2/models/${MODEL}/infer -H 'content-type: application/json' \\`);
  say(`     -d '{"inputs":[{"name":"input","datatype":"FP32","shape":[1,30],"data":[${rows[0]!.x.join(",")}]}]}'`);
  say(`   metrics: ${summarizeMetrics(metrics)}`);
  say(`   registry: node bin/mlops.js registry list ${MODEL} --registry ${registry.uri}`);

  // 6-11. The features phase: entities and timestamps, a point-in-time training set, serving by entity id.
  const byEntity = await featuresPhase({
    registry,
    logger,
    port: port === 0 || port === 65535 ? 0 : port + 1,
    handleSignals: !values.exit,
    say,
    step,
    first: 6,
  }).catch(async (e: unknown) => {
    await server.stop();
    throw e;
  });

  // 12-15. The drift phase (demo-drift.ts): payload logs, normal then shifted traffic, drift found, a challenger retrained.
  await (await import("./demo-drift.js")).driftPhase({ registry, logger, say, step, first: 12, example }).catch(async (e: unknown) => {
    await byEntity.stop();
    await server.stop();
    throw e;
  });
  // 16-23. The release phase (demo-release.ts): two stages, a release, a canary promoted, a broken one rolled back, the runs.
  await (await import("./demo-release.js")).releasePhase({ registry, logger, say, step, first: 16, example }).catch(async (e: unknown) => {
    await byEntity.stop();
    await server.stop();
    throw e;
  });

  if (values.exit) {
    await byEntity.stop();
    await server.stop();
    say("done (--exit).");
    return 0;
  }
  say("");
  say(`serving on ${server.url} (breast-cancer) and ${byEntity.url} (fraud, by customer_id) until Ctrl-C`);
  return -1;
}

function step(n: number, what: string, detail: string): string {
  return `${n}. ${what.padEnd(40)} ${detail}`;
}

function fmt(v: number | undefined): string {
  return v === undefined ? "-" : v.toFixed(4);
}

/** A few rows of the example data (features as numbers, label) to send as requests. */
async function holdoutRows(csv: string, n: number): Promise<Array<{ row: number; x: number[]; label: number }>> {
  const lines = (await readFile(csv, "utf8")).trim().split("\n");
  const header = lines[0]!.split(",");
  const labelAt = header.indexOf("label");
  const picks = [0, 19, 57, 100, 300].slice(0, n);
  return picks.map((i) => {
    const cells = lines[i + 1]!.split(",").map(Number);
    return { row: i, x: cells.filter((_, j) => j !== labelAt), label: cells[labelAt]! };
  });
}

/** One line from the Prometheus exposition: requests by status, mean latency, mean batch size. */
export function summarizeMetrics(text: string): string {
  let ok = 0;
  let failed = 0;
  const sums: Record<string, number> = {};
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || !line.trim()) continue;
    const m = /^([a-z_]+)(\{[^}]*\})?\s+([0-9.eE+-]+)$/.exec(line.trim());
    if (!m) continue;
    const [, name, labels = "", value] = m;
    const v = Number(value);
    if (name === "mlops_requests_total") {
      if (/status="(2|2xx|200)/.test(labels)) ok += v;
      else failed += v;
    }
    if (/_(sum|count)$/.test(name!)) sums[name!] = (sums[name!] ?? 0) + v;
  }
  const meanLatency = (sums.mlops_request_duration_seconds_sum ?? 0) / Math.max(1, sums.mlops_request_duration_seconds_count ?? 0);
  const meanBatch = (sums.mlops_batch_size_sum ?? 0) / Math.max(1, sums.mlops_batch_size_count ?? 0);
  return `${ok} requests ok, ${failed} failed, mean latency ${(meanLatency * 1000).toFixed(2)} ms, mean batch ${meanBatch.toFixed(1)} rows`;
}
