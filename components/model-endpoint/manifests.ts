/**
 * Pure builders for the Kubernetes objects of a ModelEndpoint. Given plain strings they return plain
 * objects, so they are tested (schema, Pod Security "restricted", selectors) without Pulumi.
 */
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { SPEC_ENV, USER_ENV } from "../../src/spec/env.js";
import { SERVE_PATHS } from "../../src/spec/endpoint.js";
import { GPU_RESOURCE } from "../shared/constants.js";
import { podSecurityLabels } from "../shared/pod-security.js";
import { S3_SECRET_KEYS, s3AccessEnv, s3CredentialsSecret, type S3AccessArgs } from "../shared/s3-access.js";
import { runtimePodTemplate, runtimeServiceAccount } from "../shared/workload.js";
import { MODEL_ENDPOINT_DEFAULTS as D, type NormalizedEndpoint } from "./normalize.js";

/** The key under which the auth Secret holds the token. */
export const AUTH_SECRET_KEY = "token";
/** The container's name in the pod. */
export const CONTAINER_NAME = "server";
export { S3_SECRET_KEYS };

/**
 * The path the Deployment's readiness probe reads: the runtime's `GET /v2/health/rollout`
 * (runtime/serve/routes/health.ts ROLLOUT_READY_PATH; the contract test boots the runtime from this probe).
 *
 * Why not `/v2/health/ready`: the Deployment is awaited until Available (pulumi-kubernetes' default await:
 * every updated pod Ready), and a fresh stage's registry has no model yet, so pods that answer OIP ready
 * only with a model loaded would time `pulumi up` out after 10 minutes, and the HPA after it would never be
 * created. `pulumi.com/skipAwait`, or a `pulumi.com/waitFor` JSONPath on the Deployment
 * (e.g. `{.status.updatedReplicas}`), would not help: a Deployment's status only counts pods by readiness,
 * so any condition that holds while pods are live but unready also holds while they crash-loop or cannot
 * pull their image, and `pulumi up` would then pass a broken rollout. A readiness gate needs a controller to
 * set its condition, and the runtime has no Kubernetes API access. So the pod's own readiness says what the
 * rollout needs: 200 when a version is loaded, and also when the registry answers that the model (or alias)
 * does not exist yet; 503 while loading, when the registry cannot be read (wrong credentials, no bucket, no
 * network) and while draining. The Deployment then keeps its default await (Available, 10 minutes), which
 * still fails on an image that cannot be pulled, a crash loop or a spec the runtime rejects.
 * OIP clients keep `/v2/health/ready`, which stays 503 until a model is loaded. The price of not knowing at
 * deploy time whether a stage is fresh: an update that points `model` at a reference the registry lacks (a
 * typo) also completes, with the warning, and its pods answer 503 once they replace the old ones.
 * https://github.com/pulumi/pulumi-kubernetes/pull/3134 (waitFor reads the awaited object only)
 */
export const ROLLOUT_READY_PATH = SERVE_PATHS.rollout;

export interface ManifestContext {
  /** Object names (`${project}-${stage}-${name}`). */
  readonly physicalName: string;
  readonly namespace: pulumi.Input<string>;
  /** Recommended labels, on every object and the pod template. */
  readonly labels: Record<string, string>;
  /** The stable subset the selectors use (a subset of `labels`). */
  readonly selector: Record<string, string>;
  readonly image: pulumi.Input<string>;
  /** The rendered EndpointSpec JSON. */
  readonly specJson: pulumi.Input<string>;
  readonly endpoint: NormalizedEndpoint;
  readonly serviceAccountRoleArn?: pulumi.Input<string>;
  /** Serving by entity id: the online store's AUTH token by Secret reference (features.ts). */
  readonly featureEnv?: readonly k8s.types.input.core.v1.EnvVar[];
}

export function s3SecretName(ctx: Pick<ManifestContext, "physicalName">): string {
  return `${ctx.physicalName.slice(0, 60)}-s3`;
}

export function authSecretName(ctx: Pick<ManifestContext, "physicalName">): string {
  return `${ctx.physicalName.slice(0, 58)}-auth`;
}

/** A namespace that enforces Pod Security "restricted" on everything in it. */
export function namespaceArgs(name: string, labels: Record<string, string>): k8s.core.v1.NamespaceArgs {
  return { metadata: { name, labels: { ...labels, ...podSecurityLabels("restricted") } } };
}

/** The pods' own ServiceAccount (named like every other object), with the IAM role when there is one. */
export function serviceAccountArgs(ctx: ManifestContext): k8s.core.v1.ServiceAccountArgs {
  const { apiVersion: _v, kind: _k, ...args } = runtimeServiceAccount({
    name: ctx.physicalName,
    namespace: ctx.namespace,
    labels: ctx.labels,
    ...(ctx.serviceAccountRoleArn !== undefined ? { roleArn: ctx.serviceAccountRoleArn } : {}),
  });
  return args;
}

/** The bearer token, always stored as a Pulumi secret (even if given in plain). */
export function authSecretArgs(ctx: ManifestContext, token: pulumi.Input<string>): k8s.core.v1.SecretArgs {
  return {
    metadata: { name: authSecretName(ctx), namespace: ctx.namespace, labels: ctx.labels },
    type: "Opaque",
    stringData: { [AUTH_SECRET_KEY]: pulumi.secret(token) },
  };
}

/** The static S3 credentials, always stored as Pulumi secrets (even if given in plain). */
export function s3SecretArgs(ctx: ManifestContext, credentials: NonNullable<S3AccessArgs["credentials"]>): k8s.core.v1.SecretArgs {
  return s3CredentialsSecret({ name: s3SecretName(ctx), namespace: ctx.namespace, labels: ctx.labels, credentials });
}

/**
 * The container's environment beside the spec: the auth token and the S3 credentials by Secret reference
 * (never their values), the S3 endpoint and region in plain (not secret; the runtime's S3 client reads
 * `MLOPS_S3_ENDPOINT` and `AWS_REGION`, src/store/index.ts).
 */
export function endpointEnv(ctx: ManifestContext): k8s.types.input.core.v1.EnvVar[] {
  const e = ctx.endpoint;
  const fromSecret = (name: string, secret: string, key: string) => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } });
  return [
    ...(e.authEnabled ? [fromSecret(SPEC_ENV.authToken, authSecretName(ctx), AUTH_SECRET_KEY)] : []),
    ...s3AccessEnv(e.s3, s3SecretName(ctx)),
    ...(ctx.featureEnv ?? []),
  ];
}

export function deploymentArgs(ctx: ManifestContext): k8s.apps.v1.DeploymentArgs {
  const e = ctx.endpoint;
  const { cpu, memory } = e.resources;
  const gpu: Record<string, string> = e.gpu ? { [GPU_RESOURCE]: String(e.gpu.count) } : {};
  const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path, port: D.containerPortName },
    periodSeconds,
    failureThreshold,
    timeoutSeconds: 2,
  });
  const template = runtimePodTemplate({
    containerName: CONTAINER_NAME,
    image: ctx.image,
    command: ["serve"],
    spec: { env: SPEC_ENV.endpointSpec, json: ctx.specJson },
    env: endpointEnv(ctx),
    ports: [
      { name: D.containerPortName, containerPort: D.containerPort, protocol: "TCP" },
      ...(e.metrics ? [{ name: D.metricsPortName, containerPort: e.metrics.port, protocol: "TCP" }] : []),
    ],
    resources: { requests: { cpu, memory, ...gpu }, limits: { cpu, memory, ...gpu } },
    probes: {
      startup: probe(SERVE_PATHS.live, 2, 60),
      liveness: probe(SERVE_PATHS.live, 10, 3),
      // Fails fast so a draining pod leaves the Service within seconds. The rollout path, not OIP ready: see ROLLOUT_READY_PATH.
      readiness: probe(ROLLOUT_READY_PATH, 2, 2),
    },
    volumes: [{ name: "tmp", mountPath: "/tmp", sizeLimit: D.tmpSizeLimit }],
    serviceAccountName: ctx.physicalName,
    labels: ctx.labels,
    annotations: {
      "prometheus.io/scrape": "true",
      "prometheus.io/port": String(e.metrics?.port ?? D.containerPort),
      "prometheus.io/path": SERVE_PATHS.metrics,
    },
    ...(e.shutdownDelaySeconds > 0 ? { lifecycle: { preStop: { sleep: { seconds: e.shutdownDelaySeconds } } } } : {}),
    terminationGracePeriodSeconds: terminationGracePeriodSeconds(e),
    podSpec: {
      ...(e.priorityClassName !== undefined ? { priorityClassName: e.priorityClassName } : {}),
      topologySpreadConstraints: [
        { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: ctx.selector } },
        { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: ctx.selector } },
      ],
    },
    ...(e.placement ? { nodeSelector: e.placement.nodeSelector, tolerations: e.placement.tolerations } : {}),
  });
  return {
    metadata: { name: ctx.physicalName, namespace: ctx.namespace, labels: ctx.labels },
    spec: {
      // No `replicas`: the HorizontalPodAutoscaler owns it, and `pulumi up` must not reset what it scaled to.
      selector: { matchLabels: ctx.selector },
      revisionHistoryLimit: 5,
      // Never below capacity during a rollout: a new pod must be ready before an old one goes.
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } },
      template,
    },
  };
}

/**
 * How long the kubelet waits before SIGKILL, counted from when it starts the preStop hook: the hook's sleep,
 * then the runtime's own shutdown delay after SIGTERM, then at most drainSeconds for requests in flight
 * (the runtime cuts off what is left then, so it has exited by this sum), then at most the payload log's
 * flush timeout, when logging is on, plus a margin for freeing the model.
 * https://kubernetes.io/docs/concepts/containers/container-lifecycle-hooks/#hook-handler-execution
 */
export function terminationGracePeriodSeconds(e: Pick<NormalizedEndpoint, "shutdownDelaySeconds" | "drainSeconds" | "logging">): number {
  return Math.ceil(2 * e.shutdownDelaySeconds + e.drainSeconds + (e.logging?.flushTimeoutSeconds ?? 0)) + D.terminationMarginSeconds;
}

export function serviceArgs(ctx: ManifestContext): k8s.core.v1.ServiceArgs {
  const m = ctx.endpoint.metrics;
  return {
    metadata: { name: ctx.physicalName, namespace: ctx.namespace, labels: ctx.labels },
    spec: {
      type: "ClusterIP",
      selector: ctx.selector,
      ports: [
        { name: D.containerPortName, port: D.servicePort, targetPort: D.containerPortName, protocol: "TCP", appProtocol: "http" },
        ...(m ? [{ name: D.metricsPortName, port: m.port, targetPort: D.metricsPortName, protocol: "TCP", appProtocol: "http" }] : []),
      ],
    },
  };
}

export function autoscalerArgs(ctx: ManifestContext): k8s.autoscaling.v2.HorizontalPodAutoscalerArgs {
  const r = ctx.endpoint.replicas;
  return {
    metadata: { name: ctx.physicalName, namespace: ctx.namespace, labels: ctx.labels },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: ctx.physicalName },
      minReplicas: r.min,
      maxReplicas: r.max,
      metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: r.targetCpuUtilization } } }],
      // Scale up at once, down slowly: traffic spikes come back.
      behavior: {
        scaleUp: { stabilizationWindowSeconds: 0 },
        scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: "Percent", value: 50, periodSeconds: 60 }] },
      },
    },
  };
}

/** One pod at a time may be evicted: with one replica a node drain still proceeds, with more capacity stays. */
export function disruptionBudgetArgs(ctx: ManifestContext): k8s.policy.v1.PodDisruptionBudgetArgs {
  return {
    metadata: { name: ctx.physicalName, namespace: ctx.namespace, labels: ctx.labels },
    spec: { maxUnavailable: 1, selector: { matchLabels: ctx.selector } },
  };
}

/**
 * Ingress on the serving port only from this namespace and the namespaces listed; with a metrics port, that
 * port only from the monitoring namespace (by the `kubernetes.io/metadata.name` label Kubernetes sets on
 * every namespace, so nobody has to label it).
 */
export function networkPolicyArgs(ctx: ManifestContext): k8s.networking.v1.NetworkPolicyArgs {
  const m = ctx.endpoint.metrics;
  const from: k8s.types.input.networking.v1.NetworkPolicyPeer[] = [{ podSelector: {} }];
  if (ctx.endpoint.allowFromNamespaces.length > 0) {
    from.push({
      namespaceSelector: {
        matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: [...ctx.endpoint.allowFromNamespaces] }],
      },
    });
  }
  return {
    metadata: { name: ctx.physicalName, namespace: ctx.namespace, labels: ctx.labels },
    spec: {
      podSelector: { matchLabels: ctx.selector },
      policyTypes: ["Ingress"],
      ingress: [
        { from, ports: [{ protocol: "TCP", port: D.containerPort }] },
        ...(m
          ? [
              {
                from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": m.namespace } } }],
                ports: [{ protocol: "TCP", port: m.port }],
              },
            ]
          : []),
      ],
    },
  };
}
