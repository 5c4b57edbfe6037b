/**
 * prom-client's default process and Node.js metrics, under their standard names (`process_*`, `nodejs_*`,
 * no prefix), so the usual Node.js dashboards and alerts read them as they are; only this project's own
 * metrics carry `mlops_`. Used by every runtime process that serves `/metrics` (mlops serve, the feature
 * server).
 *
 * Three of prom-client's gauges end in `_total`, which `promtool check metrics` refuses for anything but a
 * counter ("non-counter metrics should not have "_total" suffix"), and Prometheus' naming rules reserve
 * for counters. Each of them is the sum of a gauge that stays, by handle, request or resource type
 * (`sum(nodejs_active_handles)` is what `nodejs_active_handles_total` said), so they are dropped rather
 * than renamed: no name is invented that no dashboard knows.
 */
import { collectDefaultMetrics, type Registry } from "prom-client";

/** The default gauges whose names end in `_total`, removed after registration. */
export const TOTAL_NAMED_GAUGES = ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"] as const;

/** Registers the default process and Node.js metrics on `registry`, unprefixed, without the `_total` gauges. */
export function collectStandardMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of TOTAL_NAMED_GAUGES) registry.removeSingleMetric(name);
}
