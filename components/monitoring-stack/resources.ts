/**
 * The stack's monitoring objects from what it watches: a ServiceMonitor per endpoint, feature server and
 * the Pushgateway, and the PrometheusRule, whose rules are written once every name and namespace they
 * select is known (some are Outputs of other components).
 */
import * as pulumi from "@pulumi/pulumi";
import { dnsLabel } from "../../src/naming.js";
import { durationSeconds } from "../../src/spec/features.js";
import { TARGET_LABELS as L } from "./metrics.js";
import { MONITORING_STACK_DEFAULTS as D, type NormalizedStack } from "./normalize.js";
import { PUSHGATEWAY_DEFAULTS } from "./pushgateway.js";
import { buildRuleGroups, watchedViews, type RulesInput } from "./rules.js";
import { serviceMonitorManifest, serviceOfUrl, stackTargetLabels, type FeatureServerTarget, type TrainingJobTarget } from "./targets.js";

type Obj = Record<string, any>;

export interface MonitoredTargets {
  readonly stack: NormalizedStack;
  /** The `mlops_stack` label value. */
  readonly stackLabel: string;
  /** Prefix of object names. */
  readonly base: string;
  readonly prometheusNamespace: pulumi.Input<string>;
  readonly pushgateway: { readonly name: string; readonly namespace: pulumi.Input<string> };
  readonly featureStores: readonly FeatureServerTarget[];
}

/** Every ServiceMonitor, with the child name to create it under. */
export function monitorManifests(t: MonitoredTargets, labels: (instance: string, component: string) => Record<string, string>): { child: string; manifest: Obj }[] {
  const common = { path: D.metricsPath, interval: D.scrapeInterval };
  const out: { child: string; manifest: Obj }[] = [];
  const pgMonitor = dnsLabel(`${t.base}-pushgateway`);
  out.push({
    child: "pushgateway-monitor",
    manifest: serviceMonitorManifest({
      ...common,
      name: pgMonitor,
      namespace: t.prometheusNamespace,
      labels: labels(pgMonitor, "service-monitor"),
      serviceName: t.pushgateway.name,
      serviceNamespace: t.pushgateway.namespace,
      port: PUSHGATEWAY_DEFAULTS.portName,
      // The pushed `job`, `model`, … identify the series, not the Pushgateway pod they were scraped from.
      honorLabels: true,
      targetLabels: stackTargetLabels(t.stackLabel),
    }),
  });
  for (const e of t.stack.endpoints) {
    const name = dnsLabel(`${t.base}-${e.name}`);
    out.push({
      child: `monitor-${e.name}`,
      manifest: serviceMonitorManifest({
        ...common,
        name,
        // Beside the Service, so that the bearer token's Secret (read from the monitor's namespace) is found.
        namespace: e.namespace,
        labels: labels(name, "service-monitor"),
        serviceName: e.serviceName,
        port: e.metricsPortName,
        ...(e.authSecret ? { bearerToken: e.authSecret } : {}),
        targetLabels: stackTargetLabels(t.stackLabel, { [L.endpoint]: e.name }),
      }),
    });
  }
  t.featureStores.forEach((f, i) => {
    const service = pulumi.output(f.serverUrl).apply(serviceOfUrl);
    const name = dnsLabel(`${t.base}-features-${i}`);
    out.push({
      child: `monitor-features-${i}`,
      manifest: serviceMonitorManifest({
        ...common,
        name,
        namespace: f.namespace,
        labels: labels(name, "service-monitor"),
        serviceName: service,
        port: f.portName ?? D.metricsPortName,
        targetLabels: stackTargetLabels(t.stackLabel, { [L.featureStore]: service }),
      }),
    });
  });
  return out;
}

/** The rules' input once every Output is known, and the training jobs for the dashboard. */
export type ResolvedRules = RulesInput & { readonly trainingJobs: RulesInput["trainingJobs"] };

/**
 * Resolves what the rules select. Training jobs are deduplicated (an `onDrift` job also listed in
 * `trainingJobs` is watched once); views' TTLs come from each store's spec.
 */
export function resolveRulesInput(
  stack: NormalizedStack,
  stackLabel: string,
  jobs: readonly TrainingJobTarget[],
  stores: readonly FeatureServerTarget[],
  parent: pulumi.Resource,
): pulumi.Output<ResolvedRules> {
  const endpoints = pulumi.all(stack.endpoints.map((e) => pulumi.all([e.namespace, e.autoscalerName]).apply(([namespace, autoscaler]) => ({ e, namespace, autoscaler }))));
  const training = pulumi.all(jobs.map((j) => pulumi.all([j.jobName, j.namespace, j.kind])));
  const views = pulumi.all(stores.map((s) => pulumi.output(s.spec)));
  return pulumi.all([endpoints, training, views]).apply(([eps, tjs, specs]) => {
    const seen = new Set<string>();
    const trainingJobs = tjs.flatMap(([jobName, namespace, kind]) => {
      const key = `${namespace}/${jobName}`;
      if (seen.has(key)) return [];
      seen.add(key);
      return [{ jobName, namespace, kind: kind as "Job" | "CronJob", graceSeconds: stack.trainingGraceSeconds }];
    });
    const allViews = specs.flatMap((spec) =>
      (spec?.views ?? []).map((v) => {
        try {
          return { view: v.name, ttlSeconds: v.ttl === undefined ? undefined : durationSeconds(v.ttl, `views.${v.name}.ttl`) };
        } catch (err) {
          throw new pulumi.ResourceError(`featureStores: ${(err as Error).message}`, parent);
        }
      }),
    );
    return {
      stack: stackLabel,
      endpoints: eps.map(({ e, namespace, autoscaler }) => ({
        name: e.name,
        objectives: e.objectives,
        ...(autoscaler !== undefined ? { autoscaler: { namespace, autoscaler } } : {}),
      })),
      trainingJobs,
      driftModels: stack.endpoints.flatMap((e) => (e.drift ? [e.drift.model] : [])),
      featureViews: watchedViews(allViews),
      ...(stack.gpuIdle ? { gpuIdle: stack.gpuIdle } : {}),
    };
  });
}

/** The PrometheusRule holding every group. */
export function prometheusRuleManifest(name: string, namespace: pulumi.Input<string>, labels: Record<string, string>, input: pulumi.Output<RulesInput>): Obj {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: { name, namespace, labels },
    spec: input.apply((i) => ({ groups: buildRuleGroups(i) })),
  };
}
