import { MlopsError } from "../errors.js";
import { latestDriftResult } from "../registry/drift-results.js";
import type { Registry } from "../registry/registry.js";
import type { ModelVersion } from "../registry/types.js";
import { PROMETHEUS_DURATION, queryPrometheus } from "./prometheus.js";
import type { ReleaseBody } from "./types.js";

/** What a target stage may demand before a release enters it. */
export const CHECK_NAMES = ["gate", "slo", "no-drift"] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

/** One check's outcome, as the audit records it and a refusal prints it. */
export interface CheckResult {
  readonly name: CheckName;
  readonly passed: boolean;
  /** What was measured (a metric, the SLO value, the share of drifted columns), null when nothing was. */
  readonly value: unknown;
  /** One line: what was checked against what. */
  readonly detail: string;
}

/** The SLO demanded of the source stage: a PromQL instant query over a window, and its bounds. */
export interface SloOptions {
  readonly prometheus: string;
  /** PromQL; `$window` in it is replaced by {@link window} (e.g. `…[$window]`). */
  readonly query: string;
  /** @default "1h" */
  readonly window?: string;
  readonly min?: number;
  readonly max?: number;
}

/** Parses `--require gate,slo,no-drift` (or `none`): each name once, from {@link CHECK_NAMES}. */
export function parseRequire(value: string, field = "--require"): CheckName[] {
  if (value.trim() === "none") return [];
  const names = value.split(",").map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !(CHECK_NAMES as readonly string[]).includes(n));
  if (bad.length || names.length === 0) {
    throw MlopsError.of(field, `names ${bad.length ? `unknown checks ${bad.join(", ")}` : "no check"}`, value, `Use a comma-separated list of ${CHECK_NAMES.join(", ")}, or none.`);
  }
  return [...new Set(names)] as CheckName[];
}

const OPS: Record<string, (v: number, b: number) => boolean> = {
  ">=": (v, b) => v >= b,
  "<=": (v, b) => v <= b,
  ">": (v, b) => v > b,
  "<": (v, b) => v < b,
  min: (v, b) => v >= b,
  max: (v, b) => v <= b,
  minimum: (v, b) => v >= b,
  maximum: (v, b) => v <= b,
};

/**
 * The gate: the release's run registered the version after a gate that passed, and every metric that gate
 * checked is present among the version's metrics and still meets its bound there (a version whose metrics
 * were edited or lost does not pass on the run's word alone).
 */
export function gateCheck(release: ReleaseBody, version: ModelVersion): CheckResult {
  const fail = (value: unknown, detail: string): CheckResult => ({ name: "gate", passed: false, value, detail });
  const run = release.run;
  if (!run) return fail(null, `the version's lineage names no training run, so nothing shows it passed a gate (register it through mlops train)`);
  if (!run.recorded) return fail(null, `run ${run.runId} has no run record in the registry: its gate result is unknown`);
  if (!run.gate) return fail(null, `run ${run.runId} recorded no gate result (status ${run.status})`);
  if (!run.gate.passed) {
    const failed = run.gate.checks.filter((c) => !c.passed).map((c) => `${c.metric} ${c.value ?? "missing"} ${c.op} ${c.bound}`);
    return fail(failed, `run ${run.runId} failed its gate${failed.length ? `: ${failed.join("; ")}` : ""}`);
  }
  if (run.gate.checks.length === 0) return fail([], `run ${run.runId} passed a gate that checked no metric`);
  const measured: Record<string, number> = {};
  for (const c of run.gate.checks) {
    const v = version.metrics[c.metric] ?? c.value;
    if (v === null || v === undefined) return fail(measured, `metric ${c.metric} (gate ${c.op} ${c.bound}) is missing from ${version.name}:${version.version}'s metrics`);
    measured[c.metric] = v;
    const op = OPS[c.op];
    if (op ? !op(v, c.bound) : !c.passed) return fail(measured, `metric ${c.metric} is ${v}, which does not meet ${c.op} ${c.bound}`);
  }
  const summary = run.gate.checks.map((c) => `${c.metric} ${measured[c.metric]} ${c.op} ${c.bound}`).join("; ");
  return { name: "gate", passed: true, value: measured, detail: `run ${run.runId} passed its gate: ${summary}` };
}

/** The SLO: every series of the query, evaluated now over the window, within [min, max]. */
export async function sloCheck(o: SloOptions): Promise<CheckResult> {
  const window = o.window ?? "1h";
  if (!PROMETHEUS_DURATION.test(window)) throw MlopsError.of("--window", "is not a Prometheus duration", window, "Write e.g. 30m, 1h or 1d.");
  if (o.min === undefined && o.max === undefined) throw MlopsError.of("--slo-min", "is required with --slo-query (or --slo-max)", undefined, "Say what the query must reach, e.g. --slo-min 0.995.");
  const query = o.query.replaceAll("$window", window);
  const bounds = [o.min !== undefined ? `>= ${o.min}` : "", o.max !== undefined ? `<= ${o.max}` : ""].filter(Boolean).join(" and ");
  let samples;
  try {
    samples = await queryPrometheus(o.prometheus, query);
  } catch (err) {
    if (!(err instanceof MlopsError)) throw err;
    return { name: "slo", passed: false, value: null, detail: err.message };
  }
  if (samples.length === 0) return { name: "slo", passed: false, value: null, detail: `${query} returned no data over ${window} (no traffic, or the query selects nothing)` };
  const bad = samples.find((s) => Number.isNaN(s.value) || (o.min !== undefined && s.value < o.min) || (o.max !== undefined && s.value > o.max));
  const values = samples.map((s) => s.value);
  const value = values.length === 1 ? values[0] : values;
  if (bad) {
    const who = Object.keys(bad.labels).length ? ` for ${JSON.stringify(bad.labels)}` : "";
    return { name: "slo", passed: false, value: Number.isNaN(bad.value) ? "NaN" : bad.value, detail: `${query} is ${bad.value}${who}, which does not meet ${bounds}` };
  }
  return { name: "slo", passed: true, value, detail: `${query} is ${values.join(", ")}, which meets ${bounds}` };
}

/** No open drift: the source stage's latest drift result (contract 2) does not report drift of this version. */
export async function driftCheck(source: Registry, version: ModelVersion): Promise<CheckResult> {
  const latest = await latestDriftResult(source.store, version.name);
  if (!latest) return { name: "no-drift", passed: true, value: null, detail: `no drift result recorded for ${version.name} in ${source.uri}` };
  if (latest.version !== version.version) {
    return { name: "no-drift", passed: true, value: latest.share_drifted, detail: `the latest drift result (${latest.at}) is about version ${latest.version}, not ${version.version}` };
  }
  if (latest.dataset_drift) {
    return {
      name: "no-drift",
      passed: false,
      value: latest.share_drifted,
      detail: `the latest drift result (${latest.at}) reports dataset drift of ${version.name}:${version.version}: share ${latest.share_drifted} of columns drifted (${latest.drifted.join(", ")}); report ${latest.report}`,
    };
  }
  return { name: "no-drift", passed: true, value: latest.share_drifted, detail: `the latest drift result (${latest.at}) reports no dataset drift (share ${latest.share_drifted})` };
}
