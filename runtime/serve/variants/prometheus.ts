/**
 * The analysis numbers from Prometheus (spec `variants.canary.analysis.prometheus`): every replica's series,
 * so all replicas judge on the same traffic. The queries are the ones analysis.ts documents, over the bake
 * window so far (`[<seconds>s]`, from when this replica began the period), through the HTTP API's instant
 * query (`GET /api/v1/query`). An empty vector is no traffic (0 requests, no p99: inconclusive), NaN the
 * same; a failed query throws, and the rollout then takes no decision that round (rollout.ts logs it).
 */
import type { AnalysisSource, AnalysisWindow, VariantNumbers } from "./analysis.js";

export interface PrometheusSourceOptions {
  readonly url: string;
  readonly model: string;
  /** Extra label matchers, e.g. `mlops_endpoint="fraud"`. */
  readonly selector?: string;
  readonly timeoutSeconds: number;
  /** @default Date.now */
  readonly now?: () => number;
}

interface QueryAnswer {
  status?: string;
  error?: string;
  data?: { resultType?: string; result?: { value?: [number, string] }[] };
}

export class PrometheusAnalysisSource implements AnalysisSource {
  constructor(private readonly o: PrometheusSourceOptions) {}

  async begin(): Promise<void> {}

  async read(sinceMs: number): Promise<AnalysisWindow> {
    const seconds = Math.max(1, Math.ceil(((this.o.now ?? Date.now)() - sinceMs) / 1000));
    const [stable, canary] = await Promise.all([this.variant("stable", seconds), this.variant("canary", seconds)]);
    return { stable, canary };
  }

  /** The PromQL of one variant's numbers over `[w]` (exported for the docs and tests). */
  queries(variant: "stable" | "canary", seconds: number): { requests: string; errors: string; p99: string } {
    const m = `model=${JSON.stringify(this.o.model)}${this.o.selector ? `,${this.o.selector}` : ""}`;
    const w = `[${seconds}s]`;
    const requests = `sum(increase(mlops_requests_total{${m},route="infer",variant="${variant}"}${w}))`;
    let errors = `sum(increase(mlops_requests_total{${m},route="infer",variant="${variant}",status=~"5.."}${w}))`;
    if (variant === "canary") errors = `(${errors} or vector(0)) + (sum(increase(mlops_canary_fallbacks_total{${m}}${w})) or vector(0))`;
    const p99 = `histogram_quantile(0.99, sum by (le) (increase(mlops_request_duration_seconds_bucket{${m},variant="${variant}"}${w})))`;
    return { requests, errors, p99 };
  }

  private async variant(variant: "stable" | "canary", seconds: number): Promise<VariantNumbers> {
    const q = this.queries(variant, seconds);
    const [requests, errors, p99] = await Promise.all([this.scalar(q.requests), this.scalar(q.errors), this.scalar(q.p99)]);
    const n = requests ?? 0;
    return { requests: n, errors: Math.min(n, errors ?? 0), p99Seconds: p99 };
  }

  /** The first sample of an instant query's vector; undefined when empty or NaN. */
  private async scalar(query: string): Promise<number | undefined> {
    const url = `${this.o.url.replace(/\/+$/, "")}/api/v1/query?query=${encodeURIComponent(query)}`;
    const res = await fetch(url, { signal: AbortSignal.timeout(this.o.timeoutSeconds * 1000) });
    const body = (await res.json().catch(() => ({}))) as QueryAnswer;
    if (!res.ok || body.status !== "success") {
      throw new Error(`Prometheus query failed (HTTP ${res.status}${body.error ? `: ${body.error}` : ""}): ${query}`);
    }
    const first = body.data?.result?.[0]?.value?.[1];
    if (first === undefined) return undefined;
    const v = Number(first);
    return Number.isFinite(v) ? v : undefined;
  }
}
