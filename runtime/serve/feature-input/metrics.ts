/**
 * Serving by entity id in the endpoint's metrics, on the app's own registry (metrics.ts). Labels are the
 * spec's views and the four Feast statuses: a fixed set, whatever the clients send.
 */
import { Counter, Histogram, type Registry } from "prom-client";

/** Feast's FieldStatus names, as the online store's lookup gives them. */
export const STATUSES = ["PRESENT", "NULL_VALUE", "NOT_FOUND", "OUTSIDE_MAX_AGE"] as const;
export type FeatureStatus = (typeof STATUSES)[number];

export interface FeatureLookupMetrics {
  /** Seconds one request's read of the online store took (every view, every entity row). */
  observeLookup(seconds: number): void;
  /** Adds one request's values of `view` by status (indexes of {@link STATUSES}). */
  countValues(view: number, counts: readonly number[]): void;
  /** A read the online store did not answer (the request got 503). */
  countError(): void;
}

/** Declares the metrics on `registry`, with zero-valued series for every view and status. */
export function featureLookupMetrics(registry: Registry, views: readonly string[]): FeatureLookupMetrics {
  const registers = [registry];
  const duration = new Histogram({
    name: "mlops_feature_lookup_duration_seconds",
    help: "Seconds an infer request by entity id spent reading its features from the online store.",
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers,
  });
  const values = new Counter({
    name: "mlops_feature_lookup_values_total",
    help: "Feature values looked up for infer requests by entity id, by view and status: PRESENT, NULL_VALUE (a stored null), NOT_FOUND (nothing stored for the entity), OUTSIDE_MAX_AGE (older than the view's ttl). All but PRESENT were filled or refused (features.missing).",
    labelNames: ["view", "status"],
    registers,
  });
  const errors = new Counter({
    name: "mlops_feature_lookup_errors_total",
    help: "Reads of the online store that failed (the infer request was answered 503).",
    registers,
  });
  errors.inc(0);
  // Children bound once: the hot path does no label hashing.
  const children = views.map((view) => STATUSES.map((status) => {
    const c = values.labels({ view, status });
    c.inc(0);
    return c;
  }));
  return {
    observeLookup: (seconds) => duration.observe(seconds),
    countValues: (view, counts) => {
      const row = children[view]!;
      for (let s = 0; s < counts.length; s++) if (counts[s]! > 0) row[s]!.inc(counts[s]);
    },
    countError: () => errors.inc(),
  };
}
