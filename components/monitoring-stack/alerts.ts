/**
 * The operational alerts: a model that is not served or fails to load, an autoscaler pinned at its
 * maximum, a training run that failed or has not succeeded within its schedule, dataset drift, features
 * older than their view's TTL, and GPUs reserved but idle. Pure: plain values in, rule objects out.
 */
import { DCGM_GPU_UTIL, DRIFT_METRICS, FEATURE_METRICS, KSM_METRICS as K, SERVE_METRICS, TARGET_LABELS as L } from "./metrics.js";
import { anyOf, num, selector } from "./promql.js";
import type { Rule } from "./slo.js";

/** An endpoint's HorizontalPodAutoscaler, as kube-state-metrics names it. */
export interface AutoscaledEndpoint {
  readonly name: string;
  readonly namespace: string;
  readonly autoscaler: string;
}

/** A training job to watch (TrainingJob's `jobName`, `namespace` and `kind`). */
export interface WatchedTrainingJob {
  /** The name alerts carry (`training_job` label): the Job or CronJob name. */
  readonly jobName: string;
  readonly namespace: string;
  readonly kind: "Job" | "CronJob";
  /** Beyond one schedule period, how long a CronJob may go without a successful run. */
  readonly graceSeconds: number;
}

/** A feature view whose freshness is watched against its TTL. */
export interface WatchedView {
  readonly view: string;
  readonly ttlSeconds: number;
}

export interface GpuIdleAlert {
  /** Average utilization (percent) under which a reserved GPU counts as idle. */
  readonly utilizationPercent: number;
  /** How long it must stay under it (a Prometheus duration). */
  readonly for: string;
  /** Only pods in these namespaces; empty: every GPU the DCGM exporter reports. */
  readonly namespaces: readonly string[];
}

const stackLabels = (stack: string, extra: Record<string, string> = {}) => ({ [L.stack]: stack, ...extra });

/** A pod scraped and up whose runtime serves no version, and load failures. */
export function modelAlerts(stack: string): Rule[] {
  const ownTargets = selector({ [L.stack]: stack, [L.endpoint]: { re: ".+" } });
  return [
    {
      alert: "MlopsModelNotReady",
      expr: `(up${ownTargets} == 1) unless on (namespace, pod) (${SERVE_METRICS.info}${ownTargets} == 1)`,
      for: "10m",
      labels: { severity: "warning", ...stackLabels(stack) },
      annotations: {
        summary: "Endpoint {{ $labels.mlops_endpoint }} has a pod that serves no model.",
        description:
          "Pod {{ $labels.namespace }}/{{ $labels.pod }} has answered scrapes for 10 minutes without serving a model version: the model or its alias is not in the registry (a fresh stage), or every load failed (see MlopsModelLoadFailures).",
      },
    },
    {
      alert: "MlopsModelLoadFailures",
      expr: `sum by (${L.stack}, ${L.endpoint}, model, reason) (increase(${SERVE_METRICS.loadFailures}${ownTargets}[15m])) > 0`,
      labels: { severity: "warning", ...stackLabels(stack) },
      annotations: {
        summary: "Endpoint {{ $labels.mlops_endpoint }} failed to load model {{ $labels.model }} ({{ $labels.reason }}).",
        description: "{{ $value }} failed loads in the last 15 minutes, reason {{ $labels.reason }} (not_found, access_denied, unreachable, corrupt_artifact, error). The pods keep serving the version they had, if any.",
      },
    },
  ];
}

/** The endpoint's autoscaler has been at its maximum for 15 minutes: it cannot add capacity any more. */
export function autoscalerAlert(stack: string, e: AutoscaledEndpoint): Rule {
  const sel = selector({ namespace: e.namespace, horizontalpodautoscaler: e.autoscaler });
  return {
    alert: "MlopsEndpointAtMaxReplicas",
    expr: `max by (namespace, horizontalpodautoscaler) (${K.hpaCurrentReplicas}${sel}) >= on (namespace, horizontalpodautoscaler) max by (namespace, horizontalpodautoscaler) (${K.hpaMaxReplicas}${sel})`,
    for: "15m",
    labels: { severity: "warning", ...stackLabels(stack, { [L.endpoint]: e.name }) },
    annotations: {
      summary: `Endpoint ${e.name} has run at its maximum replicas for 15 minutes.`,
      description: `The autoscaler {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} is at its maximum ({{ $value }} replicas): raise replicas.max or the pods' resources, or latency will grow with traffic.`,
    },
  };
}

/**
 * A run of the job failed. CronJob runs are found by their owner (kube-state-metrics' `kube_job_owner`),
 * manual runs (`kubectl create job --from=cronjob/…`, the drift job's retrains: owned by the CronJob as well)
 * likewise, and runs of TrainingJob's `manualJobManifest` by their `<name>-manual-` prefix.
 */
export function trainingFailedAlert(stack: string, j: WatchedTrainingJob): Rule {
  const failed = (extra: Record<string, string | { re: string }>) => `(${K.jobFailed}${selector({ condition: "true", namespace: j.namespace, ...extra })} == 1)`;
  const expr =
    j.kind === "CronJob"
      ? `max by (namespace, job_name) (${failed({})} and on (namespace, job_name) ${K.jobOwner}${selector({ namespace: j.namespace, owner_kind: "CronJob", owner_name: j.jobName })})` +
        ` or max by (namespace, job_name) ${failed({ job_name: { re: `${anyOf([j.jobName])}-manual-.+` } })}`
      : `max by (namespace, job_name) ${failed({ job_name: j.jobName })}`;
  return {
    alert: "MlopsTrainingJobFailed",
    expr,
    labels: { severity: "warning", ...stackLabels(stack, { training_job: j.jobName }) },
    annotations: {
      summary: `A run of training job ${j.jobName} failed.`,
      description: "Job {{ $labels.namespace }}/{{ $labels.job_name }} failed (its pods' logs say why). The alert clears when the failed Job is deleted or expires.",
    },
  };
}

/**
 * No successful run for longer than one schedule period plus a grace: the period is read from
 * kube-state-metrics (next scheduled time minus the last one), the last success falls back to the CronJob's
 * creation before its first success. A suspended CronJob is not expected to run.
 */
export function trainingMissedScheduleAlert(stack: string, j: WatchedTrainingJob): Rule | undefined {
  if (j.kind !== "CronJob") return undefined;
  const sel = selector({ namespace: j.namespace, cronjob: j.jobName });
  const by = "max by (namespace, cronjob)";
  const lastSuccess = `${by} (${K.cronJobLastSuccess}${sel} or ${K.cronJobCreated}${sel})`;
  const period = `${by} (${K.cronJobNextSchedule}${sel} - ${K.cronJobLastSchedule}${sel})`;
  return {
    alert: "MlopsTrainingJobMissedSchedule",
    expr: `((time() - ${lastSuccess}) > on (namespace, cronjob) (${period} + ${num(j.graceSeconds)})) unless on (namespace, cronjob) (${K.cronJobSuspended}${sel} == 1)`,
    labels: { severity: "warning", ...stackLabels(stack, { training_job: j.jobName }) },
    annotations: {
      summary: `Training job ${j.jobName} has not succeeded within its schedule.`,
      description: `No run of CronJob {{ $labels.namespace }}/{{ $labels.cronjob }} succeeded for more than one schedule period plus ${num(j.graceSeconds)}s ({{ $value | humanizeDuration }} since the last success): runs fail, hang, or cannot be scheduled (GPU capacity, quota).`,
    },
  };
}

/** The last drift run of a model found dataset drift (pushed by `mlops drift --model`). */
export function driftAlert(stack: string, model: string): Rule {
  return {
    alert: "MlopsDatasetDrift",
    expr: `max by (model) (${DRIFT_METRICS.datasetDrift}${selector(stackLabels(stack, { model }))}) == 1`,
    labels: { severity: "warning", ...stackLabels(stack, { model }) },
    annotations: {
      summary: `Model ${model}: the last drift run found dataset drift.`,
      description: "At least half of the tested columns drifted from the model's reference. See the drift dashboard for the columns, and the drift job's report.html for the histograms.",
    },
  };
}

/** Features older than their view's TTL are no longer served as present: materialization is behind. */
export function featureFreshnessAlert(stack: string, v: WatchedView): Rule {
  return {
    alert: "MlopsFeatureStale",
    expr: `max by (view) (${FEATURE_METRICS.freshness}${selector(stackLabels(stack, { view: v.view }))}) > ${num(v.ttlSeconds)}`,
    for: "10m",
    labels: { severity: "warning", ...stackLabels(stack, { view: v.view }) },
    annotations: {
      summary: `Feature view ${v.view} is older than its TTL (${num(v.ttlSeconds)}s).`,
      description: "The newest materialized row of {{ $labels.view }} is {{ $value | humanizeDuration }} old: online reads return it as outside its max age. Check the materialization CronJob.",
    },
  };
}

/** GPUs allocated to a pod whose average utilization stays under the threshold. */
export function gpuIdleAlert(stack: string, g: GpuIdleAlert): Rule {
  const sel = selector({ pod: { not: "" }, ...(g.namespaces.length > 0 ? { namespace: { re: anyOf(g.namespaces) } } : {}) });
  return {
    alert: "MlopsGpuIdle",
    expr: `avg by (namespace, pod) (${DCGM_GPU_UTIL}${sel}) < ${num(g.utilizationPercent)}`,
    for: g.for,
    labels: { severity: "warning", ...stackLabels(stack) },
    annotations: {
      summary: "Pod {{ $labels.namespace }}/{{ $labels.pod }} holds GPUs it does not use.",
      description: `Its GPUs averaged {{ $value }}% utilization for ${g.for} (under ${num(g.utilizationPercent)}%): the reservation blocks other work. Scale it down, or give it fewer GPUs.`,
    },
  };
}
