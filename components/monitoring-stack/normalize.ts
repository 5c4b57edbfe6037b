/** Defaults, cross-field validation and normalization of MonitoringStack (pure: tested without Pulumi). */
import type * as pulumi from "@pulumi/pulumi";
import { problem } from "../../src/errors.js";
import { parseModelRef } from "../../src/spec/model-ref.js";
import { stageTier, type StageTier } from "../shared/stage.js";
import type { MonitoringStackArgs } from "./args.js";
import { chartValuesProblems, DEFAULT_FOLDER_ANNOTATION, KUBE_PROMETHEUS_STACK } from "./chart.js";
import { driftPayloadProblems } from "./drift.js";
import { PUSHGATEWAY_DEFAULTS } from "./pushgateway.js";
import type { EndpointObjectives } from "./slo.js";
import { endpointOf, type MonitoredEndpoint, type SloArgs } from "./targets.js";

/**
 * Every default of MonitoringStack, in one place (the JSDoc in args.ts states the same values). Retention
 * covers the ticket alerts' 3-day window with a day to spare even in dev.
 */
export const MONITORING_STACK_DEFAULTS = {
  chart: KUBE_PROMETHEUS_STACK,
  byTier: {
    dev: { retention: "4d", storageSize: undefined, replicas: 1 },
    staging: { retention: "10d", storageSize: "20Gi", replicas: 1 },
    prod: { retention: "15d", storageSize: "50Gi", replicas: 2 },
  } satisfies Record<StageTier, { retention: string; storageSize: string | undefined; replicas: number }>,
  slo: { availability: 0.999, latency: { thresholdSeconds: 0.25, objective: 0.99 } },
  /** The Service port of ModelEndpoint and FeatureStore that serves /metrics. */
  metricsPortName: "http",
  authSecretKey: "token",
  metricsPath: "/metrics",
  scrapeInterval: "30s",
  gpuIdle: { utilizationPercent: 10, for: "1h" },
  trainingGraceSeconds: 3600,
  pushgateway: { image: PUSHGATEWAY_DEFAULTS.image, cpu: PUSHGATEWAY_DEFAULTS.cpu, memory: PUSHGATEWAY_DEFAULTS.memory },
  drift: { schedule: "0 * * * *", since: "1h", cpu: "1", memory: "2Gi", scratchSize: "10Gi", activeDeadlineSeconds: 3600, backoffLimit: 2 },
  grafana: { folderAnnotation: DEFAULT_FOLDER_ANNOTATION },
} as const;

type Raw = Record<string, any>;
const obj = (v: unknown): Raw => (v !== null && typeof v === "object" ? (v as Raw) : {});
const seconds = (d: string) => {
  const m = /^([0-9]+)(ms|s|m|h|d|w|y)$/.exec(d);
  return m ? Number(m[1]) * ({ ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 } as Record<string, number>)[m[2]!]! : NaN;
};

/** Rules spanning fields, on raw args (tolerant of a bad shape: the schema reports that). */
export function monitoringStackProblems(args: MonitoringStackArgs, prefix = "args"): string[] {
  const a = obj(args);
  const at = (f: string) => (prefix ? `${prefix}.${f}` : f);
  const out: string[] = [];
  const prom = obj(a.prometheus);
  if (prom.chart !== undefined && prom.existing !== undefined) {
    out.push(problem(at("prometheus"), "gives both chart and existing", Object.keys(prom), "Give one: chart installs kube-prometheus-stack, existing uses an operator already in the cluster."));
  }
  const chart = obj(prom.chart);
  if (prom.existing !== undefined && obj(a.grafana).adminPassword !== undefined) {
    out.push(problem(at("grafana.adminPassword"), "applies only to the chart's Grafana: with an existing operator this component installs no Grafana", "(a password)", "Remove it, and set the password in your Grafana."));
  }
  for (const p of chartValuesProblems(chart.values)) out.push(problem(at(`prometheus.chart.values.${p.path}`), p.what, p.value, p.fix));
  if (typeof chart.retention === "string" && seconds(chart.retention) < 3 * 86400) {
    out.push(problem(at("prometheus.chart.retention"), "is shorter than the 3-day window the ticket alerts read", chart.retention, 'Keep at least "4d".'));
  }
  if (typeof chart.version === "string" && chart.version !== KUBE_PROMETHEUS_STACK.version && chart.operatorVersion === undefined) {
    out.push(
      problem(
        at("prometheus.chart.operatorVersion"),
        `is required with a chart version other than ${KUBE_PROMETHEUS_STACK.version}: the CRDs must match the operator the chart ships`,
        undefined,
        "Set it to the chart's appVersion (its Chart.yaml), e.g. \"v0.93.1\".",
      ),
    );
  }
  const endpoints: unknown[] = Array.isArray(a.endpoints) ? a.endpoints : [];
  const seen = new Map<string, number>();
  endpoints.forEach((raw, i) => {
    const e = obj(raw && typeof raw === "object" && "monitoringTarget" in (raw as object) ? (raw as Raw).monitoringTarget : raw);
    if (typeof e.name !== "string") return;
    const first = seen.get(e.name);
    if (first !== undefined) out.push(problem(at(`endpoints[${i}].name`), `repeats endpoints[${first}].name: each endpoint's series are told apart by it`, e.name, "Give each endpoint its own name."));
    else seen.set(e.name, i);
  });
  const drift = a.drift === undefined ? undefined : obj(a.drift);
  if (drift) {
    const watched = endpoints.map((raw) => obj(raw && typeof raw === "object" && "monitoringTarget" in (raw as object) ? (raw as Raw).monitoringTarget : raw)).filter((e) => e.drift !== false);
    if (!watched.some((e) => typeof e.model === "string")) {
      out.push(problem(at("drift"), "has no endpoint to watch: no endpoint names its model", undefined, 'Give endpoints[].model (e.g. "fraud@champion"), or remove drift.'));
    }
    out.push(...driftPayloadProblems(endpoints.map((raw) => obj(raw && typeof raw === "object" && "monitoringTarget" in (raw as object) ? (raw as Raw).monitoringTarget : raw)), at));
    if (drift.retrainCooldown !== undefined && drift.onDrift === undefined) {
      out.push(problem(at("drift.retrainCooldown"), "would go unused: without drift.onDrift no retrain is started", drift.retrainCooldown, "Give drift.onDrift (a TrainingJob with a schedule), or remove drift.retrainCooldown."));
    }
    if (drift.s3?.credentials !== undefined && drift.serviceAccountRoleArn !== undefined) {
      out.push(problem(at("drift.serviceAccountRoleArn"), "would go unused: static S3 credentials win over an IAM role", "(an IAM role)", "Give one of drift.s3.credentials and drift.serviceAccountRoleArn."));
    }
  }
  const receivers = a.receivers === undefined ? undefined : obj(a.receivers);
  if (receivers && Object.keys(receivers).length === 0) {
    out.push(problem(at("receivers"), "names no receiver", {}, "Give slack, pagerduty or email, or remove receivers."));
  }
  if (receivers && prom.existing !== undefined && obj(prom.existing).alertmanagerConfigSecret === undefined) {
    out.push(
      problem(
        at("prometheus.existing.alertmanagerConfigSecret"),
        "is required with receivers on an existing operator: the component writes alertmanager.yaml into that Secret",
        undefined,
        "Name the Secret your Alertmanager reads as its configSecret, or configure receivers in your Alertmanager yourself.",
      ),
    );
  }
  if (obj(receivers?.email).password !== undefined && obj(receivers?.email).username === undefined) {
    out.push(problem(at("receivers.email.username"), "is required with a password", undefined, "Give the SMTP user name, or remove the password."));
  }
  return out;
}

/** An endpoint with every setting resolved. */
export interface NormalizedEndpoint {
  readonly name: string;
  readonly namespace: pulumi.Input<string>;
  readonly serviceName: pulumi.Input<string>;
  readonly metricsPortName: string;
  readonly authSecret?: { readonly name: pulumi.Input<string>; readonly key: string };
  readonly autoscalerName?: pulumi.Input<string>;
  readonly objectives: EndpointObjectives;
  /** The model reference and name the drift job watches; undefined: no drift job. */
  readonly drift?: { readonly ref: string; readonly model: string; readonly payloadUri?: pulumi.Input<string> };
}

export interface NormalizedStack {
  readonly tier: StageTier;
  readonly mode: "chart" | "existing";
  readonly chart?: {
    readonly version: string;
    readonly operatorVersion: string;
    readonly repository: string;
    readonly retention: string;
    readonly storageSize?: string;
    readonly replicas: number;
    readonly nodeExporter: boolean;
  };
  /** Labels stamped on every monitor and rule (an existing operator's selector). */
  readonly selectorLabels: Record<string, string>;
  readonly endpoints: readonly NormalizedEndpoint[];
  readonly gpuIdle?: { readonly utilizationPercent: number; readonly for: string; readonly namespaces: readonly string[] };
  readonly trainingGraceSeconds: number;
  readonly pushgateway: { readonly image: string; readonly resources: { readonly cpu: string; readonly memory: string }; readonly allowFromNamespaces: readonly string[] };
  readonly drift?: {
    readonly schedule: string;
    readonly timeZone?: string;
    readonly since: string;
    readonly retrainCooldown?: string;
    readonly resources: { readonly cpu: string; readonly memory: string; readonly scratchSize: string };
    readonly activeDeadlineSeconds: number;
    readonly backoffLimit: number;
    readonly s3: { readonly endpoint?: string; readonly region?: string; readonly staticCredentials: boolean };
  };
  readonly grafana: { readonly folder: string; readonly folderAnnotation: string };
}

/** An endpoint's objectives: its own `slo` over the stack's over the defaults. */
export function objectivesOf(stack: SloArgs | undefined, own: SloArgs | undefined): EndpointObjectives {
  const d = MONITORING_STACK_DEFAULTS.slo;
  const availability = own?.availability ?? stack?.availability ?? d.availability;
  const latency = own?.latency ?? stack?.latency;
  if (latency === false) return { availability };
  return {
    availability,
    latency: { thresholdSeconds: latency?.thresholdSeconds ?? d.latency.thresholdSeconds, objective: latency?.objective ?? d.latency.objective },
  };
}

function normalizeEndpoint(e: MonitoredEndpoint, args: MonitoringStackArgs): NormalizedEndpoint {
  const D = MONITORING_STACK_DEFAULTS;
  const watch = args.drift !== undefined && e.drift !== false && e.model !== undefined;
  return {
    name: e.name,
    namespace: e.namespace,
    serviceName: e.serviceName,
    metricsPortName: e.metricsPortName ?? D.metricsPortName,
    ...(e.authSecret ? { authSecret: { name: e.authSecret.name, key: e.authSecret.key ?? D.authSecretKey } } : {}),
    ...(e.autoscalerName === false ? {} : { autoscalerName: e.autoscalerName ?? e.serviceName }),
    objectives: objectivesOf(args.slo, e.slo),
    ...(watch ? { drift: { ref: e.model!, model: parseModelRef(e.model!, `endpoints.${e.name}.model`).name, ...(e.payloadUri !== undefined ? { payloadUri: e.payloadUri } : {}) } } : {}),
  };
}

/** Applies defaults to validated args; `stage` (the stack name) picks the sizes. */
export function normalizeMonitoringStack(args: MonitoringStackArgs, stage: string): NormalizedStack {
  const D = MONITORING_STACK_DEFAULTS;
  const tier = stageTier(stage);
  const existing = args.prometheus?.existing;
  const c = args.prometheus?.chart ?? {};
  const byTier = D.byTier[tier];
  const storageSize = c.storageSize === false ? undefined : (c.storageSize ?? byTier.storageSize);
  const gpu = args.alerts?.gpuIdle;
  const p = args.pushgateway ?? {};
  const drift = args.drift;
  return {
    tier,
    mode: existing ? "existing" : "chart",
    ...(existing
      ? {}
      : {
          chart: {
            version: c.version ?? D.chart.version,
            operatorVersion: c.operatorVersion ?? D.chart.operatorVersion,
            repository: c.repository ?? D.chart.repository,
            retention: c.retention ?? byTier.retention,
            ...(storageSize !== undefined ? { storageSize } : {}),
            replicas: c.replicas ?? byTier.replicas,
            nodeExporter: c.nodeExporter ?? true,
          },
        }),
    selectorLabels: { ...(existing?.selectorLabels ?? {}) },
    endpoints: (args.endpoints ?? []).map((e) => normalizeEndpoint(endpointOf(e), args)),
    ...(gpu === false
      ? {}
      : { gpuIdle: { utilizationPercent: gpu?.utilizationPercent ?? D.gpuIdle.utilizationPercent, for: gpu?.for ?? D.gpuIdle.for, namespaces: [...(gpu?.namespaces ?? [])] } }),
    trainingGraceSeconds: args.alerts?.trainingGraceSeconds ?? D.trainingGraceSeconds,
    pushgateway: {
      image: p.image ?? D.pushgateway.image,
      resources: { cpu: p.resources?.cpu ?? D.pushgateway.cpu, memory: p.resources?.memory ?? D.pushgateway.memory },
      allowFromNamespaces: [...(p.allowFrom?.namespaces ?? [])],
    },
    ...(drift
      ? {
          drift: {
            schedule: (drift.schedule ?? D.drift.schedule).trim(),
            ...(drift.timeZone !== undefined ? { timeZone: drift.timeZone } : {}),
            since: drift.since ?? D.drift.since,
            ...(drift.retrainCooldown !== undefined ? { retrainCooldown: drift.retrainCooldown } : {}),
            resources: { cpu: drift.resources?.cpu ?? D.drift.cpu, memory: drift.resources?.memory ?? D.drift.memory, scratchSize: drift.resources?.scratchSize ?? D.drift.scratchSize },
            activeDeadlineSeconds: drift.activeDeadlineSeconds ?? D.drift.activeDeadlineSeconds,
            backoffLimit: D.drift.backoffLimit,
            s3: {
              ...(drift.s3?.endpoint !== undefined ? { endpoint: drift.s3.endpoint } : {}),
              ...(drift.s3?.region !== undefined ? { region: drift.s3.region } : {}),
              staticCredentials: drift.s3?.credentials !== undefined,
            },
          },
        }
      : {}),
    grafana: { folder: args.grafana?.folder ?? `MLOps ${stage}`, folderAnnotation: args.grafana?.folderAnnotation ?? D.grafana.folderAnnotation },
  };
}
