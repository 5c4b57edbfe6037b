import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { MlopsError } from "../src/errors.js";
import type { Logger } from "../src/log.js";
import { seededRandom } from "../src/random.js";
import type { Registry } from "../src/registry/index.js";
import { parseEndpointSpec } from "../src/spec/endpoint.js";
import { driftCommand } from "./drift.js";

const MODEL = "breast-cancer";
/** Requests of each phase, and rows per request. */
const REQUESTS = 20;
const ROWS = 10;
/** The shifted phase: every feature scaled by this (a recalibrated sensor, a unit change upstream). */
const SCALE = 1.5;

/** What each phase of the main job after the first ones gets from cli/demo.ts. */
export interface DemoPhaseOptions {
  readonly registry: Registry;
  readonly logger: Logger;
  readonly say: (s?: string) => void;
  readonly step: (n: number, what: string, detail: string) => string;
  readonly first: number;
  /** examples/breast-cancer */
  readonly example: string;
}

/**
 * The main job's drift phase: the champion served with payload logging on (to a local folder); a phase of
 * normal traffic (rows of the example data) and one of shifted traffic (every feature × {@link SCALE});
 * `mlops drift --model breast-cancer@champion` over each phase's window, against the reference profile
 * the training job saved with the champion; on the drift found, `--on-drift-train` retrains here and the
 * gate registers a challenger, which is not promoted.
 *
 * Its files (payload logs, reports, the retrain spec) go in `demo-drift/` beside a file registry (the
 * system temp folder for another), emptied at the start so a second run compares only its own traffic.
 */
export async function driftPhase(o: DemoPhaseOptions): Promise<void> {
  const { registry, say, step } = o;
  let n = o.first;
  const base = registry.uri.startsWith("file://") ? join(dirname(fileURLToPath(registry.uri)), "demo-drift") : join(tmpdir(), "mlops-demo-drift");
  await rm(base, { recursive: true, force: true });
  await mkdir(base, { recursive: true });
  const payloadUri = pathToFileURL(join(base, "payloads")).href;

  const { startServer } = await import("../runtime/serve/main.js");
  const endpoint = parseEndpointSpec({
    name: MODEL,
    model: `${MODEL}@champion`,
    registry: registry.uri,
    server: { host: "127.0.0.1", port: 0, shutdownDelaySeconds: 0, drainSeconds: 5 },
    logging: { sampleRate: 1, uri: payloadUri, flushIntervalSeconds: 0.2 },
  });
  const server = await startServer(endpoint, { registry, logger: o.logger, handleSignals: false });
  const champion = (await registry.resolve(`${MODEL}@champion`)).version;
  say("");
  say(step(n++, `serving ${MODEL}@champion (payload log)`, `${server.url}  → ${payloadUri}`));

  const data = await exampleRows(join(o.example, "data.csv"));
  const rand = seededRandom(20260501);
  const send = async (scale: number) => {
    for (let r = 0; r < REQUESTS; r++) {
      const rows = Array.from({ length: ROWS }, () => data[Math.floor(rand() * data.length)]!.map((v) => v * scale));
      const res = await fetch(`${server.url}/v2/models/${MODEL}/infer`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [ROWS, rows[0]!.length], data: rows }] }),
      });
      if (!res.ok) throw new Error(`infer failed: ${res.status} ${await res.text()}`);
    }
  };
  let windows: { normal: [string, string]; shifted: [string, string] };
  try {
    const t0 = new Date().toISOString();
    await send(1);
    // A few ms apart, so no normal request's inference time falls in the shifted window.
    await new Promise((r) => setTimeout(r, 5));
    const t1 = new Date().toISOString();
    await send(SCALE);
    const t2 = new Date(Date.now() + 1).toISOString();
    windows = { normal: [t0, t1], shifted: [t1, t2] };
  } finally {
    // Stopping writes the last batches of the payload log.
    await server.stop();
  }
  say(`   sent ${REQUESTS * ROWS} rows of normal traffic, then ${REQUESTS * ROWS} with every feature × ${SCALE} (${REQUESTS} requests each)`);

  // The same command the drift CronJob runs, in-process, over each phase's window.
  const drift = async (what: "normal" | "shifted", extra: string[] = []) => {
    const lines: string[] = [];
    const [since, until] = windows[what];
    const code = await driftCommand(
      ["--model", `${MODEL}@champion`, "--registry", registry.uri, "--payload-uri", payloadUri, "--since", since, "--until", until, "--out", join(base, `report-${what}`), ...extra],
      (s) => lines.push(s),
    );
    const summary = lines.find((l) => l.startsWith("dataset drift:")) ?? "";
    return { code, lines, summary: summary.replace(/^dataset drift: /, "dataset drift ") };
  };
  const calm = await drift("normal");
  say(step(n++, "mlops drift on the normal traffic", `${calm.summary}, exit ${calm.code}`));

  const spec = join(base, "retrain.yaml");
  await writeFile(
    spec,
    [
      "name: breast-cancer-retrain",
      `registry: ${registry.uri}`,
      `model: ${MODEL}`,
      `dataset: { uri: ${pathToFileURL(join(o.example, "data.csv")).href}, label: label }`,
      "trainer: { builtin: logistic-regression, l2: 1.0 }",
      "split: { holdoutFraction: 0.25, seed: 11 }",
      "gate: { minimum: { auc: 0.95 } }",
      "alias: challenger",
      "",
    ].join("\n"),
  );
  const shifted = await drift("shifted", ["--on-drift-train", spec]);
  if (shifted.code !== 3) throw new MlopsError(`the demo's shifted traffic did not drift: ${shifted.summary || shifted.lines.join("; ")}`);
  say(step(n++, "mlops drift on the shifted traffic", `${shifted.summary}, exit ${shifted.code}`));
  const current = shifted.lines.find((l) => l.startsWith("current:"));
  if (current) say(`   ${current}`);
  const drifted = shifted.lines.filter((l) => / DRIFT$/.test(l)).slice(0, 3).map((l) => l.trim().replace(/\s+/g, " "));
  for (const l of drifted) say(`     ${l}`);
  say(`   ${shifted.lines.find((l) => l.startsWith("html:"))!.replace(/\s+/, " ")}`);
  const retrain = shifted.lines.find((l) => l.startsWith("retrain:"));
  if (!retrain || !/registered/.test(retrain) || /nothing registered/.test(retrain)) throw new MlopsError(`the demo's retrain did not register a challenger: ${retrain ?? "it did not run"}`);
  const aliases = await registry.aliases(MODEL);
  say(step(n++, "retrained on drift (--on-drift-train)", retrain.replace(/^retrain: /, "")));
  say(`   champion stays ${MODEL}:${aliases.champion ?? champion}; the challenger ${MODEL}:${aliases.challenger} waits for a promotion`);
}

/** The example data's feature rows (label dropped). */
async function exampleRows(csv: string): Promise<number[][]> {
  const lines = (await readFile(csv, "utf8")).trim().split("\n");
  const labelAt = lines[0]!.split(",").indexOf("label");
  return lines.slice(1).map((l) => l.split(",").map(Number).filter((_, j) => j !== labelAt));
}
