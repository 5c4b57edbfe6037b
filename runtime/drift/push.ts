/**
 * Pushes a drift run's results to a Prometheus Pushgateway (a drift job is a batch job: nothing stays
 * up to be scraped). One PUT per run replaces the whole group, so a column that is no longer tested
 * does not linger with its last value. Labels are bounded: the column name and the test.
 */
import { Gauge, Pushgateway, Registry } from "prom-client";
import { MlopsError } from "../../src/errors.js";
import type { ColumnReport } from "./column.js";

export interface PushInput {
  readonly dataset_drift: boolean;
  readonly share_drifted: number;
  readonly columns: Readonly<Record<string, ColumnReport>>;
}

export interface PushOptions {
  /** Pushgateway base URL, e.g. http://pushgateway:9091 */
  readonly url: string;
  /** The `job` grouping label. @default "mlops_drift" */
  readonly job?: string;
  /** Extra grouping labels (e.g. `{ model: "fraud" }`), so several drift jobs keep separate groups. */
  readonly groupings?: Readonly<Record<string, string>>;
  /** Run time in seconds since the epoch. @default now */
  readonly timestampSeconds?: number;
}

export const DRIFT_JOB = "mlops_drift";

/** The registry of one run's gauges (exported for tests and for `promtool check metrics`). */
export function driftRegistry(r: PushInput, timestampSeconds: number): Registry {
  const registry = new Registry();
  const g = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [registry] });
  g("mlops_drift_dataset_drift", "1 when the share of drifted columns reached the dataset threshold (0.5), else 0.").set(r.dataset_drift ? 1 : 0);
  g("mlops_drift_share_drifted", "Share of tested columns that drifted (0 to 1).").set(r.share_drifted);
  g("mlops_drift_columns_tested", "Number of columns tested for drift.").set(Object.keys(r.columns).length);
  const stat = g("mlops_drift_column_statistic", "Drift statistic per column: the test's statistic (KS D, chi-square, z) or distance (normed Wasserstein, Jensen-Shannon, PSI).", ["column", "test"]);
  const pval = g("mlops_drift_column_p_value", "p-value per column, for the tests that have one (ks, chisquare, z).", ["column", "test"]);
  const thr = g("mlops_drift_column_threshold", "Threshold the column's score was compared against.", ["column", "test"]);
  const drift = g("mlops_drift_column_drift", "1 when the column drifted, else 0.", ["column"]);
  for (const [column, c] of Object.entries(r.columns)) {
    stat.set({ column, test: c.test }, finite(c.statistic));
    if (c.p_value !== null) pval.set({ column, test: c.test }, c.p_value);
    thr.set({ column, test: c.test }, c.threshold);
    drift.set({ column }, c.drift ? 1 : 0);
  }
  g("mlops_drift_last_run_timestamp_seconds", "When this drift run finished, in seconds since the epoch.").set(timestampSeconds);
  return registry;
}

/** An infinite chi-square statistic (a category the reference never saw) pushed as the largest double. */
const finite = (x: number): number => (x === Infinity ? Number.MAX_VALUE : x);

export async function pushDriftMetrics(r: PushInput, opts: PushOptions): Promise<void> {
  let url: URL;
  try {
    url = new URL(opts.url);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http");
  } catch {
    throw MlopsError.of("--pushgateway", "is not an http(s) URL", opts.url, "Pass the Pushgateway's base URL, e.g. http://pushgateway:9091.");
  }
  const registry = driftRegistry(r, opts.timestampSeconds ?? Date.now() / 1000);
  const gateway = new Pushgateway(url.href.replace(/\/$/, ""), { timeout: 10_000 }, registry);
  try {
    await gateway.push({ jobName: opts.job ?? DRIFT_JOB, ...(opts.groupings ? { groupings: { ...opts.groupings } } : {}) });
  } catch (err) {
    throw MlopsError.of("--pushgateway", `did not accept the drift metrics (${(err as Error).message})`, opts.url, "Check that the Pushgateway is up and reachable at that URL.");
  }
}
