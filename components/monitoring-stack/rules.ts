/**
 * The stack's PrometheusRule: every recording rule and alert, in groups by concern, from one plain
 * description of what is monitored. Pure, so tests write it to a file for `promtool check rules` and
 * `promtool test rules` exactly as the component emits it.
 */
import {
  autoscalerAlert,
  driftAlert,
  featureFreshnessAlert,
  gpuIdleAlert,
  modelAlerts,
  trainingFailedAlert,
  trainingMissedScheduleAlert,
  type AutoscaledEndpoint,
  type GpuIdleAlert,
  type WatchedTrainingJob,
  type WatchedView,
} from "./alerts.js";
import { latencyRecordingRules, servingRecordingRules, sloAlerts, type Rule, type RuleGroup, type SloEndpoint } from "./slo.js";

export type { Rule, RuleGroup } from "./slo.js";

/** Everything the rules are written for, resolved to plain values. */
export interface RulesInput {
  /** The `mlops_stack` label value: the MonitoringStack's physical name. */
  readonly stack: string;
  readonly endpoints: readonly (SloEndpoint & { readonly autoscaler?: Omit<AutoscaledEndpoint, "name"> })[];
  readonly trainingJobs: readonly WatchedTrainingJob[];
  /** Model names a drift job pushes results for. */
  readonly driftModels: readonly string[];
  readonly featureViews: readonly WatchedView[];
  /** undefined: no GPU idle alert. */
  readonly gpuIdle?: GpuIdleAlert;
}

/** The rule groups, recording rules first; a group with no rules is left out (Prometheus rejects none). */
export function buildRuleGroups(input: RulesInput): RuleGroup[] {
  const s = input.stack;
  const endpoints = [...input.endpoints].sort((a, b) => a.name.localeCompare(b.name));
  const groups: RuleGroup[] = [
    { name: `${s}.serving.recording`, rules: endpoints.length > 0 ? [...servingRecordingRules(s), ...endpoints.flatMap((e) => latencyRecordingRules(s, e))] : [] },
    { name: `${s}.serving.slo`, rules: endpoints.flatMap((e) => sloAlerts(s, e)) },
    {
      name: `${s}.serving.health`,
      rules: [
        ...(endpoints.length > 0 ? modelAlerts(s) : []),
        ...endpoints.flatMap((e) => (e.autoscaler ? [autoscalerAlert(s, { name: e.name, ...e.autoscaler })] : [])),
      ],
    },
    {
      name: `${s}.training`,
      rules: input.trainingJobs.flatMap((j) => {
        const missed = trainingMissedScheduleAlert(s, j);
        return [trainingFailedAlert(s, j), ...(missed ? [missed] : [])];
      }),
    },
    {
      name: `${s}.data`,
      rules: [...[...new Set(input.driftModels)].sort().map((m) => driftAlert(s, m)), ...input.featureViews.map((v) => featureFreshnessAlert(s, v))],
    },
    { name: `${s}.gpu`, rules: input.gpuIdle ? [gpuIdleAlert(s, input.gpuIdle)] : [] },
  ];
  return groups.filter((g) => g.rules.length > 0);
}

/** The alerts of the groups (not the recording rules), for tests and documentation. */
export function alertNames(groups: readonly RuleGroup[]): string[] {
  return [...new Set(groups.flatMap((g) => g.rules.flatMap((r: Rule) => ("alert" in r ? [r.alert] : []))))].sort();
}

/** Views with a TTL, each once (the smallest TTL when two stores share a view name). */
export function watchedViews(views: readonly { readonly view: string; readonly ttlSeconds: number | undefined }[]): WatchedView[] {
  const byName = new Map<string, number>();
  for (const v of views) {
    if (v.ttlSeconds === undefined || v.ttlSeconds <= 0) continue;
    byName.set(v.view, Math.min(byName.get(v.view) ?? Infinity, v.ttlSeconds));
  }
  return [...byName].sort(([a], [b]) => a.localeCompare(b)).map(([view, ttlSeconds]) => ({ view, ttlSeconds }));
}
