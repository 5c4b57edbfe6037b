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
  /** Counts one lookup's statuses for a view. */
  observe(view: string, counts: StatusCounts): void;
}

/** Routes, as label values. */
export const ROUTES = ["/get-online-features", "/push", "/write-to-online-store", "/health", "/metrics", "other"] as const;
const STATUS_NAMES = ["PRESENT", "NULL_VALUE", "NOT_FOUND", "OUTSIDE_MAX_AGE"] as const;

/**
 * `freshness` is asked, at scrape time, for each online view's last materialization end (ms since the
 * epoch); the gauge is `now - end` in seconds, absent for a view never materialized.
 */
export function createFeatureMetrics(views: readonly string[], freshness: () => Promise<Map<string, number>>): FeatureServerMetrics {
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
  new Gauge({
    name: "mlops_feature_freshness_seconds",
    help: "Seconds since the end of the last materialization window of each online view (its watermark).",
    labelNames: ["view"],
    registers,
    async collect() {
      this.reset();
      const now = Date.now();
      for (const [view, end] of await freshness().catch(() => new Map<string, number>())) this.set({ view }, Math.max(0, (now - end) / 1000));
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
    pushedRows: new Counter({
      name: "mlops_feature_pushed_rows_total",
      help: "Rows written through /push and /write-to-online-store, by view and result (written, or skipped because the store held a newer value).",
      labelNames: ["view", "result"],
      registers,
    }),
    observe(view: string, counts: StatusCounts) {
      const c = children.get(view);
      if (!c) return;
      for (let i = 0; i < 4; i++) if (counts[i]! > 0) c[i]!.inc(counts[i]!);
    },
  };
}
