/**
 * Canary analysis: each bake period the canary's error ratio and p99 latency are compared with stable's.
 *
 * The numbers come from an {@link AnalysisSource}. {@link LocalMetricsSource} reads this process's own
 * serving metrics (what its `/metrics` exposes), which is right for one replica and is what each replica
 * judges on by default. With several replicas, a source that reads every replica's metrics gives the
 * judgement all of them share: a Prometheus source would run, over the bake window `[w]` ending now,
 *
 *   requests(v) = sum(increase(mlops_requests_total{model="m",route="infer",variant="v"}[w]))
 *   errors(v)   = sum(increase(mlops_requests_total{model="m",route="infer",variant="v",status=~"5.."}[w]))
 *                 (+ sum(increase(mlops_canary_fallbacks_total{model="m"}[w])) for v = canary)
 *   p99(v)      = histogram_quantile(0.99, sum by (le) (increase(mlops_request_duration_seconds_bucket{model="m",variant="v"}[w])))
 *
 * and return them as an {@link AnalysisWindow}; empty vectors are zero requests (the judgement is then
 * inconclusive, never a failure: Argo's empty-vector errors and Flagger's "no values found" halts are
 * what min-requests avoids). Whatever the source, the decision it leads to is written to the registry by
 * compare-and-swap (rollout.ts), so replicas judging the same period agree on one outcome.
 */
import type { CanaryAnalysis } from "../../../src/spec/endpoint-variants.js";
import type { ServeMetrics } from "../metrics.js";
import type { VariantMetrics } from "./metrics.js";

/** One variant's infer requests over a window. */
export interface VariantNumbers {
  readonly requests: number;
  /** 5xx answers, and for the canary the requests it failed that stable then answered. */
  readonly errors: number;
  /** The 99th percentile latency in seconds; undefined without requests. */
  readonly p99Seconds: number | undefined;
}

export interface AnalysisWindow {
  readonly stable: VariantNumbers;
  readonly canary: VariantNumbers;
}

/** Where the analysis reads its numbers. */
export interface AnalysisSource {
  /** A bake period starts now: the numbers read later count from here. */
  begin(): Promise<void>;
  /** Both variants' numbers since the last `begin` (`sinceMs`, epoch ms, for sources that query by time range). */
  read(sinceMs: number): Promise<AnalysisWindow>;
}

/** Cumulative counts of one variant: requests, errors, and latency bucket counts by upper bound. */
interface Totals {
  requests: number;
  errors: number;
  buckets: Map<number, number>;
}

/** The numbers from this process's own metrics: deltas of the cumulative series since `begin`. */
export class LocalMetricsSource implements AnalysisSource {
  private base: { stable: Totals; canary: Totals } | undefined;

  constructor(
    private readonly serve: ServeMetrics,
    private readonly variants: VariantMetrics,
    private readonly model: string,
  ) {}

  async begin(): Promise<void> {
    this.base = await this.totals();
  }

  async read(_sinceMs?: number): Promise<AnalysisWindow> {
    const now = await this.totals();
    const base = this.base ?? { stable: empty(), canary: empty() };
    return { stable: delta(now.stable, base.stable), canary: delta(now.canary, base.canary) };
  }

  private async totals(): Promise<{ stable: Totals; canary: Totals }> {
    const out = { stable: empty(), canary: empty() };
    const byVariant = (v: unknown) => (v === "stable" ? out.stable : v === "canary" ? out.canary : undefined);
    for (const s of (await this.serve.requests.get()).values) {
      const l = s.labels;
      const t = l.model === this.model && l.route === "infer" ? byVariant(l.variant) : undefined;
      if (!t) continue;
      t.requests += s.value;
      if (Number(l.status) >= 500) t.errors += s.value;
    }
    for (const s of (await this.variants.fallbacks.get()).values) if (s.labels.model === this.model) out.canary.errors += s.value;
    for (const s of (await this.serve.duration.get()).values) {
      const l = s.labels as Record<string, string | number>;
      if (s.metricName !== "mlops_request_duration_seconds_bucket" || l.model !== this.model) continue;
      const t = byVariant(l.variant);
      if (!t) continue;
      const le = l.le === "+Inf" ? Infinity : Number(l.le);
      t.buckets.set(le, (t.buckets.get(le) ?? 0) + s.value);
    }
    return out;
  }
}

function empty(): Totals {
  return { requests: 0, errors: 0, buckets: new Map() };
}

function delta(now: Totals, base: Totals): VariantNumbers {
  const buckets = [...now.buckets].map(([le, n]) => [le, n - (base.buckets.get(le) ?? 0)] as [number, number]);
  const requests = now.requests - base.requests;
  // A fallback is counted once stable has answered, after the canary's own answer: one whose canary answer
  // fell before the window's start would count an error without its request. Never more errors than requests.
  return { requests, errors: Math.min(requests, now.errors - base.errors), p99Seconds: quantile(0.99, buckets) };
}

/**
 * The q-quantile of cumulative histogram buckets ([upper bound, count ≤ it]), interpolated within the bucket
 * as Prometheus' histogram_quantile does; the highest finite bound when it falls in the +Inf bucket.
 */
export function quantile(q: number, buckets: readonly (readonly [number, number])[]): number | undefined {
  const b = [...buckets].sort((x, y) => x[0] - y[0]);
  const total = b.length ? b[b.length - 1]![1] : 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of b) {
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      if (count === prevCount) return le;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / (count - prevCount);
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

export interface Verdict {
  readonly result: "pass" | "fail" | "inconclusive";
  readonly reason: string;
  readonly numbers: {
    readonly stable: VariantNumbers & { readonly errorRatio: number };
    readonly canary: VariantNumbers & { readonly errorRatio: number };
  };
}

/** Judges one window against the thresholds. Pure: the rollout decides what a verdict does. */
export function judge(w: AnalysisWindow, a: CanaryAnalysis): Verdict {
  const ratio = (v: VariantNumbers) => (v.requests > 0 ? v.errors / v.requests : 0);
  const numbers = { stable: { ...w.stable, errorRatio: ratio(w.stable) }, canary: { ...w.canary, errorRatio: ratio(w.canary) } };
  const c = numbers.canary;
  const s = numbers.stable;
  if (c.requests < a.minRequests) {
    return { result: "inconclusive", reason: `the canary answered ${c.requests} requests, fewer than analysis.minRequests (${a.minRequests})`, numbers };
  }
  const increase = c.errorRatio - s.errorRatio;
  if (increase > a.maxErrorRatioIncrease) {
    return {
      result: "fail",
      reason: `canary error ratio ${fmt(c.errorRatio)} (${c.errors}/${c.requests}) exceeds stable's ${fmt(s.errorRatio)} by ${fmt(increase)}, more than analysis.maxErrorRatioIncrease (${a.maxErrorRatioIncrease})`,
      numbers,
    };
  }
  if (c.p99Seconds !== undefined && s.p99Seconds !== undefined && s.p99Seconds > 0) {
    const r = c.p99Seconds / s.p99Seconds;
    if (r > a.p99LatencyRatio && (c.p99Seconds - s.p99Seconds) * 1000 > a.p99LatencySlackMs) {
      return {
        result: "fail",
        reason: `canary p99 ${ms(c.p99Seconds)} is ${r.toFixed(2)}x stable's ${ms(s.p99Seconds)}, more than analysis.p99LatencyRatio (${a.p99LatencyRatio}) and more than ${a.p99LatencySlackMs} ms above it`,
        numbers,
      };
    }
  }
  return { result: "pass", reason: `canary error ratio ${fmt(c.errorRatio)} vs stable ${fmt(s.errorRatio)}, p99 ${ms(c.p99Seconds)} vs ${ms(s.p99Seconds)} over ${c.requests} canary requests`, numbers };
}

const fmt = (x: number): string => (Math.round(x * 10_000) / 10_000).toString();
const ms = (s: number | undefined): string => (s === undefined ? "n/a" : `${(s * 1000).toFixed(2)} ms`);
