/**
 * The reference platform's monitoring: one MonitoringStack (kube-prometheus-stack, pinned) scraping the
 * endpoint, the feature server and the Pushgateway, with the SLO and operational alerts, the dashboards,
 * and an hourly drift job on the endpoint's payloads that starts the training CronJob when the data drifted.
 *
 * The endpoint and the feature server are created before the stack (it takes them), and their
 * NetworkPolicies must already admit its Prometheus: its namespace is known by name beforehand
 * ({@link prometheusNamespace}), the same function the MonitoringStack names it with.
 */
import type * as pulumi from "@pulumi/pulumi";
import { MonitoringStack, type FeatureStore, type ModelEndpoint, type ModelRegistry, type TrainingCluster, type TrainingJob } from "../components/index.js";
import { driftRoleArgs } from "../components/monitoring-stack/drift.js";
import { pushgatewayUrl } from "../components/monitoring-stack/pushgateway.js";
import { prometheusNamespaceName } from "../components/monitoring-stack/targets.js";
import { stackContext, stackPhysicalName } from "../components/shared/stage.js";
import { dnsLabel } from "../src/naming.js";

/** The MonitoringStack's name (ModelEndpoint's default `monitoringNamespace` is this stack's Prometheus's). */
export const MONITORING = "monitoring";

/** Where the stack's Prometheus runs: `${project}-${stage}-monitoring-prometheus`. */
export function prometheusNamespace(): string {
  const { project, stage } = stackContext();
  return prometheusNamespaceName({ project, stage, name: MONITORING });
}

/**
 * The stack's Pushgateway, as the MonitoringStack names it (`<base>-pushgateway` in its own namespace
 * `<base>`): known before the stack exists, so the training job, created first, can push its run metrics.
 */
export function pushgatewayUrlOfStack(): string {
  const base = stackPhysicalName(MONITORING, 40);
  return pushgatewayUrl(dnsLabel(`${base}-pushgateway`), base);
}

export interface MonitoringOptions {
  readonly cluster: TrainingCluster;
  readonly registry: ModelRegistry;
  /** Whether the registry is on S3 (the drift jobs then get an IAM role for it where the cluster issues roles). */
  readonly s3Registry: boolean;
  readonly endpoint: ModelEndpoint;
  /** The model the endpoint serves (`name@alias`). */
  readonly model: string;
  /** Where the endpoint logs its payloads (the drift job reads them). */
  readonly payloadsUri: pulumi.Input<string>;
  readonly features: FeatureStore;
  /** The nightly training job; with a schedule it is what a drift starts. */
  readonly training?: TrainingJob;
  readonly retrainOnDrift: boolean;
  readonly image: pulumi.Input<string>;
  readonly driftSchedule?: string;
}

export function createMonitoring(o: MonitoringOptions): MonitoringStack {
  const role = o.s3Registry ? driftRole(o) : undefined;
  return new MonitoringStack(MONITORING, {
    kubernetes: o.cluster,
    endpoints: [o.endpoint],
    featureStores: [o.features],
    trainingJobs: o.training ? [o.training] : [],
    drift: {
      registry: o.registry,
      ...(o.driftSchedule ? { schedule: o.driftSchedule } : {}),
      // A retrain copies the training CronJob's template: only a training job with a schedule has one.
      ...(o.training && o.retrainOnDrift ? { onDrift: o.training } : {}),
      ...(role ? { serviceAccountRoleArn: role.arn } : {}),
    },
    image: o.image,
  });
}

/**
 * The drift jobs' IAM role (on a cluster that issues ServiceAccount roles), exactly as the MonitoringStack
 * would make it (driftRoleArgs): read the registry and the payload logs, put the model's drift results and
 * reports (`models/<name>/drift/`, `models/<name>/drift-reports/`, contracts.md 2), never delete. Made here
 * only so that a registry off S3 gets none.
 */
function driftRole(o: MonitoringOptions) {
  const base = stackPhysicalName(MONITORING, 40);
  return o.cluster.addServiceAccountRole(
    `${MONITORING}-drift`,
    driftRoleArgs({
      // The MonitoringStack's own namespace and its drift ServiceAccount, both named from `base`.
      namespace: base,
      base,
      registryUri: o.registry.uri,
      registryKmsKeyArn: o.registry.kmsKeyArn,
      watched: [{ ref: o.model, payloadUri: o.payloadsUri }],
    }),
  );
}
