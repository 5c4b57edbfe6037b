import type * as docker from "@pulumi/docker";
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { KubernetesTarget } from "../shared/kubernetes.js";
import type { S3AccessArgs } from "../shared/s3-access.js";
import type { Transform } from "../shared/transform.js";
import type { ModelRegistry } from "../model-registry/index.js";
import type { ReceiversArgs } from "./alertmanager.js";
import type { FeatureServerTarget, MonitoredEndpointInput, SloArgs, TrainingJobTarget } from "./targets.js";

export type { ReceiversArgs } from "./alertmanager.js";
export type { FeatureServerTarget, MonitoredEndpoint, MonitoredEndpointInput, SloArgs, TrainingJobTarget } from "./targets.js";

/** kube-prometheus-stack, installed by this component (pinned). */
export interface KubePrometheusStackArgs {
  /** The chart version. Change it together with `operatorVersion` (the chart's `appVersion`). @default "88.5.3" */
  readonly version?: string;
  /** The Prometheus Operator release whose CRDs are applied. @default "v0.93.1" (what chart 88.5.3 ships) */
  readonly operatorVersion?: string;
  /** @default "https://prometheus-community.github.io/helm-charts" */
  readonly repository?: string;
  /**
   * The chart's namespace. Its node-exporter needs the host's network and PID namespaces, so a namespace the
   * component creates enforces Pod Security "privileged" (and warns at "baseline"); nothing of this package's
   * own runs there. Given, it must exist and admit those pods. Endpoints' NetworkPolicies must admit it (the
   * `prometheusNamespace` output) for the scrapes to pass.
   * @default - a new namespace `${project}-${stage}-${name}-prometheus`
   */
  readonly namespace?: string;
  /** How long Prometheus keeps samples (the ticket alerts read 3 days). @default - by stage: dev "4d", staging "10d", prod "15d" */
  readonly retention?: string;
  /** Prometheus's volume size; `false`: none (an emptyDir). @default - by stage: dev none, staging "20Gi", prod "50Gi" */
  readonly storageSize?: string | false;
  /** @default - by stage: 1, prod 2 */
  readonly replicas?: number;
  /** The node-exporter DaemonSet (node CPU, memory and disk). @default true */
  readonly nodeExporter?: boolean;
  /**
   * More chart values, deep-merged over the component's. Values that would let a monitor or rule go
   * unselected (a `…SelectorNilUsesHelmValues: true`, a non-empty selector, `crds.enabled`) are refused.
   * @default {}
   */
  readonly values?: Record<string, unknown>;
}

/** A Prometheus Operator already in the cluster (another stack's MonitoringStack, or your own). No chart, no CRDs. */
export interface ExistingPrometheusArgs {
  /** Where the rules, dashboards and the Pushgateway's ServiceMonitor go (a namespace the operator watches). */
  readonly namespace: string;
  /**
   * Labels stamped on every ServiceMonitor and PrometheusRule, for a Prometheus whose selectors require them
   * (a kube-prometheus-stack left at its defaults selects `release: <its release name>`).
   * @default {}
   */
  readonly selectorLabels?: Record<string, string>;
  /**
   * The Secret (in `namespace`) your Alertmanager reads as its `configSecret`, written with `receivers`.
   * Required with `receivers`.
   */
  readonly alertmanagerConfigSecret?: string;
}

/** Where Prometheus comes from: exactly one of `chart` (the default) and `existing`. */
export interface PrometheusArgs {
  readonly chart?: KubePrometheusStackArgs;
  readonly existing?: ExistingPrometheusArgs;
}

export interface AlertsArgs {
  /**
   * GPUs allocated to a pod whose utilization (DCGM) stays under `utilizationPercent` for `for`; `false`: no alert.
   * @default { utilizationPercent: 10, for: "1h", namespaces: [] } (every GPU the DCGM exporter reports)
   */
  readonly gpuIdle?: { readonly utilizationPercent?: number; readonly for?: string; readonly namespaces?: readonly string[] } | false;
  /** A training CronJob alerts when no run succeeded for one schedule period plus this. @default 3600 */
  readonly trainingGraceSeconds?: number;
}

export interface PushgatewayArgs {
  /** @default "docker.io/prom/pushgateway:v1.11.3@sha256:74fa117cef2d7e383112d25139ff1c2d2e309c35389a9e0554a47136a1482e48" (the multi-arch index, pinned by digest so the policy pack's prod rule passes) */
  readonly image?: string;
  /** @default { cpu: "100m", memory: "128Mi" } */
  readonly resources?: { readonly cpu?: string; readonly memory?: string };
  /**
   * More namespaces whose pods may push (training jobs', feature stores' and Prometheus's are always allowed).
   * @default { namespaces: [] }
   */
  readonly allowFrom?: { readonly namespaces: readonly string[] };
}

/** A drift job per monitored endpoint that names its `model`. */
export interface DriftArgs {
  /** The registry that resolves `--model name@alias` (and holds each version's reference profile). */
  readonly registry: ModelRegistry | string;
  /** @default "0 * * * *" (hourly) */
  readonly schedule?: string;
  /** IANA time zone of `schedule`. @default - the controller's (UTC on EKS) */
  readonly timeZone?: string;
  /** How much of the payload log each run compares (`--since`). @default "1h" */
  readonly since?: string;
  /**
   * A training job to start when the dataset drifted (a TrainingJob with a `schedule`: its CronJob is the
   * template). The drift jobs get RBAC for exactly that: `get` this CronJob, `list` and `create` Jobs in its
   * namespace. None is started while a Job of that CronJob runs, nor within `retrainCooldown` of the last one
   * started on drift.
   * @default - none: drift only alerts
   */
  readonly onDrift?: TrainingJobTarget;
  /**
   * After a retrain started on drift, how long to start no other (`--retrain-cooldown`): `30m`, `6h`, `1d`,
   * or `"0"` for none. A Job of the training CronJob that is still running always holds the next one back.
   * @default "24h" (the runtime's default)
   */
  readonly retrainCooldown?: string;
  /** @default { cpu: "1", memory: "2Gi", scratchSize: "10Gi" } */
  readonly resources?: { readonly cpu?: string; readonly memory?: string; readonly scratchSize?: string };
  /** Wall-clock limit of one run. @default 3600 */
  readonly activeDeadlineSeconds?: number;
  /** An S3-compatible server and static credentials, for clusters without IRSA. @default - AWS S3, the SDK's chain */
  readonly s3?: S3AccessArgs;
  /**
   * IAM role of the drift jobs' ServiceAccount (IRSA). It must read the registry and the payload logs, and
   * put (no delete needed) under `models/<name>/drift/` and `models/<name>/drift-reports/` of each watched
   * model, where the jobs record their results and reports (with the registry's KMS key, if any: encrypt).
   * @default - on a cluster that issues ServiceAccount roles (a TrainingCluster on EKS), a role allowing exactly that (`driftRoleArgs`); elsewhere none
   */
  readonly serviceAccountRoleArn?: pulumi.Input<string>;
}

export interface GrafanaArgs {
  /** The Grafana folder of the dashboards. @default "MLOps <stage>" */
  readonly folder?: string;
  /** The sidecar's folder annotation (the chart's `grafana.sidecar.dashboards.folderAnnotation`). @default "grafana_folder" */
  readonly folderAnnotation?: string;
  /** Grafana's admin password, as a secret. @default - generated by the grafana chart, kept in its Secret */
  readonly adminPassword?: pulumi.Input<string>;
}

/** Per-child hooks, the escape hatch for what the args do not cover. */
export interface MonitoringStackTransforms {
  readonly namespace?: Transform<k8s.core.v1.NamespaceArgs>;
  readonly prometheusNamespace?: Transform<k8s.core.v1.NamespaceArgs>;
  readonly release?: Transform<k8s.helm.v3.ReleaseArgs>;
  readonly serviceMonitor?: Transform<k8s.apiextensions.CustomResourceArgs>;
  readonly prometheusRule?: Transform<k8s.apiextensions.CustomResourceArgs>;
  readonly dashboard?: Transform<k8s.core.v1.ConfigMapArgs>;
  readonly alertmanagerSecret?: Transform<k8s.core.v1.SecretArgs>;
  readonly grafanaSecret?: Transform<k8s.core.v1.SecretArgs>;
  readonly pushgateway?: Transform<k8s.apps.v1.DeploymentArgs>;
  readonly pushgatewayService?: Transform<k8s.core.v1.ServiceArgs>;
  readonly pushgatewayNetworkPolicy?: Transform<k8s.networking.v1.NetworkPolicyArgs>;
  readonly driftCronJob?: Transform<k8s.batch.v1.CronJobArgs>;
  readonly driftServiceAccount?: Transform<k8s.core.v1.ServiceAccountArgs>;
  readonly retrainRole?: Transform<k8s.rbac.v1.RoleArgs>;
  readonly retrainRoleBinding?: Transform<k8s.rbac.v1.RoleBindingArgs>;
  readonly image?: Transform<docker.ImageArgs>;
}

export interface MonitoringStackArgs {
  /** The cluster: `{ provider }`, `{ kubeconfig }`, or a cluster object that has a `provider`. */
  readonly kubernetes: KubernetesTarget;
  /**
   * The namespace of this package's own pods (the Pushgateway, the drift jobs): an existing one, or a Namespace.
   * @default - a new namespace `${project}-${stage}-${name}` enforcing Pod Security "restricted"
   */
  readonly namespace?: string | k8s.core.v1.Namespace;
  /** @default { chart: {} }: kube-prometheus-stack 88.5.3 */
  readonly prometheus?: PrometheusArgs;
  /** Model endpoints to scrape, hold to their SLOs and watch for drift. @default [] */
  readonly endpoints?: readonly MonitoredEndpointInput[];
  /** Feature servers to scrape (a FeatureStore is one). @default [] */
  readonly featureStores?: readonly FeatureServerTarget[];
  /** Training jobs to watch (a TrainingJob is one); `drift.onDrift` is watched too. @default [] */
  readonly trainingJobs?: readonly TrainingJobTarget[];
  /** The endpoints' SLOs, unless an endpoint gives its own. @default { availability: 0.999, latency: { thresholdSeconds: 0.25, objective: 0.99 } } */
  readonly slo?: SloArgs;
  readonly alerts?: AlertsArgs;
  /** Where alerts go. @default - the Alertmanager's own default (nowhere) */
  readonly receivers?: ReceiversArgs;
  readonly pushgateway?: PushgatewayArgs;
  /** @default - no drift jobs */
  readonly drift?: DriftArgs;
  readonly grafana?: GrafanaArgs;
  /** The runtime image the drift jobs run. @default - built from this package's runtime/Dockerfile */
  readonly image?: pulumi.Input<string>;
  /** Where to push the built image (ignored when `image` is given). @default - not pushed */
  readonly imageRepository?: string;
  /** Where the Pushgateway and drift pods run. @default - anywhere */
  readonly placement?: { readonly nodeSelector?: Record<string, string>; readonly tolerations?: readonly k8s.types.input.core.v1.Toleration[] };
  readonly transform?: MonitoringStackTransforms;
}
