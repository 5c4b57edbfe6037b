/**
 * The metric names and labels the rules and dashboards read: what the runtime exports (`mlops serve`'s
 * /metrics, `mlops drift`'s pushes), what kube-state-metrics and DCGM export, and the target labels this
 * package stamps on every series it scrapes. Components never import the runtime, so the runtime's names are
 * written here once; tests/components/monitoring-stack/metrics-contract.test.ts checks them against the
 * runtime's own registries, so a renamed metric fails a test instead of silently emptying a dashboard.
 */

/**
 * Target labels this package adds to every series it scrapes (ServiceMonitor relabelings), so that rules
 * select exactly one stack's endpoints whatever else the Prometheus scrapes, and two stacks on one
 * Prometheus never record the same series.
 */
export const TARGET_LABELS = {
  /** The stack's physical name (`${project}-${stage}-${name}` of the MonitoringStack). */
  stack: "mlops_stack",
  /** A monitored endpoint's logical name (as given to ModelEndpoint). */
  endpoint: "mlops_endpoint",
  /** A feature server's name. */
  featureStore: "mlops_feature_store",
} as const;

/** `mlops serve` (runtime/serve/metrics.ts). */
export const SERVE_METRICS = {
  /** Counter; labels model, version, route (a fixed set), status (the HTTP code). */
  requests: "mlops_requests_total",
  /** Histogram of infer request durations; labels model, version. */
  duration: "mlops_request_duration_seconds",
  /** Histogram of rows per onnxruntime call; labels model, version. */
  batchSize: "mlops_batch_size",
  /** Gauge: infer requests waiting for the batcher. */
  queueDepth: "mlops_queue_depth",
  /** Gauge, 1 for the version being served; labels model, version, digest. Absent while nothing is loaded. */
  info: "mlops_model_info",
  /** Counter of failed loads; labels model, reason (initialized to 0 for every reason). */
  loadFailures: "mlops_model_load_failures_total",
  /** Gauge: seconds the last load of a version took; labels model, version. */
  loadDuration: "mlops_model_load_duration_seconds",
} as const;

/** The route label value of inference requests, the only route the SLOs count. */
export const INFER_ROUTE = "infer";

/**
 * Upper bounds of `mlops_request_duration_seconds`' buckets (the runtime's, in order). A latency objective's
 * threshold must be one of them: the share of requests under it is then read exactly from one bucket.
 */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** `mlops drift` pushes these to the Pushgateway (runtime/drift/push.ts), grouped by `model` when run with `--model`. */
export const DRIFT_METRICS = {
  /** Gauge, 1 when the share of drifted columns reached the dataset threshold. */
  datasetDrift: "mlops_drift_dataset_drift",
  shareDrifted: "mlops_drift_share_drifted",
  /** Gauge per column; labels column, test. */
  columnStatistic: "mlops_drift_column_statistic",
  columnThreshold: "mlops_drift_column_threshold",
  /** Gauge per column, 1 when it drifted; label column. */
  columnDrift: "mlops_drift_column_drift",
  lastRun: "mlops_drift_last_run_timestamp_seconds",
} as const;

/**
 * What the feature server exports (runtime/features/server-metrics.ts): the age of the newest event time it
 * has seen per view, and the online lookup latency.
 */
export const FEATURE_METRICS = {
  /** Gauge; label view. */
  freshness: "mlops_feature_freshness_seconds",
  /** Histogram of `/get-online-features` durations. */
  lookupDuration: "mlops_feature_lookup_duration_seconds",
} as const;

/** What `mlops train` pushes at the end of a run (job `mlops_train`, grouped by model; runtime/train/push.ts). */
export const TRAIN_METRICS = {
  /** Gauge, 1 when the last run's gate passed (a version was registered), 0 when it failed. */
  gatePassed: "mlops_train_gate_passed",
  /** Gauge: the holdout metric the gate compared; labels model, metric. */
  holdoutMetric: "mlops_train_holdout_metric",
} as const;

/** kube-state-metrics (labels: namespace and the object's name label). */
export const KSM_METRICS = {
  hpaCurrentReplicas: "kube_horizontalpodautoscaler_status_current_replicas",
  hpaMaxReplicas: "kube_horizontalpodautoscaler_spec_max_replicas",
  jobFailed: "kube_job_failed",
  jobSucceeded: "kube_job_status_succeeded",
  jobOwner: "kube_job_owner",
  jobStart: "kube_job_status_start_time",
  jobCompletion: "kube_job_status_completion_time",
  cronJobLastSuccess: "kube_cronjob_status_last_successful_time",
  cronJobLastSchedule: "kube_cronjob_status_last_schedule_time",
  cronJobNextSchedule: "kube_cronjob_next_schedule_time",
  cronJobCreated: "kube_cronjob_created",
  cronJobSuspended: "kube_cronjob_spec_suspend",
} as const;

/** NVIDIA DCGM exporter: GPU utilization in percent, labelled with the pod the GPU is allocated to. */
export const DCGM_GPU_UTIL = "DCGM_FI_DEV_GPU_UTIL";

/** The windows of the multi-window, multi-burn-rate alerts (Google SRE workbook, "Alerting on SLOs", table 5-8). */
export const BURN_RATE_WINDOWS = ["5m", "30m", "1h", "6h", "3d"] as const;
export type BurnWindow = (typeof BURN_RATE_WINDOWS)[number];

/**
 * Each alerting condition: the error budget burnt `burnRate` times faster than the SLO period allows, over
 * the long window and (so the alert resets soon after the burn stops) over the short one. For a 30-day
 * period, 14.4× over 1h spends 2% of the budget, 6× over 6h 5%: both page; 1× over 3 days (10%) files a ticket.
 */
export const BURN_RATE_ALERTS = [
  { severity: "page", long: "1h", short: "5m", burnRate: 14.4 },
  { severity: "page", long: "6h", short: "30m", burnRate: 6 },
  { severity: "ticket", long: "3d", short: "6h", burnRate: 1 },
] as const satisfies readonly { severity: string; long: BurnWindow; short: BurnWindow; burnRate: number }[];

/** Names of the recorded series (`level:metric:operations`), shared by alerts and dashboards. */
export const RECORDED = {
  /** Infer requests per second, 5m rate. */
  requestRate: "mlops_endpoint:mlops_requests:rate5m",
  /** Share of infer requests answered 5xx over a window. */
  errorRatio: (w: BurnWindow) => `mlops_endpoint:mlops_requests_errors:ratio_rate${w}`,
  /** Share of infer requests slower than the endpoint's latency threshold over a window. */
  slowRatio: (w: BurnWindow) => `mlops_endpoint:mlops_requests_slow:ratio_rate${w}`,
  /** Latency quantiles over 5m. */
  latencyP50: "mlops_endpoint:mlops_request_duration_seconds:p50_rate5m",
  latencyP99: "mlops_endpoint:mlops_request_duration_seconds:p99_rate5m",
} as const;
