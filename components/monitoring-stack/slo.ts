/**
 * Per-endpoint service level objectives: the recording rules of the error and slow-request ratios over
 * the burn-rate windows (what the alerts and the dashboards both read), and the multi-window,
 * multi-burn-rate alerts of the Google SRE workbook ("Alerting on SLOs", table 5-8). Pure: plain values in,
 * rule objects out, checked and unit-tested with promtool.
 */
import { BURN_RATE_ALERTS, BURN_RATE_WINDOWS, INFER_ROUTE, LATENCY_BUCKETS_SECONDS, RECORDED, SERVE_METRICS, TARGET_LABELS as L, type BurnWindow } from "./metrics.js";
import { leMatcher, num, selector } from "./promql.js";

/** One rule of a PrometheusRule group, as the operator (and promtool) read it. */
export type Rule =
  | { readonly record: string; readonly expr: string; readonly labels?: Record<string, string> }
  | { readonly alert: string; readonly expr: string; readonly for?: string; readonly labels: Record<string, string>; readonly annotations: Record<string, string> };

export interface RuleGroup {
  readonly name: string;
  readonly interval?: string;
  readonly rules: readonly Rule[];
}

/** What an endpoint promises: the share of infer requests answered without a 5xx, and of those fast enough. */
export interface EndpointObjectives {
  /** e.g. 0.999: at most 0.1% of infer requests answered 5xx over the SLO period. */
  readonly availability: number;
  /** At least `objective` of infer requests answered within `thresholdSeconds` (a bucket bound); undefined: no latency SLO. */
  readonly latency?: { readonly thresholdSeconds: number; readonly objective: number };
}

export interface SloEndpoint {
  /** The endpoint's logical name: the `mlops_endpoint` label of its series. */
  readonly name: string;
  readonly objectives: EndpointObjectives;
}

/** The label grouping of every per-endpoint series: stack and endpoint. */
const BY = `${L.stack}, ${L.endpoint}`;

/**
 * What a client saw. A shadow's answers never reach one, so its series are left out everywhere; a canary's
 * failed answer is replayed on stable (runtime/serve/variants/router.ts), so only stable's 5xx (and those of
 * servers without variants, whose series have no `variant` label) are errors a client got.
 */
const CLIENT_FACING = { variant: { not: "shadow" } } as const;
const STABLE_OR_PLAIN = { variant: { re: "stable|" } } as const;

/** Infer-request series of one stack's endpoints. */
function inferSelector(stack: string, extra: Record<string, string | { re: string } | { not: string }> = {}): string {
  return selector({ [L.stack]: stack, [L.endpoint]: { re: ".+" }, route: INFER_ROUTE, ...CLIENT_FACING, ...extra });
}

/**
 * Ratio of two per-endpoint rates. The numerator falls back to 0 × the denominator, so an endpoint that
 * never answered a 5xx records 0 (not no data) while it has traffic, and nothing when it has none.
 */
function ratio(numerator: string, denominator: string): string {
  return `(${numerator} or (${denominator} * 0)) / ${denominator}`;
}

/** The recording rules every endpoint of the stack shares (one series per endpoint). */
export function servingRecordingRules(stack: string): Rule[] {
  // The answers clients got: stable's (replays included) and a canary's successes; its failures were replayed.
  const rate = (extra: Record<string, string | { re: string }>, w: string) => `sum by (${BY}) (rate(${SERVE_METRICS.requests}${inferSelector(stack, extra)}[${w}]))`;
  const all = (w: string) => `(${rate(STABLE_OR_PLAIN, w)} + (${rate({ variant: "canary", status: { re: "[123].." } }, w)} or ${rate(STABLE_OR_PLAIN, w)} * 0))`;
  const errors = (w: string) => rate({ status: { re: "5.." }, ...STABLE_OR_PLAIN }, w);
  const quantile = (q: number) =>
    `histogram_quantile(${q}, sum by (${BY}, le) (rate(${SERVE_METRICS.duration}_bucket${selector({ [L.stack]: stack, [L.endpoint]: { re: ".+" }, ...CLIENT_FACING })}[5m])))`;
  return [
    { record: RECORDED.requestRate, expr: all("5m") },
    ...BURN_RATE_WINDOWS.map((w) => ({ record: RECORDED.errorRatio(w), expr: ratio(errors(w), all(w)) })),
    { record: RECORDED.latencyP50, expr: quantile(0.5) },
    { record: RECORDED.latencyP99, expr: quantile(0.99) },
  ];
}

/** The slow-request ratios of one endpoint (its own threshold, so one rule per endpoint and window). */
export function latencyRecordingRules(stack: string, e: SloEndpoint): Rule[] {
  const latency = e.objectives.latency;
  if (!latency) return [];
  const own = { [L.stack]: stack, [L.endpoint]: e.name, ...CLIENT_FACING };
  const by = `sum by (${BY})`;
  const fast = (w: BurnWindow) => `${by} (rate(${SERVE_METRICS.duration}_bucket${selector({ ...own, le: leMatcher(latency.thresholdSeconds) })}[${w}]))`;
  const count = (w: BurnWindow) => `${by} (rate(${SERVE_METRICS.duration}_count${selector(own)}[${w}]))`;
  // The label (already on the result) tells promtool's lint apart the same record written per endpoint.
  return BURN_RATE_WINDOWS.map((w) => ({ record: RECORDED.slowRatio(w), expr: `1 - (${fast(w)} / ${count(w)})`, labels: { [L.endpoint]: e.name } }));
}

const pct = (x: number) => `${num(x * 100)}%`;

/** The availability and latency burn-rate alerts of one endpoint, a page and a ticket each. */
export function sloAlerts(stack: string, e: SloEndpoint): Rule[] {
  const own = selector({ [L.stack]: stack, [L.endpoint]: e.name });
  const out: Rule[] = [];
  const kinds: { alert: string; series: (w: BurnWindow) => string; budget: number; what: string }[] = [
    { alert: "MlopsAvailabilityBudgetBurn", series: RECORDED.errorRatio, budget: 1 - e.objectives.availability, what: `5xx answers (objective ${pct(e.objectives.availability)} available)` },
  ];
  const latency = e.objectives.latency;
  if (latency) {
    kinds.push({
      alert: "MlopsLatencyBudgetBurn",
      series: RECORDED.slowRatio,
      budget: 1 - latency.objective,
      what: `answers slower than ${num(latency.thresholdSeconds)}s (objective ${pct(latency.objective)} within it)`,
    });
  }
  for (const k of kinds) {
    for (const severity of ["page", "ticket"] as const) {
      const conditions = BURN_RATE_ALERTS.filter((c) => c.severity === severity).map((c) => {
        const limit = num(c.burnRate * k.budget);
        return `(${k.series(c.long)}${own} > ${limit} and ${k.series(c.short)}${own} > ${limit})`;
      });
      const windows = BURN_RATE_ALERTS.filter((c) => c.severity === severity).map((c) => `${c.burnRate}× over ${c.long} and ${c.short}`).join(", or ");
      out.push({
        alert: k.alert,
        expr: conditions.join(" or "),
        for: severity === "page" ? "2m" : "15m",
        labels: { severity, [L.stack]: stack, [L.endpoint]: e.name },
        annotations: {
          summary: `Endpoint ${e.name} is spending its error budget too fast (${severity === "page" ? "page" : "ticket"}).`,
          description: `The share of ${k.what} burns the error budget at ${windows}. Current long-window ratio: {{ $value | humanizePercentage }}.`,
        },
      });
    }
  }
  return out;
}

/** Why an objective cannot work, or undefined. A page at 14.4× needs a budget under 1/14.4 (objective above 93.06%). */
export function objectiveProblem(objective: number): string | undefined {
  if (!(objective > 0 && objective < 1)) return "must be a share strictly between 0 and 1, e.g. 0.999";
  const worst = Math.max(...BURN_RATE_ALERTS.map((c) => c.burnRate));
  if (worst * (1 - objective) >= 1) {
    return `leaves an error budget of ${pct(1 - objective)}: the fastest page (${worst}× the budget) would need more than 100% of requests to fail, so it could never fire; use an objective above ${pct(1 - 1 / worst)}, e.g. 0.99`;
  }
  return undefined;
}

/** Why a latency threshold is unusable, or undefined: it must be a bucket bound of the runtime's histogram. */
export function latencyThresholdProblem(seconds: number): string | undefined {
  return LATENCY_BUCKETS_SECONDS.includes(seconds)
    ? undefined
    : `is not a bucket bound of ${SERVE_METRICS.duration} (the share of requests under it could only be estimated): use one of ${LATENCY_BUCKETS_SECONDS.join(", ")}`;
}
