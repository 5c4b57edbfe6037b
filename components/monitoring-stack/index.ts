import type * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import { dnsLabel, recommendedLabels } from "../../src/naming.js";
import { runtimeImage } from "../shared/image.js";
import { resolveProvider } from "../shared/kubernetes.js";
import { podSecurityLabels } from "../shared/pod-security.js";
import { s3CredentialsSecret } from "../shared/s3-access.js";
import { stackContext, stackPhysicalName } from "../shared/stage.js";
import { applyTransform, type Transform } from "../shared/transform.js";
import { validateArgs } from "../shared/validate.js";
import { alertmanagerConfigOutput, alertmanagerSecretManifest } from "./alertmanager.js";
import type { MonitoringStackArgs } from "./args.js";
import { chartValues, KUBE_PROMETHEUS_STACK, operatorCrdUrls } from "./chart.js";
import { driftDashboard, featuresDashboard, servingDashboard, trainingDashboard, dashboardConfigMap } from "./dashboards.js";
import { driftCronJobManifest, driftIamRole, driftServiceAccountManifest, retrainRoleBindingManifest, retrainRoleManifest, retrainTargetProblem, type DriftContext } from "./drift.js";
import { monitoringStackProblems, normalizeMonitoringStack, type NormalizedStack } from "./normalize.js";
import { pushgatewayDeployment, pushgatewayNetworkPolicy, pushgatewayService, pushgatewayUrl, type PushgatewayContext } from "./pushgateway.js";
import { monitorManifests, prometheusRuleManifest, resolveRulesInput, type MonitoredTargets, type ResolvedRules } from "./resources.js";
import { MonitoringStackArgsSchema, MonitoringStackNameSchema } from "./schema.js";
import { prometheusNamespaceName, type TrainingJobTarget } from "./targets.js";

export * from "./alertmanager.js";
export * from "./args.js";
export * from "./chart.js";
export * from "./dashboards.js";
export * from "./drift.js";
export * from "./metrics.js";
export * from "./normalize.js";
export * from "./pushgateway.js";
export * from "./resources.js";
export * from "./rules.js";
export * from "./schema.js";
export * from "./targets.js";

type CR = k8s.apiextensions.CustomResource;

/** The resources a MonitoringStack made. */
export interface MonitoringStackNodes {
  /** Only when the component created the namespace of its own pods. */
  readonly namespace?: k8s.core.v1.Namespace;
  /** Only when it created the chart's namespace. */
  readonly prometheusNamespace?: k8s.core.v1.Namespace;
  /** Only when it created a provider from a kubeconfig. */
  readonly provider?: k8s.Provider;
  /** The Prometheus Operator CRDs (chart mode), applied server-side and kept on delete. */
  readonly crds?: k8s.yaml.v2.ConfigGroup;
  readonly release?: k8s.helm.v3.Release;
  readonly alertmanagerSecret?: k8s.core.v1.Secret;
  readonly grafanaSecret?: k8s.core.v1.Secret;
  readonly serviceMonitors: readonly CR[];
  readonly prometheusRule: CR;
  readonly dashboards: readonly k8s.core.v1.ConfigMap[];
  readonly pushgateway: { readonly deployment: k8s.apps.v1.Deployment; readonly service: k8s.core.v1.Service; readonly networkPolicy: k8s.networking.v1.NetworkPolicy };
  readonly drift?: {
    readonly serviceAccount: k8s.core.v1.ServiceAccount;
    readonly cronJobs: readonly k8s.batch.v1.CronJob[];
    readonly s3Secret?: k8s.core.v1.Secret;
    readonly role?: k8s.rbac.v1.Role;
    readonly roleBinding?: k8s.rbac.v1.RoleBinding;
    readonly image?: docker.Image;
  };
}

const Validated = z.object({ name: MonitoringStackNameSchema, args: MonitoringStackArgsSchema });

/**
 * Monitoring for the stack's models: kube-prometheus-stack (pinned, its CRDs applied server-side by Pulumi)
 * or an existing Prometheus Operator; a ServiceMonitor per endpoint, feature server and the Pushgateway,
 * selected whatever the chart's release name; SLO burn-rate alerts and the operational alerts, on recording
 * rules the dashboards share; Grafana dashboards as ConfigMaps; Alertmanager receivers from secrets; and a
 * drift CronJob per endpoint that can start a retrain (`onDrift`).
 *
 * @example
 * new mlops.MonitoringStack("obs", {
 *   kubernetes: cluster,
 *   endpoints: [fraud], // a ModelEndpoint with payload logging (its monitoringTarget carries logging.uri)
 *   featureStores: [features], trainingJobs: [nightly],
 *   drift: { registry, onDrift: nightly },
 *   receivers: { slack: { webhookUrl: config.requireSecret("slackWebhook"), channel: "#ml-alerts" } },
 * });
 */
export class MonitoringStack extends pulumi.ComponentResource {
  static readonly TYPE = "mlops:monitoring:MonitoringStack";

  /** `http://<pushgateway>.<namespace>.svc:9091`: what batch jobs push to. */
  readonly pushgatewayUrl: pulumi.Output<string>;
  /** The namespace of this component's pods (Pushgateway, drift jobs). */
  readonly namespace: pulumi.Output<string>;
  /** Where Prometheus runs (the chart's namespace) or the rules go (an existing operator's): allow it in endpoints' NetworkPolicies. */
  readonly prometheusNamespace: pulumi.Output<string>;
  /** The chart's Prometheus, `http://<release>-prometheus.<namespace>.svc:9090`; undefined on an existing operator. */
  readonly prometheusUrl?: pulumi.Output<string>;
  /** The `mlops_stack` label on every series this stack scrapes. */
  readonly stackLabel: string;
  private readonly children: MonitoringStackNodes;

  constructor(name: string, args: MonitoringStackArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(MonitoringStack.TYPE, name, {}, opts);
    validateArgs(Validated, { name, args }, {
      context: `new MonitoringStack("${name}")`,
      prefix: "",
      crossFieldChecks: ({ args: a }) => (a && typeof a === "object" ? monitoringStackProblems(a) : []),
    });
    const { project, stage } = stackContext();
    this.stackLabel = stackPhysicalName(name);
    const provider = resolveProvider(args.kubernetes, name, this);
    const c = this.context(name, args, normalizeMonitoringStack(args, stage), project, provider);

    const ns = this.ownNamespace(c);
    const prometheusNs = this.chartNamespace(c);
    this.namespace = ns.name;
    this.prometheusNamespace = prometheusNs.name;
    const prometheus = this.createPrometheus(c, prometheusNs);
    this.prometheusUrl = c.stack.chart ? pulumi.interpolate`http://${c.release}-prometheus.${prometheusNs.name}.svc:9090` : undefined;

    const trainingJobs: TrainingJobTarget[] = [...(args.trainingJobs ?? []), ...(args.drift?.onDrift ? [args.drift.onDrift] : [])];
    const pushgateway = this.createPushgateway(c, ns, prometheusNs.name, trainingJobs);
    this.pushgatewayUrl = ns.name.apply((n) => pushgatewayUrl(pushgateway.name, n));

    // Monitors and rules wait for the CRDs (on a fresh cluster their kinds do not exist before).
    const afterCrds = prometheus.crds ? [prometheus.crds] : [];
    const targets: MonitoredTargets = { stack: c.stack, stackLabel: this.stackLabel, base: c.base, prometheusNamespace: prometheusNs.name, pushgateway: { name: pushgateway.name, namespace: ns.name }, featureStores: args.featureStores ?? [] };
    const stamped = (instance: string, component: string) => ({ ...c.labels(instance, component), ...c.stack.selectorLabels });
    const serviceMonitors = monitorManifests(targets, stamped).map((m) => c.create(k8s.apiextensions.CustomResource, m.child, c.t.serviceMonitor, m.manifest, afterCrds));
    const rules = resolveRulesInput(c.stack, this.stackLabel, trainingJobs, args.featureStores ?? [], this);
    const prometheusRule = c.create(k8s.apiextensions.CustomResource, "rules", c.t.prometheusRule, prometheusRuleManifest(c.base, prometheusNs.name, stamped(c.base, "alerting-rules"), rules), afterCrds);
    const dashboards = this.createDashboards(c, prometheusNs.name, rules);
    const drift = this.createDrift(c, ns, this.pushgatewayUrl);

    this.children = {
      ...(ns.resource ? { namespace: ns.resource } : {}),
      ...(prometheusNs.resource ? { prometheusNamespace: prometheusNs.resource } : {}),
      ...(provider !== ("provider" in args.kubernetes ? args.kubernetes.provider : undefined) ? { provider } : {}),
      ...prometheus,
      serviceMonitors,
      prometheusRule,
      dashboards,
      pushgateway: pushgateway.resources,
      ...(drift ? { drift } : {}),
    };
    this.registerOutputs({ pushgatewayUrl: this.pushgatewayUrl, namespace: this.namespace, prometheusNamespace: this.prometheusNamespace, ...(this.prometheusUrl ? { prometheusUrl: this.prometheusUrl } : {}) });
  }

  /** The underlying resources, for what the args and transforms do not cover. */
  get nodes(): MonitoringStackNodes {
    return this.children;
  }

  /** What every builder below needs: names, labels, the normalized settings, and how to create a child. */
  private context(name: string, args: MonitoringStackArgs, stack: NormalizedStack, project: string, provider: k8s.Provider): BuildContext {
    const childOpts: pulumi.CustomResourceOptions = { parent: this, provider };
    return {
      name,
      args,
      stack,
      project,
      provider,
      base: stackPhysicalName(name, 40),
      release: stackPhysicalName(name, 26),
      t: args.transform ?? {},
      labels: (instance, component) => recommendedLabels({ name, instance, component, partOf: project }),
      create: (Ctor, child, hook, manifest, dependsOn = []) => new Ctor(`${name}-${child}`, ...applyTransform(hook, `${name}-${child}`, manifest as never, { ...childOpts, dependsOn })),
    };
  }

  /** This component's own pods' namespace: the one given, or a new one enforcing "restricted". */
  private ownNamespace(c: BuildContext): NamespaceRef {
    const given = c.args.namespace;
    if (given === undefined) {
      const manifest = { metadata: { name: c.base, labels: { ...c.labels(c.base, "monitoring"), ...podSecurityLabels("restricted") } } };
      const resource = c.create(k8s.core.v1.Namespace, "ns", c.t.namespace, manifest);
      return { name: resource.metadata.name, resource };
    }
    return typeof given === "string" ? { name: pulumi.output(given) } : { name: given.metadata.name };
  }

  /**
   * Where Prometheus runs or the rules go: the existing operator's namespace, the chart's namespace given, or
   * a new one for the chart, which must admit node-exporter (host network, PID and paths): "privileged",
   * warned and audited at "baseline" so anything else privileged there still shows.
   */
  private chartNamespace(c: BuildContext): NamespaceRef {
    const given = c.args.prometheus?.existing?.namespace ?? c.args.prometheus?.chart?.namespace;
    if (given !== undefined) return { name: pulumi.output(given) };
    const name = prometheusNamespaceName({ project: c.project, stage: stackContext().stage, name: c.name });
    const podSecurity = { ...podSecurityLabels("privileged"), "pod-security.kubernetes.io/warn": "baseline", "pod-security.kubernetes.io/audit": "baseline" };
    const resource = c.create(k8s.core.v1.Namespace, "prometheus-ns", c.t.prometheusNamespace, { metadata: { name, labels: { ...c.labels(name, "prometheus"), ...podSecurity } } });
    return { name: resource.metadata.name, resource };
  }

  /** The CRDs and the chart (chart mode), the Alertmanager config Secret (with receivers), Grafana's admin Secret. */
  private createPrometheus(c: BuildContext, ns: NamespaceRef) {
    const { stack, args, release, t } = c;
    // Deleting a CRD deletes every object of its kind in the cluster (other teams' monitors too): kept on delete.
    const crds = stack.chart
      ? new k8s.yaml.v2.ConfigGroup(`${c.name}-crds`, { files: operatorCrdUrls(stack.chart.operatorVersion) }, { parent: this, provider: c.provider, retainOnDelete: true })
      : undefined;
    const amName = stack.mode === "chart" ? `${release}-alertmanager-config` : args.prometheus?.existing?.alertmanagerConfigSecret;
    const alertmanagerSecret =
      args.receivers && amName
        ? c.create(k8s.core.v1.Secret, "alertmanager", t.alertmanagerSecret, alertmanagerSecretManifest(amName, ns.name, c.labels(amName, "alertmanager"), alertmanagerConfigOutput(args.receivers)))
        : undefined;
    const grafanaName = `${release}-grafana-admin`;
    const grafanaSecret =
      stack.chart && args.grafana?.adminPassword !== undefined
        ? c.create(k8s.core.v1.Secret, "grafana-admin", t.grafanaSecret, {
            metadata: { name: grafanaName, namespace: ns.name, labels: c.labels(grafanaName, "grafana") },
            type: "Opaque",
            stringData: { "admin-user": "admin", "admin-password": pulumi.secret(args.grafana.adminPassword) },
          })
        : undefined;
    const chart = stack.chart;
    const values = chart
      ? chartValues({
          release,
          retention: chart.retention,
          ...(chart.storageSize ? { storageSize: chart.storageSize } : {}),
          prometheusReplicas: chart.replicas,
          nodeExporter: chart.nodeExporter,
          folderAnnotation: stack.grafana.folderAnnotation,
          ...(alertmanagerSecret ? { alertmanagerConfigSecret: amName } : {}),
          ...(grafanaSecret ? { grafanaAdminSecret: grafanaName } : {}),
          ...(args.prometheus?.chart?.values ? { userValues: args.prometheus.chart.values } : {}),
        })
      : undefined;
    const after = [crds, ns.resource, alertmanagerSecret, grafanaSecret].filter((r): r is NonNullable<typeof r> => r !== undefined);
    const releaseArgs = chart
      ? { name: release, chart: KUBE_PROMETHEUS_STACK.chart, version: chart.version, repositoryOpts: { repo: chart.repository }, namespace: ns.name, createNamespace: false, skipCrds: true, values }
      : undefined;
    const helmRelease = releaseArgs ? c.create(k8s.helm.v3.Release, "kube-prometheus-stack", t.release, releaseArgs, after) : undefined;
    return { ...(crds ? { crds } : {}), ...(helmRelease ? { release: helmRelease } : {}), ...(alertmanagerSecret ? { alertmanagerSecret } : {}), ...(grafanaSecret ? { grafanaSecret } : {}) };
  }

  /** The Pushgateway, open to the namespaces of those who push (training, features) and of Prometheus. */
  private createPushgateway(c: BuildContext, ns: NamespaceRef, prometheusNs: pulumi.Output<string>, trainingJobs: readonly TrainingJobTarget[]) {
    const name = dnsLabel(`${c.base}-pushgateway`);
    const pg: PushgatewayContext = {
      name,
      namespace: ns.name,
      stackName: c.name,
      partOf: c.project,
      image: c.stack.pushgateway.image,
      resources: c.stack.pushgateway.resources,
      allowFromNamespaces: [prometheusNs, ...trainingJobs.map((j) => j.namespace), ...(c.args.featureStores ?? []).map((f) => f.namespace), ...c.stack.pushgateway.allowFromNamespaces],
      ...(c.args.placement ? { placement: c.args.placement } : {}),
    };
    return {
      name,
      resources: {
        deployment: c.create(k8s.apps.v1.Deployment, "pushgateway", c.t.pushgateway, pushgatewayDeployment(pg), ns.resource ? [ns.resource] : []),
        service: c.create(k8s.core.v1.Service, "pushgateway-svc", c.t.pushgatewayService, pushgatewayService(pg)),
        networkPolicy: c.create(k8s.networking.v1.NetworkPolicy, "pushgateway-netpol", c.t.pushgatewayNetworkPolicy, pushgatewayNetworkPolicy(pg)),
      },
    };
  }

  /** A dashboard per endpoint; training, features and drift ones when there is something to show. */
  private createDashboards(c: BuildContext, namespace: pulumi.Output<string>, rules: pulumi.Output<ResolvedRules>): k8s.core.v1.ConfigMap[] {
    const { stack, args } = c;
    const folder = { annotation: stack.grafana.folderAnnotation, name: stack.grafana.folder };
    const configMap = (child: string, dashboard: pulumi.Input<Dashboard>) => {
      const cmName = dnsLabel(`${c.base}-dashboard-${child}`);
      return c.create(k8s.core.v1.ConfigMap, `dashboard-${child}`, c.t.dashboard, dashboardConfigMap(cmName, namespace, c.labels(cmName, "dashboard"), folder, dashboard));
    };
    const out = stack.endpoints.map((e) =>
      configMap(e.name, servingDashboard({ stack: this.stackLabel, endpoint: e.name, ...(e.objectives.latency ? { latencyThresholdSeconds: e.objectives.latency.thresholdSeconds } : {}) })),
    );
    if ((args.trainingJobs?.length ?? 0) > 0 || args.drift?.onDrift) out.push(configMap("training", rules.apply((r) => trainingDashboard(this.stackLabel, r.trainingJobs))));
    if ((args.featureStores?.length ?? 0) > 0) out.push(configMap("features", featuresDashboard(this.stackLabel)));
    if (stack.drift) out.push(configMap("drift", driftDashboard(this.stackLabel)));
    return out;
  }

  /** The drift jobs (one per watched endpoint), their ServiceAccount and S3 Secret, and onDrift's Role and RoleBinding. */
  private createDrift(c: BuildContext, ns: NamespaceRef, pushgatewayUrlOut: pulumi.Output<string>): MonitoringStackNodes["drift"] {
    const { args, stack, t } = c;
    const d = args.drift;
    const watched = stack.endpoints.filter((e) => e.drift);
    if (!d || !stack.drift || watched.length === 0) return undefined;
    const image = runtimeImage(c.name, { ...(args.image ? { image: args.image } : {}), ...(args.imageRepository ? { imageRepository: args.imageRepository } : {}) }, this, t.image);
    const onDrift = d.onDrift ? this.cronJobOf(d.onDrift) : undefined;
    const registryUri = typeof d.registry === "string" ? pulumi.output(d.registry) : d.registry.uri;
    const ownNs = args.namespace === undefined ? c.base : typeof args.namespace === "string" ? args.namespace : undefined;
    const watch = watched.map((e) => ({ ref: e.drift!.ref, ...(e.drift!.payloadUri !== undefined ? { payloadUri: e.drift!.payloadUri } : {}) }));
    const driftRole = d.serviceAccountRoleArn === undefined
      ? driftIamRole(this, { name: c.name, kubernetes: args.kubernetes, staticCredentials: d.s3?.credentials !== undefined, namespace: ownNs, base: c.base, registryUri, ...(typeof d.registry === "string" ? {} : { registryKmsKeyArn: d.registry.kmsKeyArn }), watched: watch })
      : undefined;
    const roleArn = d.serviceAccountRoleArn ?? driftRole?.arn;
    const ctx: DriftContext = {
      stackName: c.name,
      partOf: c.project,
      base: c.base,
      namespace: ns.name,
      image: image.ref,
      registryUri: typeof d.registry === "string" ? pulumi.output(d.registry) : d.registry.uri,
      pushgatewayUrl: pushgatewayUrlOut,
      settings: stack.drift,
      ...(onDrift ? { onDrift } : {}),
      s3SecretName: dnsLabel(`${c.base}-drift-s3`),
      ...(roleArn !== undefined ? { serviceAccountRoleArn: roleArn } : {}),
      ...(args.placement ? { placement: args.placement } : {}),
    };
    const serviceAccount = c.create(k8s.core.v1.ServiceAccount, "drift-sa", t.driftServiceAccount, driftServiceAccountManifest(ctx), ns.resource ? [ns.resource] : []);
    const s3Labels = c.labels(ctx.s3SecretName, "drift");
    const s3Secret = d.s3?.credentials
      ? c.create(k8s.core.v1.Secret, "drift-s3", undefined, { apiVersion: "v1", kind: "Secret", ...s3CredentialsSecret({ name: ctx.s3SecretName, namespace: ns.name, labels: s3Labels, credentials: d.s3.credentials }) })
      : undefined;
    const roleName = dnsLabel(`${c.base}-drift-retrain`);
    const role = onDrift ? c.create(k8s.rbac.v1.Role, "retrain-role", t.retrainRole, retrainRoleManifest(ctx, roleName)) : undefined;
    const roleBinding = role ? c.create(k8s.rbac.v1.RoleBinding, "retrain-binding", t.retrainRoleBinding, retrainRoleBindingManifest(ctx, roleName), [role, serviceAccount]) : undefined;
    const first = [serviceAccount, ...(s3Secret ? [s3Secret] : []), ...(roleBinding ? [roleBinding] : [])];
    const cronJobs = watched.map((e) => c.create(k8s.batch.v1.CronJob, `drift-${e.name}`, t.driftCronJob, driftCronJobManifest(ctx, e.name, e.drift!.ref, e.drift!.payloadUri), first));
    return { serviceAccount, cronJobs, ...(s3Secret ? { s3Secret } : {}), ...(role ? { role } : {}), ...(roleBinding ? { roleBinding } : {}), ...(image.resource ? { image: image.resource } : {}) };
  }

  /** The training CronJob a retrain copies; refused at deploy time when the job has no schedule (no CronJob). */
  private cronJobOf(job: TrainingJobTarget) {
    const cronJob = pulumi.all([job.jobName, job.kind]).apply(([jobName, kind]) => {
      const wrong = retrainTargetProblem(jobName, kind);
      if (wrong) throw new pulumi.ResourceError(wrong, this);
      return jobName;
    });
    return { namespace: pulumi.output(job.namespace), cronJob };
  }
}

interface NamespaceRef {
  readonly name: pulumi.Output<string>;
  /** Only when the component created it. */
  readonly resource?: k8s.core.v1.Namespace;
}

interface BuildContext {
  readonly name: string;
  readonly args: MonitoringStackArgs;
  readonly stack: NormalizedStack;
  readonly project: string;
  readonly provider: k8s.Provider;
  /** Prefix of object names, `${project}-${stage}-${name}` in at most 40 characters. */
  readonly base: string;
  /** The Helm release name and the chart's fullname (at most 26 characters, the chart's own limit). */
  readonly release: string;
  readonly t: NonNullable<MonitoringStackArgs["transform"]>;
  readonly labels: (instance: string, component: string) => Record<string, string>;
  readonly create: Creator;
}

type Creator = <A extends object, R>(Ctor: new (n: string, a: A, o: pulumi.CustomResourceOptions) => R, child: string, hook: Transform<A> | undefined, manifest: object, dependsOn?: pulumi.Input<pulumi.Resource>[]) => R;
