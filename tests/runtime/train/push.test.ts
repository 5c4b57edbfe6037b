/**
 * `mlops train` pushes its gate verdict and holdout metrics to a real Pushgateway (Debian's
 * prometheus-pushgateway on a free 127.0.0.1 port): job mlops_train, grouped by model; a gate-failed or
 * failed run pushes 0 and replaces the group; MLOPS_PUSHGATEWAY works as the flag does; a bad URL is
 * refused before training and an unreachable gateway does not fail a registered run.
 * Needs `apt-get install -y prometheus-pushgateway`.
 */
import { startPushgateway, type TestPushgateway } from "../../helpers/pushgateway.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MlopsError } from "../../../src/errors.js";
import { freePort } from "../../../src/net.js";
import { runTraining } from "../../../runtime/train/index.js";
import { captureLogger, dataDir, specIn } from "./helpers.js";

let gateway: TestPushgateway;
let url: string;
let dir: string;
let cleanup: () => Promise<void>;

/** The gateway's mlops_train_ samples, keyed "name{labels}" with the labels sorted. */
async function pushed(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const { series, value } of await gateway.lines("mlops_train_")) {
    const m = /^([a-z_]+)(?:\{(.*)\})?$/.exec(series)!;
    const labels = (m[2] ?? "").split(/,(?=[a-z_]+=")/).filter(Boolean).sort().join(",");
    out.set(`${m[1]}{${labels}}`, value);
  }
  return out;
}

beforeAll(async () => {
  ({ dir, cleanup } = await dataDir({ rows: 600 }));
  gateway = await startPushgateway();
  url = gateway.url;
}, 120_000);
afterAll(async () => {
  gateway?.stop();
  await cleanup();
});

const quiet = () => ({ logger: captureLogger().logger, progress: "none" as const });
const builtin = { builtin: "logistic-regression" as const };

describe("pushing training metrics", () => {
  it("a registered run pushes gate_passed 1 and each holdout metric under job mlops_train, model", async () => {
    const r = await runTraining(specIn(dir, { trainer: builtin }), { ...quiet(), pushgateway: url });
    expect(r.status).toBe("registered");
    const m = await pushed();
    expect(m.get('mlops_train_gate_passed{instance="",job="mlops_train",model="fraud"}')).toBe(1);
    for (const metric of ["auc", "accuracy", "logLoss"]) {
      expect(m.get(`mlops_train_holdout_metric{instance="",job="mlops_train",metric="${metric}",model="fraud"}`), metric).toBeCloseTo(r.metrics[metric]!, 9);
    }
    // The trainer's own numbers are not holdout metrics.
    expect([...m.keys()].some((k) => k.includes("trainer_"))).toBe(false);
  }, 120_000);

  it("a gate-failed run pushes 0 with its holdout metrics, through MLOPS_PUSHGATEWAY", async () => {
    process.env.MLOPS_PUSHGATEWAY = url;
    try {
      const r = await runTraining(specIn(dir, { trainer: builtin, gate: { minimum: { auc: 0.99999 } } }), quiet());
      expect(r.status).toBe("gate-failed");
      const m = await pushed();
      expect(m.get('mlops_train_gate_passed{instance="",job="mlops_train",model="fraud"}')).toBe(0);
      expect(m.get('mlops_train_holdout_metric{instance="",job="mlops_train",metric="auc",model="fraud"}')).toBeCloseTo(r.metrics.auc!, 9);
    } finally {
      delete process.env.MLOPS_PUSHGATEWAY;
    }
  }, 120_000);

  it("a failed run pushes 0 and replaces the group: no holdout metric lingers", async () => {
    const spec = specIn(dir, { trainer: builtin, dataset: { uri: `file://${dir}/data.csv`, label: "missing_label" } });
    await expect(runTraining(spec, { ...quiet(), pushgateway: url })).rejects.toThrow(/missing_label/);
    const m = await pushed();
    expect(m.get('mlops_train_gate_passed{instance="",job="mlops_train",model="fraud"}')).toBe(0);
    expect([...m.keys()].filter((k) => k.startsWith("mlops_train_holdout_metric"))).toEqual([]);
  }, 120_000);

  it("refuses a URL that is not http(s) before training, naming the flag", async () => {
    const err = await runTraining(specIn(dir, { trainer: builtin }), { ...quiet(), pushgateway: "pushgateway:9091" }).then(() => new Error("resolved"), (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(MlopsError);
    expect(err.message).toMatch(/^--pushgateway: is not an http\(s\) URL; received "pushgateway:9091"\. Give the Pushgateway's base URL/);
  });

  it("an unreachable gateway is a warning: the run is still registered", async () => {
    const { logger, records } = captureLogger();
    const r = await runTraining(specIn(dir, { trainer: builtin }), { logger, progress: "none", pushgateway: `http://127.0.0.1:${await freePort()}` });
    expect(r.status).toBe("registered");
    const warning = records().find((l) => l.msg === "could not push the training metrics");
    expect(String(warning?.error)).toMatch(/^--pushgateway: did not accept the training metrics/);
  }, 120_000);
});
