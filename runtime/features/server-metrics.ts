import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { collectStandardMetrics } from "../serve/default-metrics.js";
import type { StatusCounts } from "./online/lookup.js";

/**
 * The feature server's metrics, on a registry of its own (runtime/serve/metrics.ts does the same for
 * model serving). Labels stay low-cardinality: the route (a fixed set), the HTTP status, the view and
 * the value status (FieldStatus names); never an entity key or anything else a client chose.
 */
export interface FeatureServerMetrics {
  readonly registry: Registry;
  /** Requests by route and HTTP status code. */
  readonly requests: Counter<"route" | "status">;
  /** Request duration, body read to response written, by route. */
  readonly duration: Histogram<"route">;
  /** Feature values answered, by view and status (PRESENT, NULL_VALUE, NOT_FOUND, OUTSIDE_MAX_AGE). */
  readonly values: Counter<"view" | "status">;
  /** Rows pushed, by view and whether the store took them (`written`) or held newer (`skipped`). */
  readonly pushedRows: Counter<"view" | "result">;
  /** `/get-online-features` lookups (request parsed, store read, answer built), seconds. */
  readonly lookupDuration: Histogram;
  /** Counts one lookup's statuses for a view, and the newest event time (µs) it found, NaN for none. */
  observe(view: string, counts: StatusCounts, newestMicros: number): void;
  /** Notes the newest event time (µs) of rows pushed to a view. */
  pushed(view: string, newestMicros: number): void;
}

/**
 * Buckets of `mlops_feature_lookup_duration_seconds`, the same as `mlops serve`'s histogram of that name
 * (runtime/serve/feature-input/metrics.ts), so the dashboard's quantile over both jobs sums like buckets.
 */
export const LOOKUP_BUCKETS_SECONDS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/** Routes, as label values. */
export const ROUTES = ["/get-online-features", "/push", "/write-to-online-store", "/health", "/metrics", "other"] as const;
const STATUS_NAMES = ["PRESENT", "NULL_VALUE", "NOT_FOUND", "OUTSIDE_MAX_AGE"] as const;

/**
 * Two ages per online view, computed at scrape time:
 *
 * - `mlops_feature_freshness_seconds`: now less the newest event time this server has seen for the view,
 *   in the values its lookups found in the store (present or past their TTL) and in the rows pushed to
 *   it. Every such time is that of a value the store holds or held, and the store never replaces a value
 *   with an older one, so the newest stored value is at least as new: the gauge is never younger than the
 *   truth, and exact once the newest entity has been read or pushed. Absent until the view has been seen
 *   (a fresh process, or a view no one reads). It is what the stale-feature alert compares with the TTL:
 *   when materialization stops, the values served age and so does the gauge.
 * - `mlops_feature_watermark_age_seconds`: now less the end of the view's last materialization window,
 *   which `watermarks` gives (ms since the epoch); absent for a view never materialized.
 */
export function createFeatureMetrics(views: readonly string[], watermarks: () => Promise<Map<string, number>>, now: () => number = Date.now): FeatureServerMetrics {
  const registry = new Registry();
  // process_* and nodejs_* unprefixed, without the `_total` gauges promtool refuses (runtime/serve/default-metrics.ts).
  collectStandardMetrics(registry);
  const registers = [registry];
  const values = new Counter({
    name: "mlops_feature_values_total",
    help: "Feature values answered by the feature server, by view and status (PRESENT, NULL_VALUE, NOT_FOUND, OUTSIDE_MAX_AGE).",
    labelNames: ["view", "status"],
    registers,
  });
  // Label children resolved once per view: counting a lookup then costs four additions, no label hashing.
  const children = new Map(views.map((v) => [v, STATUS_NAMES.map((s) => values.labels({ view: v, status: s }))]));
  // Newest event time seen per view, µs; NaN until one is seen.
  const newest = new Map(views.map((v) => [v, NaN]));
  const see = (view: string, micros: number) => {
    const before = newest.get(view);
    if (before !== undefined && !Number.isNaN(micros) && !(micros <= before)) newest.set(view, micros);
  };
  new Gauge({
    name: "mlops_feature_freshness_seconds",
    help: "Seconds since the event time of the newest value of each online view this server has seen (read from the store in lookups, or pushed).",
    labelNames: ["view"],
    registers,
    collect() {
      this.reset();
      const nowMicros = now() * 1000;
      for (const [view, t] of newest) if (!Number.isNaN(t)) this.set({ view }, Math.max(0, (nowMicros - t) / 1e6));
    },
  });
  new Gauge({
    name: "mlops_feature_watermark_age_seconds",
    help: "Seconds since the end of the last materialization window of each online view (its watermark).",
    labelNames: ["view"],
    registers,
    async collect() {
      this.reset();
      const at = now();
      for (const [view, end] of await watermarks().catch(() => new Map<string, number>())) this.set({ view }, Math.max(0, (at - end) / 1000));
    },
  });
  return {
    registry,
    requests: new Counter({
      name: "mlops_feature_requests_total",
      help: "Feature server requests by route and HTTP status code.",
      labelNames: ["route", "status"],
      registers,
    }),
    duration: new Histogram({
      name: "mlops_feature_request_duration_seconds",
      help: "Feature server request duration in seconds, from the request read to the response written.",
      labelNames: ["route"],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    values,
    lookupDuration: new Histogram({
      name: "mlops_feature_lookup_duration_seconds",
      help: "Seconds a POST /get-online-features lookup took: the request parsed, the online store read, the answer built.",
      buckets: [...LOOKUP_BUCKETS_SECONDS],
      registers,
    }),
    pushedRows: new Counter({
      name: "mlops_feature_pushed_rows_total",
      help: "Rows written through /push and /write-to-online-store, by view and result (written, or skipped because the store held a newer value).",
      labelNames: ["view", "result"],
      registers,
    }),
    observe(view: string, counts: StatusCounts, newestMicros: number) {
      const c = children.get(view);
      if (!c) return;
      for (let i = 0; i < 4; i++) if (counts[i]! > 0) c[i]!.inc(counts[i]!);
      see(view, newestMicros);
    },
    pushed: see,
  };
}
