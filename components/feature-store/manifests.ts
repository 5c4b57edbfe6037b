/**
 * Pure builders for the Kubernetes objects of a FeatureStore's runtime side: the materialization CronJob,
 * the feature server (Deployment, Service, HPA, PDB, NetworkPolicy), their ServiceAccounts and the Secrets
 * they read by reference. Plain data in, plain objects out (Inputs only where the context holds them), so
 * they are validated against the Kubernetes schema and Pod Security without Pulumi.
 */
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { recommendedLabels, selectorLabels } from "../../src/naming.js";
import { FEATURE_SPEC_ENV } from "../../src/spec/features.js";
import { podSecurityLabels } from "../shared/pod-security.js";
import { s3AccessEnv, s3CredentialsSecret, type S3AccessArgs } from "../shared/s3-access.js";
import { runtimePodTemplate, runtimeServiceAccount } from "../shared/workload.js";
import { FEATURE_STORE_DEFAULTS as D, type NormalizedFeatureStore } from "./normalize.js";

type Obj = Record<string, any>;

/** The parts of a store that run pods, each with its own name, labels and selector. */
export type StorePart = "server" | "materialize" | "redis";
const COMPONENT: Record<StorePart, string> = { server: "feature-server", materialize: "feature-materialization", redis: "online-store" };

/** The runtime paths the server's probes and scrapes use (`mlops features serve`). */
export const FEATURE_SERVER_PATHS = { health: "/health", metrics: "/metrics" } as const;

/** What the server runs: `mlops features serve` on every interface, on Feast's port. */
export const SERVE_COMMAND: readonly string[] = ["features", "serve", "--host", "0.0.0.0", "--port", String(D.servePort)];
/** What each scheduled run does: from the stored watermark (less the lateness window) to now. */
export const MATERIALIZE_COMMAND: readonly string[] = ["features", "materialize", "--incremental"];

export interface FeatureStoreManifestContext {
  /** The store's logical name (`app.kubernetes.io/name`). */
  readonly name: string;
  /** Prefix of every object name (`${project}-${stage}-${name}`, at most 40 characters). */
  readonly base: string;
  readonly namespace: pulumi.Input<string>;
  /** The project (`app.kubernetes.io/part-of`). */
  readonly partOf: string;
  readonly image: pulumi.Input<string>;
  /** The rendered FeatureStore spec JSON. */
  readonly specJson: pulumi.Input<string>;
  readonly store: NormalizedFeatureStore;
  /** IAM roles of the ServiceAccounts (IRSA), when there are any. */
  readonly roleArns?: { readonly materialize?: pulumi.Input<string>; readonly server?: pulumi.Input<string> };
}

/** The object name of a part: `<base>-server`, `<base>-materialize`, `<base>-redis`. */
export function partName(ctx: Pick<FeatureStoreManifestContext, "base">, part: StorePart): string {
  return `${ctx.base}-${part}`;
}

/** The Secret with the online store's AUTH token (and the in-cluster server's config line). */
export function authSecretName(ctx: Pick<FeatureStoreManifestContext, "base">): string {
  return `${ctx.base}-online`;
}

export function s3SecretName(ctx: Pick<FeatureStoreManifestContext, "base">): string {
  return `${ctx.base}-s3`;
}

/** Recommended labels of a part; its selector is the stable subset (name and the part's instance). */
export function partLabels(ctx: Pick<FeatureStoreManifestContext, "name" | "base" | "partOf">, part: StorePart): { labels: Record<string, string>; selector: Record<string, string> } {
  const instance = partName(ctx, part);
  return {
    labels: recommendedLabels({ name: ctx.name, instance, component: COMPONENT[part], partOf: ctx.partOf }),
    selector: selectorLabels({ name: ctx.name, instance }),
  };
}

/** Labels of the objects the parts share (namespace, Secrets). */
function storeLabels(ctx: Pick<FeatureStoreManifestContext, "name" | "base" | "partOf">): Record<string, string> {
  return recommendedLabels({ name: ctx.name, instance: ctx.base, component: "feature-store", partOf: ctx.partOf });
}

/** A namespace that enforces Pod Security "restricted". */
export function namespaceManifest(ctx: Pick<FeatureStoreManifestContext, "name" | "base" | "partOf">, name: string): Obj {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { ...storeLabels(ctx), ...podSecurityLabels("restricted") } } };
}

export function serviceAccountManifest(ctx: FeatureStoreManifestContext, part: "server" | "materialize"): Obj {
  const roleArn = ctx.roleArns?.[part];
  return runtimeServiceAccount({ name: partName(ctx, part), namespace: ctx.namespace, labels: partLabels(ctx, part).labels, ...(roleArn !== undefined ? { roleArn } : {}) });
}

/**
 * The AUTH token, always stored as a Pulumi secret (even if given in plain). With `serverConfig`, also the
 * in-cluster server's `requirepass` line, so that the token reaches the server by a mounted file, not on
 * its command line.
 */
export function authSecretManifest(ctx: FeatureStoreManifestContext, token: pulumi.Input<string>, serverConfig: boolean): Obj {
  const secret = pulumi.secret(token);
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: authSecretName(ctx), namespace: ctx.namespace, labels: storeLabels(ctx) },
    type: "Opaque",
    stringData: {
      [D.secretKeys.password]: secret,
      ...(serverConfig ? { [D.secretKeys.serverConfig]: secret.apply(requirepassLine) } : {}),
    },
  };
}

/** `requirepass "<token>"`, quoted as the server's config parser reads it (backslashes escaped; the token has no `"`). */
export function requirepassLine(token: string): string {
  return `requirepass "${token.replace(/\\/g, "\\\\")}"\n`;
}

export function s3SecretManifest(ctx: FeatureStoreManifestContext, credentials: NonNullable<S3AccessArgs["credentials"]>): Obj {
  return { apiVersion: "v1", kind: "Secret", ...s3CredentialsSecret({ name: s3SecretName(ctx), namespace: ctx.namespace, labels: storeLabels(ctx), credentials }) };
}

/**
 * The environment beside the spec: the AUTH token by Secret reference in the variable the spec names, a
 * writable HOME and TMPDIR (DuckDB's spill files; the root filesystem is read-only), S3 access.
 */
export function runtimeEnv(ctx: FeatureStoreManifestContext): k8s.types.input.core.v1.EnvVar[] {
  return [
    { name: D.passwordEnv, valueFrom: { secretKeyRef: { name: authSecretName(ctx), key: D.secretKeys.password } } },
    { name: "HOME", value: "/tmp" },
    { name: "TMPDIR", value: "/tmp" },
    ...s3AccessEnv(ctx.store.s3, s3SecretName(ctx)),
  ];
}

function placement(ctx: FeatureStoreManifestContext): Obj {
  const p = ctx.store.placement;
  return p ? { nodeSelector: p.nodeSelector, tolerations: p.tolerations } : {};
}

/** `mlops features materialize --incremental` on a schedule; a run never overlaps the one before (`Forbid`). */
export function cronJobManifest(ctx: FeatureStoreManifestContext): Obj {
  const m = ctx.store.materialization;
  const { labels } = partLabels(ctx, "materialize");
  const name = partName(ctx, "materialize");
  const template = runtimePodTemplate({
    containerName: "materialize",
    image: ctx.image,
    command: MATERIALIZE_COMMAND,
    spec: { env: FEATURE_SPEC_ENV, json: ctx.specJson },
    env: runtimeEnv(ctx),
    resources: { requests: { cpu: m.resources.cpu, memory: m.resources.memory }, limits: { memory: m.resources.memory } },
    volumes: [{ name: "scratch", mountPath: "/tmp", sizeLimit: m.resources.scratchSize }],
    serviceAccountName: name,
    labels,
    terminationGracePeriodSeconds: 60,
    podSpec: { restartPolicy: "Never" },
    ...placement(ctx),
  });
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name, namespace: ctx.namespace, labels },
    spec: {
      schedule: m.schedule,
      ...(m.timeZone !== undefined ? { timeZone: m.timeZone } : {}),
      // Two runs at once would race on the watermark and double the load on the sources and the store.
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: D.materialization.startingDeadlineSeconds,
      successfulJobsHistoryLimit: D.materialization.historyLimit,
      failedJobsHistoryLimit: D.materialization.historyLimit,
      jobTemplate: {
        metadata: { labels },
        spec: {
          backoffLimit: m.backoffLimit,
          activeDeadlineSeconds: m.activeDeadlineSeconds,
          ttlSecondsAfterFinished: D.materialization.ttlSecondsAfterFinished,
          template,
        },
      },
    },
  };
}

/** The feature server: `mlops features serve`, probed on `GET /health`, scraped on `/metrics`, spread across zones. */
export function deploymentManifest(ctx: FeatureStoreManifestContext): Obj {
  const s = ctx.store.server;
  const { labels, selector } = partLabels(ctx, "server");
  const name = partName(ctx, "server");
  const { cpu, memory } = s.resources;
  const probe = (periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path: FEATURE_SERVER_PATHS.health, port: D.portName },
    periodSeconds,
    failureThreshold,
    timeoutSeconds: 2,
  });
  const spread = (topologyKey: string) => ({ maxSkew: 1, topologyKey, whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } });
  const template = runtimePodTemplate({
    containerName: "server",
    image: ctx.image,
    command: SERVE_COMMAND,
    spec: { env: FEATURE_SPEC_ENV, json: ctx.specJson },
    env: runtimeEnv(ctx),
    ports: [{ name: D.portName, containerPort: D.servePort, protocol: "TCP" }],
    resources: { requests: { cpu, memory }, limits: { cpu, memory } },
    probes: { startup: probe(2, 60), liveness: probe(10, 3), readiness: probe(2, 2) },
    volumes: [{ name: "tmp", mountPath: "/tmp", sizeLimit: D.server.tmpSizeLimit }],
    serviceAccountName: name,
    labels,
    annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": String(D.servePort), "prometheus.io/path": FEATURE_SERVER_PATHS.metrics },
    terminationGracePeriodSeconds: D.server.drainSeconds + 10,
    podSpec: {
      ...(ctx.store.priorityClassName !== undefined ? { priorityClassName: ctx.store.priorityClassName } : {}),
      topologySpreadConstraints: [spread("topology.kubernetes.io/zone"), spread("kubernetes.io/hostname")],
    },
    ...placement(ctx),
  });
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ctx.namespace, labels },
    spec: {
      // No `replicas`: the HorizontalPodAutoscaler owns it.
      selector: { matchLabels: selector },
      revisionHistoryLimit: 5,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } },
      template,
    },
  };
}

/** ClusterIP on Feast's port, so a Feast client's `http://<service>:6566` works unchanged. */
export function serviceManifest(ctx: FeatureStoreManifestContext): Obj {
  const { labels, selector } = partLabels(ctx, "server");
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: partName(ctx, "server"), namespace: ctx.namespace, labels },
    spec: {
      type: "ClusterIP",
      selector,
      ports: [{ name: D.portName, port: D.servePort, targetPort: D.portName, protocol: "TCP", appProtocol: "http" }],
    },
  };
}

export function autoscalerManifest(ctx: FeatureStoreManifestContext): Obj {
  const r = ctx.store.server.replicas;
  const { labels } = partLabels(ctx, "server");
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: partName(ctx, "server"), namespace: ctx.namespace, labels },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: partName(ctx, "server") },
      minReplicas: r.min,
      maxReplicas: r.max,
      metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: r.targetCpuUtilization } } }],
      behavior: {
        scaleUp: { stabilizationWindowSeconds: 0 },
        scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: "Percent", value: 50, periodSeconds: 60 }] },
      },
    },
  };
}

export function disruptionBudgetManifest(ctx: FeatureStoreManifestContext): Obj {
  const { labels, selector } = partLabels(ctx, "server");
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: partName(ctx, "server"), namespace: ctx.namespace, labels },
    spec: { maxUnavailable: 1, selector: { matchLabels: selector } },
  };
}

/** Who may reach a part: pods of the store's namespace, and of the namespaces listed. */
export function allowedPeers(ctx: FeatureStoreManifestContext): Obj[] {
  const from: Obj[] = [{ podSelector: {} }];
  const ns = ctx.store.server.allowFromNamespaces;
  if (ns.length > 0) from.push({ namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: [...ns] }] } });
  return from;
}

/** Ingress to the server only on its port, only from the allowed peers. */
export function serverNetworkPolicyManifest(ctx: FeatureStoreManifestContext): Obj {
  const { labels, selector } = partLabels(ctx, "server");
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: partName(ctx, "server"), namespace: ctx.namespace, labels },
    spec: { podSelector: { matchLabels: selector }, policyTypes: ["Ingress"], ingress: [{ from: allowedPeers(ctx), ports: [{ protocol: "TCP", port: D.servePort }] }] },
  };
}
