import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { MlopsError } from "../src/errors.js";
import { buildOnnxModel } from "../src/onnx/build.js";
import { Registry } from "../src/registry/index.js";
import { listRolloutEvents, readRollout, type CanaryRollout } from "../src/registry/rollouts.js";
import { resolveRelease, type PromotionOutcome } from "../src/release/index.js";
import { parseEndpointSpec } from "../src/spec/endpoint.js";
import type { DemoPhaseOptions } from "./demo-drift.js";
import { ClientLoop } from "./demo-release-load.js";
import { promoteCommand } from "./promote.js";
import { releaseCommand } from "./release.js";
import { runsCommand } from "./runs.js";

const MODEL = "breast-cancer";
/** The canary's share of infer requests (percent). */
const WEIGHT = 10;
/** Long enough to judge a few dozen canary requests, short enough for a demo. */
const BAKE_SECONDS = 1;
/** How long each wait (a promotion, a rollback) may take before the demo gives up. */
const WAIT_MS = 30_000;

export type ReleasePhaseOptions = DemoPhaseOptions;

/**
 * The main job's release phase, after the drift phase left a gated challenger: two local stages (staging is
 * the demo's registry, prod a second file registry beside it); the challenger becomes a release
 * (`mlops release create`) and is served as a canary at {@link WEIGHT}% next to the champion while a client
 * loop keeps sending real infer requests; its analysis passes and the rollout moves `champion` in staging;
 * `mlops promote` checks the release and copies it into prod. Then a deliberately broken challenger (an
 * ONNX model that takes 31 features where the requests send 30) becomes the canary and is rolled back by
 * the analysis, every request it failed answered by the champion, so the client sees no failure. Last,
 * `mlops runs list` shows the training runs of both phases.
 */
export async function releasePhase(o: ReleasePhaseOptions): Promise<void> {
  const { registry: staging, say, step } = o;
  let n = o.first;
  const prodUri = prodRegistryUri(staging.uri);
  const prod = await Registry.open(prodUri);
  say("");
  say(step(n++, "two local stages", `staging ${staging.uri}  prod ${prod.uri}`));

  // The challenger as a release: what is promoted together, content-addressed.
  const created = JSON.parse(await capture((out) => releaseCommand(["create", MODEL, "--model", `${MODEL}@challenger`, "--registry", staging.uri], out))) as {
    digest: string;
    model: string;
  };
  const release = `${MODEL}@${created.digest}`;
  const challenger = Number(created.model.split(":")[1]);
  const stableBefore = (await staging.resolve(`${MODEL}@champion`)).version;
  say(step(n++, `mlops release create ${MODEL}`, `${created.digest}`));
  const body = (await resolveRelease(staging.store, release)).release;
  const parts = [`model ${created.model} (alias challenger)`];
  if (body.run) parts.push(`run ${body.run.runId} (gate ${body.run.gate?.passed ? "passed" : "not passed"})`);
  if (body.profile) parts.push(`drift reference profile ${body.profile.digest.slice(0, 19)}…`);
  say(`   ${parts.join(", ")}`);

  const { startServer } = await import("../runtime/serve/main.js");
  const endpoint = parseEndpointSpec({
    name: MODEL,
    model: `${MODEL}@champion`,
    registry: staging.uri,
    server: { host: "127.0.0.1", port: 0, shutdownDelaySeconds: 0, drainSeconds: 5 },
    pollIntervalSeconds: 0.1,
    variants: {
      canary: {
        model: `${MODEL}@challenger`,
        weight: WEIGHT,
        bakeSeconds: BAKE_SECONDS,
        onSuccess: "promote",
        routing: "random",
        // Errors judged as usual; latency only on a gross regression, so a busy machine does not flap it.
        analysis: { minRequests: 20, maxErrorRatioIncrease: 0.01, p99LatencyRatio: 5, p99LatencySlackMs: 250 },
      },
    },
  });
  const server = await startServer(endpoint, { registry: staging, logger: o.logger, handleSignals: false });
  const client = new ClientLoop(`${server.url}/v2/models/${MODEL}/infer`, await exampleRows(join(o.example, "data.csv")));
  try {
    client.start();
    say(step(n++, `serving ${MODEL}@champion + canary`, `${server.url}  canary ${MODEL}@challenger at ${WEIGHT}%, bake ${BAKE_SECONDS}s, onSuccess promote`));
    say(`   a client loop sends infer requests (4 at a time) through the whole phase`);

    // 1. The good canary: judged, passed, promoted by the rollout (champion moves in staging).
    const t0 = performance.now();
    const promoted = await waitForCanary(staging, challenger, "promoted");
    // The canary keeps its share until the stable holder has followed the alias, then 0.
    await waitUntil(async () => (await staging.resolve(`${MODEL}@champion`)).version === challenger && server.app.variants?.router.weight === 0, `${MODEL}@champion to serve version ${challenger}`);
    const passed = (await listRolloutEvents(staging.store, MODEL)).filter((e) => e.canaryVersion === challenger && e.kind === "promotion").at(-1);
    say(step(n++, `canary ${MODEL}:${challenger} promoted`, `staging ${MODEL}@champion: ${stableBefore} → ${challenger} after ${secs(t0)}, ${client.sent} requests, ${client.failures.length} failed`));
    say(`   analysis passed: ${verdictOf(passed?.reason ?? promoted.reason ?? "")}`);

    // 2. mlops promote: the target's checks, the copy, the alias, the audit record.
    const refusals: string[] = [];
    const printed: string[] = [];
    const code = await promoteCommand([release, "--from", staging.uri, "--to", prod.uri], (s) => printed.push(s), (s) => refusals.push(s));
    const outcome = JSON.parse(printed.join("\n")) as PromotionOutcome;
    if (code !== 0 || (outcome.outcome !== "promoted" && outcome.outcome !== "no-op")) {
      throw new MlopsError(`the demo's promotion to prod was ${outcome.outcome} (exit ${code}): ${refusals.join("; ") || outcome.error || ""}`);
    }
    const prodVersion = (await prod.resolve(`${MODEL}@champion`)).version;
    say(step(n++, `mlops promote ${MODEL}@${created.digest.slice(7, 19)}`, `--from staging --to prod: ${outcome.outcome}, prod ${MODEL}@champion → ${prodVersion}`));
    for (const c of outcome.checks) say(`   check ${c.name}: ${c.passed ? "pass" : "FAIL"}  ${c.detail}`);
    say(`   copied: ${outcome.steps.map((s) => `${s.what} ${s.action}`).join(", ")}`);
    say(`   audit: ${pathOf(outcome.audit!)}`);

    // 3. A broken challenger: it loads (so it gets traffic) but fails every request the demo sends.
    const broken = await staging.register(MODEL, brokenModel(), {
      alias: "challenger",
      params: { trainer: "none", note: "deliberately broken: takes 31 features" },
      description: "a deliberately broken challenger: its input takes 31 features, the requests send 30",
    });
    say(step(n++, `registered a broken challenger`, `${MODEL}:${broken.version}  input [batch, 31] (requests send 30)  alias challenger`));
    const failedBefore = client.failures.length;
    const t1 = performance.now();
    const rolledBack = await waitForCanary(staging, broken.version, "rolled-back");
    await waitUntil(() => server.app.variants?.router.weight === 0, "the canary's weight to drop to 0");
    const champion = (await staging.resolve(`${MODEL}@champion`)).version;
    say(step(n++, `canary ${MODEL}:${broken.version} rolled back`, `automatically after ${secs(t1)}: weight 0, champion stays ${MODEL}:${champion}`));
    say(`   analysis failed: ${rolledBack.reason ?? ""}`);
    await sleep(200);
    client.stop();
    await client.done();
    say(`   client: ${client.failures.length} failed of ${client.sent} requests through the phase (${client.failures.length - failedBefore} during the broken canary: the champion answered for it)`);
    say(`   answers by version: ${Object.entries(client.byVersion).map(([v, k]) => `${MODEL}:${v} ${k}`).join(", ")}`);
    if (client.failures.length > 0) throw new MlopsError(`the demo's client saw ${client.failures.length} failed requests during the canary phase; first: ${client.failures[0]}`);
  } finally {
    client.stop();
    await client.done();
    await server.stop();
  }

  // 4. Every training run, registered or not, is on record.
  const runs = await capture((out) => runsCommand(["list", MODEL, "--registry", staging.uri], out));
  say(step(n++, `mlops runs list ${MODEL}`, `${runs.trim().split("\n").length - 1} runs in staging`));
  for (const line of runs.trimEnd().split("\n")) say(`   ${line}`);
}

/** Prod beside staging: `<dir>/registry` → `<dir>/registry-prod`; a temp folder for a registry that is not a folder. */
export function prodRegistryUri(staging: string): string {
  if (!staging.startsWith("file://")) return pathToFileURL(join(tmpdir(), "mlops-demo-prod")).href;
  const dir = fileURLToPath(staging).replace(/\/+$/, "");
  return pathToFileURL(join(dirname(dir), `${basename(dir)}-prod`)).href;
}

/**
 * A real, loadable ONNX model that fails on the demo's requests: a logistic regression over 31 features
 * (a column the serving requests do not carry), so every request of 30 is refused with a 400.
 */
export function brokenModel(): Buffer {
  const d = 31;
  return buildOnnxModel({
    graphName: "broken_logistic_regression",
    docString: "deliberately broken demo challenger: expects 31 features",
    metadata: { "mlops.trainer": "none", "mlops.output": "probability" },
    inputs: [{ name: "input", elemType: "float", shape: ["batch", d] }],
    outputs: [{ name: "probability", elemType: "float", shape: ["batch", 1] }],
    initializers: [
      { name: "coef", elemType: "float", dims: [d, 1], data: new Array<number>(d).fill(0.01) },
      { name: "intercept", elemType: "float", dims: [1], data: [0] },
    ],
    nodes: [
      { opType: "MatMul", inputs: ["input", "coef"], outputs: ["linear"] },
      { opType: "Add", inputs: ["linear", "intercept"], outputs: ["logit"] },
      { opType: "Sigmoid", inputs: ["logit"], outputs: ["probability"] },
    ],
  });
}

/** Waits until the rollout state of `version` reaches `phase`; a rollout that ends otherwise is an error. */
async function waitForCanary(registry: Registry, version: number, phase: "promoted" | "rolled-back"): Promise<CanaryRollout> {
  let c: CanaryRollout | undefined;
  await waitUntil(async () => {
    c = (await readRollout(registry.store, MODEL))?.canary;
    if (c?.version !== version) return false;
    const other = phase === "promoted" ? "rolled-back" : "promoted";
    if (c.phase === other) throw new MlopsError(`the demo's canary ${MODEL}:${version} was ${other}, not ${phase}: ${c.reason ?? ""}`);
    return c.phase === phase;
  }, `canary ${MODEL}:${version} to be ${phase}`);
  return c!;
}

async function waitUntil(done: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await done())) {
    if (Date.now() > deadline) throw new MlopsError(`the demo waited ${WAIT_MS / 1000} s for ${what}, in vain`);
    await sleep(25);
  }
}

/** The verdict inside a promotion's reason: `passed every step (<verdict>); …`. */
function verdictOf(reason: string): string {
  return /^passed every step \((.*)\); /.exec(reason)?.[1] ?? reason;
}

/** Runs a command in-process and returns what it printed; a non-zero exit is an error. */
async function capture(run: (out: (s: string) => void) => Promise<number>): Promise<string> {
  const lines: string[] = [];
  const code = await run((s) => lines.push(s));
  if (code !== 0) throw new MlopsError(`the demo's in-process command exited ${code}: ${lines.join("\n")}`);
  return lines.join("\n");
}

function pathOf(uri: string): string {
  return uri.startsWith("file://") ? fileURLToPath(uri) : uri;
}

const secs = (t0: number): string => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The example data's feature rows (label dropped). */
async function exampleRows(csv: string): Promise<number[][]> {
  const lines = (await readFile(csv, "utf8")).trim().split("\n");
  const labelAt = lines[0]!.split(",").indexOf("label");
  return lines.slice(1).map((l) => l.split(",").map(Number).filter((_, j) => j !== labelAt));
}
