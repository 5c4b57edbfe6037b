/**
 * What is monitored, as structural types any component (or a hand-written object) can satisfy, and the
 * ServiceMonitors that scrape it. A ServiceMonitor finds a Service by its labels: every Service this
 * package creates carries `app.kubernetes.io/instance: <its own name>`, so a Service name is enough. Each
 * scrape stamps the stack (and the endpoint or feature store) as target labels, so the rules select this
 * stack's series only.
 */
import type * as pulumi from "@pulumi/pulumi";
import { dnsLabel, LABEL, physicalName } from "../../src/naming.js";
import { TARGET_LABELS as L } from "./metrics.js";

type Obj = Record<string, any>;

/** The SLOs of an endpoint; every field has a default (see MONITORING_STACK_DEFAULTS.slo). */
export interface SloArgs {
  /** Share of infer requests answered without a 5xx over the SLO period, e.g. 0.999. @default 0.999 */
  readonly availability?: number;
  /**
   * Share of infer requests answered within `thresholdSeconds` (a bucket bound of the runtime's
   * histogram: 0.0005 … 5). `false`: no latency SLO.
   * @default { thresholdSeconds: 0.25, objective: 0.99 }
   */
  readonly latency?: { readonly thresholdSeconds?: number; readonly objective?: number } | false;
}

/**
 * A model endpoint to monitor. A ModelEndpoint is one as it is (its `monitoringTarget`:
 * `{ name: "fraud", model: "fraud@champion", namespace, serviceName, autoscalerName }`, plus `authSecret`
 * with auth on and `metricsPortName: "metrics"` with a `metricsPort`).
 */
export interface MonitoredEndpoint {
  /** The endpoint's logical name (ModelEndpoint's first argument): the `mlops_endpoint` label of its series. */
  readonly name: string;
  readonly namespace: pulumi.Input<string>;
  /** Its Service, labelled `app.kubernetes.io/instance: <serviceName>` (ModelEndpoint's is). */
  readonly serviceName: pulumi.Input<string>;
  /** The Service port that serves `/metrics`. @default "http" */
  readonly metricsPortName?: string;
  /** Where auth is on: the Secret (in the endpoint's namespace) holding the bearer token, sent with each scrape. @default - none */
  readonly authSecret?: { readonly name: pulumi.Input<string>; readonly key?: string };
  /** The model reference it serves (`name@alias`): the drift job's `--model`. @default - no drift job for it */
  readonly model?: string;
  /**
   * Where it writes its payload logs (ModelEndpoint's `logging.uri`): the drift job's `--payload-uri`, read
   * under `<uri>/<model>/<name>/`. @default - none: the drift job has no traffic to compare and fails saying so
   */
  readonly payloadUri?: pulumi.Input<string>;
  /** Its HorizontalPodAutoscaler, for the at-max-replicas alert; `false`: none. @default - the Service's name (ModelEndpoint's HPA) */
  readonly autoscalerName?: pulumi.Input<string> | false;
  /** @default - the stack's `slo` */
  readonly slo?: SloArgs;
  /** Whether a drift job watches it (needs `model` and the stack's `drift`). @default true */
  readonly drift?: boolean;
}

/** An endpoint, or any object exposing one as `monitoringTarget` (what ModelEndpoint should expose). */
export type MonitoredEndpointInput = MonitoredEndpoint | { readonly monitoringTarget: MonitoredEndpoint };

/**
 * A feature server to monitor; a FeatureStore is one (its `serverUrl`, `namespace` and `spec`): freshness
 * is compared with each view's TTL from the spec.
 */
export interface FeatureServerTarget {
  /** `http://<service>.<namespace>.svc:<port>`. */
  readonly serverUrl: pulumi.Input<string>;
  readonly namespace: pulumi.Input<string>;
  /** The store's views, for the freshness alerts (views without a TTL are not alerted on). @default - no freshness alerts */
  readonly spec?: pulumi.Input<{ readonly views: readonly { readonly name: string; readonly ttl?: string }[] }>;
  /** The Service port serving `/metrics` (FeatureStore's is named "http"). @default "http" */
  readonly portName?: string;
}

/** A training job to watch; a TrainingJob is one. */
export interface TrainingJobTarget {
  readonly jobName: pulumi.Input<string>;
  readonly namespace: pulumi.Input<string>;
  readonly kind: pulumi.Input<"Job" | "CronJob">;
}

/**
 * The namespace a MonitoringStack named `name` creates for the chart (where Prometheus runs), when none is
 * given: `${project}-${stage}-${name}-prometheus` (its first part cut to 40 characters, like the stack's
 * other names). Pure, so a ModelEndpoint created before the stack can admit it (its `monitoringNamespace`).
 */
export function prometheusNamespaceName(parts: { readonly project: string; readonly stage: string; readonly name: string }): string {
  return dnsLabel(`${physicalName(parts, 40)}-prometheus`);
}

/** The endpoint behind an input. */
export function endpointOf(e: MonitoredEndpointInput): MonitoredEndpoint {
  return "monitoringTarget" in e ? e.monitoringTarget : e;
}

/** The Service name in a feature server URL (`http://<service>.<namespace>.svc:6566`). */
export function serviceOfUrl(url: string): string {
  const host = /^https?:\/\/([^/:]+)/.exec(url)?.[1];
  if (!host) throw new Error(`not a service URL: ${url}`);
  return host.split(".")[0]!;
}

export interface ServiceMonitorSpec {
  readonly name: string;
  readonly namespace: pulumi.Input<string>;
  readonly labels: Record<string, string>;
  readonly serviceName: pulumi.Input<string>;
  /** undefined: the ServiceMonitor's own namespace. */
  readonly serviceNamespace?: pulumi.Input<string>;
  readonly port: string;
  readonly path: string;
  readonly interval: string;
  /** Target labels stamped on every series. */
  readonly targetLabels: Record<string, pulumi.Input<string>>;
  readonly bearerToken?: { readonly name: pulumi.Input<string>; readonly key: string };
  /** Keep the labels the scraped target reports (the Pushgateway's `job`, `model`, …). */
  readonly honorLabels?: boolean;
}

/** A monitoring.coreos.com/v1 ServiceMonitor scraping `port`/`path` of one Service. */
export function serviceMonitorManifest(s: ServiceMonitorSpec): Obj {
  const relabelings = Object.entries(s.targetLabels).map(([targetLabel, replacement]) => ({ action: "replace", targetLabel, replacement }));
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "ServiceMonitor",
    metadata: { name: s.name, namespace: s.namespace, labels: s.labels },
    spec: {
      selector: { matchLabels: { [LABEL.instance]: s.serviceName } },
      namespaceSelector: { matchNames: [s.serviceNamespace ?? s.namespace] },
      endpoints: [
        {
          port: s.port,
          path: s.path,
          scheme: "http",
          interval: s.interval,
          ...(s.honorLabels ? { honorLabels: true } : {}),
          ...(s.bearerToken ? { authorization: { type: "Bearer", credentials: { name: s.bearerToken.name, key: s.bearerToken.key } } } : {}),
          relabelings,
        },
      ],
    },
  };
}

/** The stack label every target carries. */
export function stackTargetLabels(stack: string, extra: Record<string, pulumi.Input<string>> = {}): Record<string, pulumi.Input<string>> {
  return { [L.stack]: stack, ...extra };
}
