/**
 * What a training run pushes to a Prometheus Pushgateway when it ends (a training run is a batch job:
 * nothing stays up to be scraped). Group: job `mlops_train`, label `model`; one PUT per run replaces the
 * group, so the holdout metrics of an earlier run do not linger after a run that scored none.
 */
import { Gauge, Pushgateway, Registry } from "prom-client";
import { MlopsError } from "../../src/errors.js";

export const TRAIN_JOB = "mlops_train";
/** The Pushgateway URL when `--pushgateway` is not given. */
export const PUSHGATEWAY_ENV = "MLOPS_PUSHGATEWAY";

export interface TrainPush {
  readonly model: string;
  /** True when the gate passed (a version was registered); false for a failed gate or a failed run. */
  readonly gatePassed: boolean;
  /** The holdout metrics the runtime scored (auc, rmse, …); empty when the run failed before scoring. */
  readonly holdout: Readonly<Record<string, number>>;
}

/** The registry of one run's gauges (exported for the metrics contract test). */
export function trainRegistry(r: Omit<TrainPush, "model">): Registry {
  const registry = new Registry();
  new Gauge({ name: "mlops_train_gate_passed", help: "1 when the last training run's gate passed (a version was registered), 0 when the gate or the run failed.", registers: [registry] }).set(r.gatePassed ? 1 : 0);
  const holdout = new Gauge({ name: "mlops_train_holdout_metric", help: "The last training run's metrics on the holdout, scored by the runtime (label metric: auc, accuracy, logLoss, rmse, mae).", labelNames: ["metric"], registers: [registry] });
  for (const [metric, value] of Object.entries(r.holdout)) if (Number.isFinite(value)) holdout.set({ metric }, value);
  return registry;
}

/** Checks a Pushgateway URL given by `field` (a flag or the environment variable). */
export function checkPushgatewayUrl(url: string, field: string): string {
  try {
    const u = new URL(url);
    if (u.protocol === "http:" || u.protocol === "https:") return u.href.replace(/\/$/, "");
  } catch {
    // reported below
  }
  throw MlopsError.of(field, "is not an http(s) URL", url, "Give the Pushgateway's base URL, e.g. http://pushgateway:9091.");
}

/** Pushes one run's gauges under job `mlops_train`, grouped by model. */
export async function pushTrainMetrics(r: TrainPush, url: string, field = "--pushgateway"): Promise<void> {
  const base = checkPushgatewayUrl(url, field);
  const gateway = new Pushgateway(base, { timeout: 10_000 }, trainRegistry(r));
  try {
    await gateway.push({ jobName: TRAIN_JOB, groupings: { model: r.model } });
  } catch (err) {
    throw MlopsError.of(field, `did not accept the training metrics (${(err as Error).message})`, url, "Check that the Pushgateway is up and reachable at that URL.");
  }
}
