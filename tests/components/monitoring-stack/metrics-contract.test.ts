// The metric names the rules and dashboards read (components/monitoring-stack/metrics.ts) against the runtime's
// own registries: a renamed metric or label fails here instead of silently emptying a dashboard or an alert.
import { beforeAll, describe, expect, test } from "vitest";
import {
  DRIFT_METRICS,
  FEATURE_METRICS,
  INFER_ROUTE,
  LATENCY_BUCKETS_SECONDS,
  SERVE_METRICS,
  TRAIN_METRICS,
} from "../../../components/monitoring-stack/metrics.js";
import { driftRegistry } from "../../../runtime/drift/push.js";
import { trainRegistry } from "../../../runtime/train/push.js";
import { createFeatureMetrics } from "../../../runtime/features/server-metrics.js";
import { createMetrics, ROUTES } from "../../../runtime/serve/metrics.js";
import { k8sObjectsOfKind, reset } from "../../helpers/pulumi-mocks.js";
import { fullArgs, makeStack, ruleFile, setupStackMocks } from "./helpers.js";

type Mod = typeof import("../../../components/monitoring-stack/index.js");
let exprs: string[];

beforeAll(async () => {
  await setupStackMocks("dev");
  const mod: Mod = await import("../../../components/monitoring-stack/index.js");
  reset();
  await makeStack(mod, "contract", fullArgs());
  const dashboards = k8sObjectsOfKind("ConfigMap").flatMap((m) => Object.values(m.data as Record<string, string>).map((j) => JSON.parse(j)));
  exprs = [
    ...ruleFile().groups.flatMap((g) => g.rules.map((r: any) => r.expr as string)),
    ...dashboards.flatMap((d) => d.panels.flatMap((p: any) => (p.targets ?? []).map((t: any) => t.expr as string))),
  ];
});

/** Metric names (not recorded series, not labels) a PromQL expression reads. */
const metricNames = (expr: string) => [...expr.matchAll(/(?<![:\w"])(mlops_[a-z0-9_]+)(?=[{[])/g)].map((m) => m[1]!.replace(/_(bucket|count|sum)$/, ""));

const serve = createMetrics();
const features = createFeatureMetrics(["txn_stats"], async () => new Map());
const train = trainRegistry({ gatePassed: true, holdout: { auc: 0.9, accuracy: 0.8 } });
const drift = driftRegistry({ dataset_drift: true, share_drifted: 1, columns: { a: { test: "ks", statistic: 0.4, p_value: 0.01, threshold: 0.05, drift: true, type: "numerical" } as any } }, 0);

describe("the metrics the rules and dashboards read", () => {
  test("mlops serve exports every serving metric with the labels the rules use", async () => {
    const json = await serve.registry.getMetricsAsJSON();
    const byName = new Map(json.map((m) => [m.name, m]));
    for (const name of Object.values(SERVE_METRICS)) expect([name, byName.has(name)]).toEqual([name, true]);
    const labelsOf = (metric: unknown): string[] => (metric as { labelNames?: string[] } | undefined)?.labelNames ?? [];
    expect(labelsOf(serve.registry.getSingleMetric(SERVE_METRICS.requests))).toEqual(expect.arrayContaining(["model", "version", "route", "status"]));
    expect(labelsOf(serve.registry.getSingleMetric(SERVE_METRICS.loadFailures))).toEqual(expect.arrayContaining(["model", "reason"]));
    expect(ROUTES).toContain(INFER_ROUTE);
  });

  test("the latency buckets are the runtime histogram's, so an objective's threshold is read from one bucket", () => {
    expect((serve.registry.getSingleMetric(SERVE_METRICS.duration) as unknown as { upperBounds: number[] }).upperBounds).toEqual(LATENCY_BUCKETS_SECONDS);
  });

  test("mlops drift pushes every drift metric the rules and dashboards read, with column and test labels", async () => {
    const names = new Set((await drift.getMetricsAsJSON()).map((m) => m.name));
    for (const name of Object.values(DRIFT_METRICS)) expect([name, names.has(name)]).toEqual([name, true]);
    expect((drift.getSingleMetric(DRIFT_METRICS.columnStatistic) as any).labelNames).toEqual(["column", "test"]);
  });

  test("mlops train pushes the gate verdict and each holdout metric, labelled by metric", async () => {
    const names = new Set((await train.getMetricsAsJSON()).map((m) => m.name));
    for (const name of Object.values(TRAIN_METRICS)) expect([name, names.has(name)]).toEqual([name, true]);
    expect((train.getSingleMetric(TRAIN_METRICS.holdoutMetric) as any).labelNames).toEqual(["metric"]);
  });

  test("the feature server exports the freshness gauge by view and the lookup histogram", async () => {
    const names = new Set((await features.registry.getMetricsAsJSON()).map((m) => m.name));
    for (const name of Object.values(FEATURE_METRICS)) expect([name, names.has(name)]).toEqual([name, true]);
    expect((features.registry.getSingleMetric(FEATURE_METRICS.freshness) as any).labelNames).toEqual(["view"]);
  });

  test("every mlops_ metric an expression reads is exported by the runtime, or is one of those named ahead of it", async () => {
    const exported = new Set([...(await serve.registry.getMetricsAsJSON()), ...(await drift.getMetricsAsJSON()), ...(await train.getMetricsAsJSON()), ...(await features.registry.getMetricsAsJSON())].map((m) => m.name));
    const read = new Set(exprs.flatMap(metricNames));
    expect(read.size).toBeGreaterThan(8);
    const ahead = [...read].filter((n) => !exported.has(n)).sort();
    expect(ahead).toEqual([]);
  });
});
