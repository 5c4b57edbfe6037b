/**
 * Grafana dashboards as code, built with @grafana/grafana-foundation-sdk (pinned: pre-1.0): one per
 * endpoint (traffic, errors, latency, batching, queue, served version, SLO burn), and one each for
 * training, features and drift. Every panel reads a `datasource` variable (the chart's Prometheus by
 * default), and the endpoint panels read the same recorded series the alerts do. Shipped as ConfigMaps the
 * Grafana sidecar loads (label `grafana_dashboard: "1"`, the folder in the sidecar's folder annotation).
 */
import { createHash } from "node:crypto";
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import { DashboardBuilder, DatasourceVariableBuilder, RowBuilder } from "@grafana/grafana-foundation-sdk/dashboard";
import { DataqueryBuilder } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as TimeseriesBuilder } from "@grafana/grafana-foundation-sdk/timeseries";
import * as pulumi from "@pulumi/pulumi";
import { DRIFT_METRICS, FEATURE_METRICS, KSM_METRICS as K, RECORDED, SERVE_METRICS, TARGET_LABELS as L, TRAIN_METRICS } from "./metrics.js";
import { anyOf, selector } from "./promql.js";

/** Every panel and query reads this data source variable. */
export const DATASOURCE = { type: "prometheus", uid: "${datasource}" } as const;

/** The sidecar's label and value (kube-prometheus-stack's `grafana.sidecar.dashboards.label`/`labelValue`). */
export const DASHBOARD_LABEL = { key: "grafana_dashboard", value: "1" } as const;

/** A Grafana dashboard uid: at most 40 characters, shortened with a hash of the full id when longer. */
export function dashboardUid(id: string): string {
  if (id.length <= 40) return id;
  return `${id.slice(0, 31)}-${createHash("sha256").update(id).digest("hex").slice(0, 8)}`;
}

interface PanelSpec {
  readonly title: string;
  readonly unit: string;
  readonly queries: readonly { readonly expr: string; readonly legend: string }[];
  readonly description?: string;
  readonly min?: number;
  readonly max?: number;
}

/** Lays panels out two per row, numbering rows and panels with ids unique in the dashboard. */
class Layout {
  private id = 0;
  private y = 0;
  private x = 0;

  constructor(private readonly builder: DashboardBuilder) {}

  row(title: string): this {
    if (this.x !== 0) this.y += 8;
    this.x = 0;
    this.builder.withRow(new RowBuilder(title).id(++this.id).gridPos({ x: 0, y: this.y, w: 24, h: 1 }));
    this.y += 1;
    return this;
  }

  panel(p: PanelSpec): this {
    const panel = new TimeseriesBuilder()
      .id(++this.id)
      .title(p.title)
      .unit(p.unit)
      .datasource(DATASOURCE)
      .gridPos({ x: this.x, y: this.y, w: 12, h: 8 });
    if (p.description) panel.description(p.description);
    if (p.min !== undefined) panel.min(p.min);
    if (p.max !== undefined) panel.max(p.max);
    p.queries.forEach((q, i) => panel.withTarget(new DataqueryBuilder().refId(String.fromCharCode(65 + i)).datasource(DATASOURCE).expr(q.expr).legendFormat(q.legend)));
    this.builder.withPanel(panel);
    if (this.x === 0) this.x = 12;
    else {
      this.x = 0;
      this.y += 8;
    }
    return this;
  }
}

function dashboard(uid: string, title: string, tags: readonly string[], fill: (l: Layout) => void): Dashboard {
  const b = new DashboardBuilder(title)
    .uid(dashboardUid(uid))
    .tags(["mlops", ...tags])
    .editable()
    .refresh("30s")
    .time({ from: "now-6h", to: "now" })
    .timezone("browser")
    .withVariable(new DatasourceVariableBuilder("datasource").label("Data source").type("prometheus"));
  fill(new Layout(b));
  return b.build();
}

export interface ServingDashboardInput {
  readonly stack: string;
  readonly endpoint: string;
  /** The latency objective's threshold, shown beside the quantiles. */
  readonly latencyThresholdSeconds?: number;
}

/** One endpoint: traffic, errors, latency from the recorded series; batching, queue and served version from the pods. */
export function servingDashboard(i: ServingDashboardInput): Dashboard {
  const own = selector({ [L.stack]: i.stack, [L.endpoint]: i.endpoint });
  const sum = (expr: string, by: string) => `sum by (${by}) (${expr})`;
  const q = (expr: string, legend: string) => ({ expr, legend });
  return dashboard(`${i.stack}-${i.endpoint}`, `${i.endpoint} · serving (${i.stack})`, ["serving", i.endpoint], (l) => {
    l.row("Traffic and errors")
      .panel({ title: "Requests per second", unit: "reqps", min: 0, queries: [q(`${RECORDED.requestRate}${own}`, "infer"), q(sum(`rate(${SERVE_METRICS.requests}${own}[5m])`, "route, status"), "{{route}} {{status}}")] })
      .panel({ title: "Error ratio (5xx)", unit: "percentunit", min: 0, queries: [q(`${RECORDED.errorRatio("5m")}${own}`, "5m"), q(`${RECORDED.errorRatio("1h")}${own}`, "1h")] });
    l.row("Latency")
      .panel({
        title: "Latency p50 / p99",
        unit: "s",
        min: 0,
        queries: [q(`${RECORDED.latencyP50}${own}`, "p50"), q(`${RECORDED.latencyP99}${own}`, "p99")],
        ...(i.latencyThresholdSeconds !== undefined ? { description: `Latency objective threshold: ${i.latencyThresholdSeconds}s.` } : {}),
      })
      .panel({ title: "Requests slower than the objective", unit: "percentunit", min: 0, queries: [q(`${RECORDED.slowRatio("5m")}${own}`, "5m"), q(`${RECORDED.slowRatio("1h")}${own}`, "1h")] });
    l.row("Batching and queue")
      .panel({
        title: "Batch size p50 / p99",
        unit: "short",
        min: 0,
        queries: [0.5, 0.99].map((p) => q(`histogram_quantile(${p}, ${sum(`rate(${SERVE_METRICS.batchSize}_bucket${own}[5m])`, "le")})`, `p${p * 100}`)),
      })
      .panel({ title: "Queue depth", unit: "short", min: 0, queries: [q(sum(`${SERVE_METRICS.queueDepth}${own}`, "pod"), "{{pod}}")] });
    l.row("Model")
      .panel({ title: "Served version (pods serving it)", unit: "short", min: 0, queries: [q(sum(`${SERVE_METRICS.info}${own}`, "model, version"), "{{model}} v{{version}}")] })
      .panel({ title: "Load failures (15m)", unit: "short", min: 0, queries: [q(sum(`increase(${SERVE_METRICS.loadFailures}${own}[15m])`, "reason"), "{{reason}}")] });
  });
}

/** Training runs from kube-state-metrics (outcomes, durations) and the gate results `mlops train` pushes. */
export function trainingDashboard(stack: string, jobs: readonly { readonly namespace: string; readonly jobName: string }[]): Dashboard {
  const namespaces = anyOf([...new Set(jobs.map((j) => j.namespace))]);
  const names = anyOf(jobs.map((j) => j.jobName));
  const runs = selector({ namespace: { re: namespaces }, job_name: { re: `(${names})(-.+)?` } });
  return dashboard(`${stack}-training`, `Training (${stack})`, ["training"], (l) => {
    l.row("Runs")
      .panel({ title: "Succeeded runs", unit: "short", min: 0, queries: [{ expr: `sum by (job_name) (${K.jobSucceeded}${runs})`, legend: "{{job_name}}" }] })
      .panel({ title: "Failed runs", unit: "short", min: 0, queries: [{ expr: `sum by (job_name) (${K.jobFailed}${selector({ namespace: { re: namespaces }, job_name: { re: `(${names})(-.+)?` }, condition: "true" })})`, legend: "{{job_name}}" }] });
    l.row("Durations and gate")
      .panel({ title: "Run duration", unit: "s", min: 0, queries: [{ expr: `max by (job_name) (${K.jobCompletion}${runs} - ${K.jobStart}${runs})`, legend: "{{job_name}}" }] })
      .panel({
        title: "Gate result (1 passed, 0 failed) and holdout metric",
        unit: "short",
        queries: [
          { expr: `max by (model) (${TRAIN_METRICS.gatePassed}${selector({ [L.stack]: stack })})`, legend: "{{model}} gate" },
          { expr: `max by (model, metric) (${TRAIN_METRICS.holdoutMetric}${selector({ [L.stack]: stack })})`, legend: "{{model}} {{metric}}" },
        ],
      });
  });
}

/** Feature freshness per view (against the TTLs) and online lookup latency. */
export function featuresDashboard(stack: string): Dashboard {
  const own = selector({ [L.stack]: stack });
  return dashboard(`${stack}-features`, `Features (${stack})`, ["features"], (l) => {
    l.row("Freshness and lookups")
      .panel({ title: "Feature freshness (age of the newest row)", unit: "s", min: 0, queries: [{ expr: `max by (view) (${FEATURE_METRICS.freshness}${own})`, legend: "{{view}}" }] })
      .panel({
        title: "Online lookup latency p50 / p99",
        unit: "s",
        min: 0,
        queries: [0.5, 0.99].map((p) => ({ expr: `histogram_quantile(${p}, sum by (le) (rate(${FEATURE_METRICS.lookupDuration}_bucket${own}[5m])))`, legend: `p${p * 100}` })),
      });
  });
}

/** Drift per model: the dataset verdict and share, and each column's score against its threshold over time. */
export function driftDashboard(stack: string): Dashboard {
  const own = selector({ [L.stack]: stack });
  return dashboard(`${stack}-drift`, `Drift (${stack})`, ["drift"], (l) => {
    l.row("Dataset")
      .panel({ title: "Dataset drift (1 drifted)", unit: "short", min: 0, max: 1, queries: [{ expr: `max by (model) (${DRIFT_METRICS.datasetDrift}${own})`, legend: "{{model}}" }] })
      .panel({ title: "Share of drifted columns", unit: "percentunit", min: 0, max: 1, queries: [{ expr: `max by (model) (${DRIFT_METRICS.shareDrifted}${own})`, legend: "{{model}}" }] });
    l.row("Columns")
      .panel({ title: "Column drift scores", unit: "short", queries: [{ expr: `max by (model, column, test) (${DRIFT_METRICS.columnStatistic}${own})`, legend: "{{model}} {{column}} ({{test}})" }] })
      .panel({ title: "Drifted columns (1 drifted)", unit: "short", min: 0, max: 1, queries: [{ expr: `max by (model, column) (${DRIFT_METRICS.columnDrift}${own})`, legend: "{{model}} {{column}}" }] });
  });
}

/** A ConfigMap the Grafana sidecar loads into `folder`. */
export function dashboardConfigMap(name: string, namespace: pulumi.Input<string>, labels: Record<string, string>, folder: { annotation: string; name: string }, d: pulumi.Input<Dashboard>) {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace, labels: { ...labels, [DASHBOARD_LABEL.key]: DASHBOARD_LABEL.value }, annotations: { [folder.annotation]: folder.name } },
    data: pulumi.output(d).apply((x) => ({ [`${x.uid}.json`]: JSON.stringify(x) })),
  };
}
