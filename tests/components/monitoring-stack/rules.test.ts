// The PrometheusRule the stack emits, checked by `promtool check rules` and unit-tested alert by alert with
// `promtool test rules` (Debian's prometheus package): each alert fires on the series that should fire it,
// and stays quiet on the ones that should not.
import { beforeAll, describe, expect, test } from "vitest";
import { alertNames } from "../../../components/monitoring-stack/rules.js";
import { reset } from "../../helpers/pulumi-mocks.js";
import { fullArgs, makeStack, promtool, ruleFile, runPromtool, setupStackMocks, writeFiles } from "./helpers.js";

type Mod = typeof import("../../../components/monitoring-stack/index.js");
const S = "mlops-dev-rules";
let rules: { groups: any[] };

beforeAll(async () => {
  if (!promtool()) throw new Error("promtool is missing: apt-get install -y prometheus (Debian's package brings promtool)");
  await setupStackMocks("dev");
  const mod: Mod = await import("../../../components/monitoring-stack/index.js");
  reset();
  await makeStack(mod, "rules", fullArgs());
  rules = ruleFile();
});

type Labels = Record<string, string>;
const sel = (labels: Labels) => `{${Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}}`;
const series = (name: string, labels: Labels, values: string) => ({ series: `${name}${sel(labels)}`, values });
const own = (endpoint: string, extra: Labels = {}) => ({ mlops_stack: S, mlops_endpoint: endpoint, ...extra });
/** Infer responses per minute: `ok` 200s and `errors` 500s, for `minutes`. */
const traffic = (endpoint: string, ok: number, errors: number, minutes: number) => [
  series("mlops_requests_total", own(endpoint, { route: "infer", status: "200", pod: "p1" }), `0+${ok}x${minutes}`),
  series("mlops_requests_total", own(endpoint, { route: "infer", status: "500", pod: "p1" }), `0+${errors}x${minutes}`),
];
const alert = (alertname: string, eval_time: string, exp: Labels[]) => ({ alertname, eval_time, exp_alerts: exp.map((exp_labels) => ({ exp_labels })) });
const warning = (labels: Labels) => ({ severity: "warning", mlops_stack: S, ...labels });

/** One promtool test case per scenario: the series, and what each alert should be at a time. */
const CASES: Record<string, { input_series: ReturnType<typeof series>[]; alert_rule_test: ReturnType<typeof alert>[] }> = {
  "fast availability burn (2% errors): fraud (99.9%) pages and tickets, churn (99%) only tickets": {
    input_series: [...traffic("fraud", 980, 20, 60), ...traffic("churn", 980, 20, 60)],
    alert_rule_test: [
      alert("MlopsAvailabilityBudgetBurn", "30m", [
        { severity: "page", mlops_stack: S, mlops_endpoint: "fraud" },
        { severity: "ticket", mlops_stack: S, mlops_endpoint: "fraud" },
        { severity: "ticket", mlops_stack: S, mlops_endpoint: "churn" },
      ]),
    ],
  },
  "a slower burn (0.8% errors, under the 1h/5m pair's 1.44%) pages through the 6h/30m pair at 6×": {
    input_series: traffic("fraud", 992, 8, 90),
    alert_rule_test: [
      alert("MlopsAvailabilityBudgetBurn", "60m", [
        { severity: "page", mlops_stack: S, mlops_endpoint: "fraud" },
        { severity: "ticket", mlops_stack: S, mlops_endpoint: "fraud" },
      ]),
    ],
  },
  "errors within the budget (0.05%) alert nobody": {
    input_series: traffic("fraud", 9995, 5, 60),
    alert_rule_test: [alert("MlopsAvailabilityBudgetBurn", "50m", [])],
  },
  "20% of requests slower than 0.25s burns fraud's latency budget (99% within 0.25s)": {
    input_series: [
      series("mlops_request_duration_seconds_bucket", own("fraud", { le: "0.25", pod: "p1" }), "0+80x60"),
      series("mlops_request_duration_seconds_count", own("fraud", { pod: "p1" }), "0+100x60"),
    ],
    alert_rule_test: [
      alert("MlopsLatencyBudgetBurn", "30m", [
        { severity: "page", mlops_stack: S, mlops_endpoint: "fraud" },
        { severity: "ticket", mlops_stack: S, mlops_endpoint: "fraud" },
      ]),
    ],
  },
  "0.5% slow requests stay within the latency budget": {
    input_series: [
      series("mlops_request_duration_seconds_bucket", own("fraud", { le: "0.25", pod: "p1" }), "0+995x60"),
      series("mlops_request_duration_seconds_count", own("fraud", { pod: "p1" }), "0+1000x60"),
    ],
    alert_rule_test: [alert("MlopsLatencyBudgetBurn", "50m", [])],
  },
  "a pod up for 10 minutes without a served version is not ready; one serving is": {
    input_series: [
      series("up", own("fraud", { namespace: "mlops-dev-fraud", pod: "p1", job: "mlops-dev-fraud" }), "1x30"),
      series("up", own("fraud", { namespace: "mlops-dev-fraud", pod: "p2", job: "mlops-dev-fraud" }), "1x30"),
      series("mlops_model_info", own("fraud", { namespace: "mlops-dev-fraud", pod: "p2", model: "fraud", version: "3", digest: "sha256:ab" }), "1x30"),
    ],
    alert_rule_test: [
      alert("MlopsModelNotReady", "5m", []),
      alert("MlopsModelNotReady", "15m", [warning({ mlops_endpoint: "fraud", namespace: "mlops-dev-fraud", pod: "p1", job: "mlops-dev-fraud" })]),
    ],
  },
  "a failed load alerts at once, a counter still at 0 does not": {
    input_series: [
      series("mlops_model_load_failures_total", own("fraud", { model: "fraud", reason: "not_found", pod: "p1" }), "0 0 0 1 1 1 1 1 1 1"),
      series("mlops_model_load_failures_total", own("fraud", { model: "fraud", reason: "access_denied", pod: "p1" }), "0x9"),
    ],
    alert_rule_test: [
      alert("MlopsModelLoadFailures", "2m", []),
      alert("MlopsModelLoadFailures", "5m", [warning({ mlops_endpoint: "fraud", model: "fraud", reason: "not_found" })]),
    ],
  },
  "an autoscaler at its maximum for 15 minutes alerts; one below it does not": {
    input_series: [
      series("kube_horizontalpodautoscaler_status_current_replicas", { namespace: "mlops-dev-fraud", horizontalpodautoscaler: "mlops-dev-fraud", job: "kube-state-metrics" }, "4x30"),
      series("kube_horizontalpodautoscaler_spec_max_replicas", { namespace: "mlops-dev-fraud", horizontalpodautoscaler: "mlops-dev-fraud", job: "kube-state-metrics" }, "4x30"),
      series("kube_horizontalpodautoscaler_status_current_replicas", { namespace: "mlops-dev-churn", horizontalpodautoscaler: "mlops-dev-churn", job: "kube-state-metrics" }, "3x30"),
      series("kube_horizontalpodautoscaler_spec_max_replicas", { namespace: "mlops-dev-churn", horizontalpodautoscaler: "mlops-dev-churn", job: "kube-state-metrics" }, "4x30"),
    ],
    alert_rule_test: [
      alert("MlopsEndpointAtMaxReplicas", "10m", []),
      alert("MlopsEndpointAtMaxReplicas", "20m", [warning({ mlops_endpoint: "fraud", namespace: "mlops-dev-fraud", horizontalpodautoscaler: "mlops-dev-fraud" })]),
    ],
  },
  "failed runs of the training CronJob alert (scheduled and manual ones), another job's do not": {
    input_series: [
      series("kube_job_failed", { namespace: "mlops-dev-ml", job_name: "nightly-29000000", condition: "true" }, "1x5"),
      series("kube_job_owner", { namespace: "mlops-dev-ml", job_name: "nightly-29000000", owner_kind: "CronJob", owner_name: "nightly", owner_is_controller: "true" }, "1x5"),
      series("kube_job_failed", { namespace: "mlops-dev-ml", job_name: "nightly-manual-x7k2p", condition: "true" }, "1x5"),
      series("kube_job_failed", { namespace: "mlops-dev-ml", job_name: "other-29000000", condition: "true" }, "1x5"),
      series("kube_job_owner", { namespace: "mlops-dev-ml", job_name: "other-29000000", owner_kind: "CronJob", owner_name: "other", owner_is_controller: "true" }, "1x5"),
      series("kube_job_failed", { namespace: "mlops-dev-ml", job_name: "nightly-28999000", condition: "false" }, "1x5"),
    ],
    alert_rule_test: [
      alert("MlopsTrainingJobFailed", "1m", [
        warning({ training_job: "nightly", namespace: "mlops-dev-ml", job_name: "nightly-29000000" }),
        warning({ training_job: "nightly", namespace: "mlops-dev-ml", job_name: "nightly-manual-x7k2p" }),
      ]),
    ],
  },
  "an hourly CronJob without a success for more than its period plus the grace alerts; a suspended one does not": {
    input_series: [
      ...["nightly", "paused"].flatMap((cronjob) => [
        series("kube_cronjob_status_last_successful_time", { namespace: "mlops-dev-ml", cronjob }, "0x200"),
        series("kube_cronjob_status_last_schedule_time", { namespace: "mlops-dev-ml", cronjob }, "0x200"),
        series("kube_cronjob_next_schedule_time", { namespace: "mlops-dev-ml", cronjob }, "3600x200"),
      ]),
      series("kube_cronjob_spec_suspend", { namespace: "mlops-dev-ml", cronjob: "nightly" }, "0x200"),
      series("kube_cronjob_spec_suspend", { namespace: "mlops-dev-ml", cronjob: "paused" }, "1x200"),
    ],
    alert_rule_test: [
      alert("MlopsTrainingJobMissedSchedule", "110m", []),
      alert("MlopsTrainingJobMissedSchedule", "125m", [warning({ training_job: "nightly", namespace: "mlops-dev-ml", cronjob: "nightly" })]),
    ],
  },
  "a CronJob that never succeeded counts from its creation": {
    input_series: [
      series("kube_cronjob_created", { namespace: "mlops-dev-ml", cronjob: "nightly" }, "0x200"),
      series("kube_cronjob_status_last_schedule_time", { namespace: "mlops-dev-ml", cronjob: "nightly" }, "0x200"),
      series("kube_cronjob_next_schedule_time", { namespace: "mlops-dev-ml", cronjob: "nightly" }, "3600x200"),
    ],
    alert_rule_test: [alert("MlopsTrainingJobMissedSchedule", "125m", [warning({ training_job: "nightly", namespace: "mlops-dev-ml", cronjob: "nightly" })])],
  },
  "dataset drift pushed for a watched model alerts; no drift does not": {
    input_series: [
      series("mlops_drift_dataset_drift", { mlops_stack: S, job: "mlops_drift", model: "fraud" }, "1x5"),
      series("mlops_drift_dataset_drift", { mlops_stack: S, job: "mlops_drift", model: "churn" }, "0x5"),
    ],
    alert_rule_test: [alert("MlopsDatasetDrift", "1m", [warning({ model: "fraud" })])],
  },
  "a view older than its TTL (3d) for 10 minutes alerts; a fresh one and a view without TTL do not": {
    input_series: [
      series("mlops_feature_freshness_seconds", { mlops_stack: S, mlops_feature_store: "mlops-dev-features-server", view: "txn_stats", pod: "f1" }, "300000x30"),
      series("mlops_feature_freshness_seconds", { mlops_stack: S, mlops_feature_store: "mlops-dev-features-server", view: "no_ttl", pod: "f1" }, "900000x30"),
    ],
    alert_rule_test: [alert("MlopsFeatureStale", "5m", []), alert("MlopsFeatureStale", "15m", [warning({ view: "txn_stats" })])],
  },
  "GPUs held by a pod at 3% for an hour alert; busy GPUs and unallocated ones do not": {
    input_series: [
      series("DCGM_FI_DEV_GPU_UTIL", { gpu: "0", UUID: "GPU-a", namespace: "mlops-dev-ml", pod: "train-0", container: "trainer" }, "3x80"),
      series("DCGM_FI_DEV_GPU_UTIL", { gpu: "1", UUID: "GPU-b", namespace: "mlops-dev-ml", pod: "train-0", container: "trainer" }, "3x80"),
      series("DCGM_FI_DEV_GPU_UTIL", { gpu: "2", UUID: "GPU-c", namespace: "mlops-dev-fraud", pod: "serve-0", container: "server" }, "60x80"),
      series("DCGM_FI_DEV_GPU_UTIL", { gpu: "3", UUID: "GPU-d", namespace: "", pod: "", container: "" }, "0x80"),
    ],
    alert_rule_test: [alert("MlopsGpuIdle", "50m", []), alert("MlopsGpuIdle", "70m", [warning({ namespace: "mlops-dev-ml", pod: "train-0" })])],
  },
};

/** The rules without annotations: promtool compares annotations too, and their wording is not what these cases test. */
function withoutAnnotations(file: { groups: any[] }) {
  return { groups: file.groups.map((g) => ({ ...g, rules: g.rules.map(({ annotations: _a, ...r }: Record<string, unknown>) => r) })) };
}

describe("the stack's PrometheusRule", () => {
  test("passes promtool check rules exactly as emitted", () => {
    const dir = writeFiles({ "rules.yaml": rules });
    const r = runPromtool(dir, ["check", "rules", "rules.yaml"]);
    expect(r.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.status).toBe(0);
  });

  test("has a promtool test for every alert it defines", () => {
    const tested = new Set(Object.values(CASES).flatMap((c) => c.alert_rule_test.map((t) => t.alertname)));
    expect(alertNames(rules.groups)).toEqual([...tested].sort());
  });

  for (const [title, c] of Object.entries(CASES)) {
    test(`promtool test rules: ${title}`, () => {
      const dir = writeFiles({ "rules.yaml": withoutAnnotations(rules), "test.yaml": { rule_files: ["rules.yaml"], evaluation_interval: "1m", tests: [{ interval: "1m", ...c }] } });
      const r = runPromtool(dir, ["test", "rules", "test.yaml"]);
      expect(r.output).toContain("SUCCESS");
      expect(r.status).toBe(0);
    });
  }

  test("promtool test rules: the recorded error ratio is 2% at 2% errors, and 0 (not missing) with no 5xx at all", () => {
    const recorded = (endpoint: string) => `mlops_endpoint:mlops_requests_errors:ratio_rate5m{mlops_stack="${S}",mlops_endpoint="${endpoint}"}`;
    const test = {
      interval: "1m",
      input_series: [...traffic("fraud", 980, 20, 30), series("mlops_requests_total", own("churn", { route: "infer", status: "200", pod: "p1" }), "0+500x30")],
      promql_expr_test: [
        { expr: recorded("fraud"), eval_time: "20m", exp_samples: [{ labels: recorded("fraud"), value: 0.02 }] },
        { expr: recorded("churn"), eval_time: "20m", exp_samples: [{ labels: recorded("churn"), value: 0 }] },
      ],
    };
    const dir = writeFiles({ "rules.yaml": rules, "test.yaml": { rule_files: ["rules.yaml"], evaluation_interval: "1m", tests: [test] } });
    const r = runPromtool(dir, ["test", "rules", "test.yaml"]);
    expect(r.output).toContain("SUCCESS");
  });

  test("promtool test rules: a shadow's errors and a canary's replayed failures burn no error budget; stable's do", () => {
    const recorded = `mlops_endpoint:mlops_requests_errors:ratio_rate5m{mlops_stack="${S}",mlops_endpoint="fraud"}`;
    const v = (variant: string, status: string, perMinute: number) =>
      series("mlops_requests_total", own("fraud", { route: "infer", status, pod: "p1", variant }), `0+${perMinute}x60`);
    const test = {
      interval: "1m",
      input_series: [v("stable", "200", 960), v("stable", "500", 40), v("shadow", "500", 500), v("canary", "500", 100), v("canary", "200", 0)],
      promql_expr_test: [{ expr: recorded, eval_time: "30m", exp_samples: [{ labels: recorded, value: 0.04 }] }],
      alert_rule_test: [
        alert("MlopsAvailabilityBudgetBurn", "30m", [
          { severity: "page", mlops_stack: S, mlops_endpoint: "fraud" },
          { severity: "ticket", mlops_stack: S, mlops_endpoint: "fraud" },
        ]),
      ],
    };
    const quiet = { ...test, input_series: [v("stable", "200", 1000), v("shadow", "500", 500), v("canary", "500", 100)], promql_expr_test: [], alert_rule_test: [alert("MlopsAvailabilityBudgetBurn", "30m", [])] };
    const dir = writeFiles({ "rules.yaml": withoutAnnotations(rules), "test.yaml": { rule_files: ["rules.yaml"], evaluation_interval: "1m", tests: [test, quiet] } });
    const r = runPromtool(dir, ["test", "rules", "test.yaml"]);
    expect(r.output).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  test("promtool test rules: the alerts' annotations render (templates and values)", () => {
    const test = {
      interval: "1m",
      input_series: traffic("fraud", 980, 20, 60),
      alert_rule_test: [
        {
          alertname: "MlopsAvailabilityBudgetBurn",
          eval_time: "30m",
          exp_alerts: ["page", "ticket"].map((severity) => ({
            exp_labels: { severity, mlops_stack: S, mlops_endpoint: "fraud" },
            exp_annotations: {
              summary: `Endpoint fraud is spending its error budget too fast (${severity}).`,
              description: `The share of 5xx answers (objective 99.9% available) burns the error budget at ${severity === "page" ? "14.4× over 1h and 5m, or 6× over 6h and 30m" : "1× over 3d and 6h"}. Current long-window ratio: 2%.`,
            },
          })),
        },
      ],
    };
    const dir = writeFiles({ "rules.yaml": rules, "test.yaml": { rule_files: ["rules.yaml"], evaluation_interval: "1m", tests: [test] } });
    expect(runPromtool(dir, ["test", "rules", "test.yaml"]).output).toContain("SUCCESS");
  });
});
