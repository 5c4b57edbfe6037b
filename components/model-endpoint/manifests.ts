/**
 * Pure builders for the Kubernetes objects of a ModelEndpoint. Given plain strings they return plain
 * objects, so they are tested (schema, Pod Security "restricted", selectors) without Pulumi.
 */
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { SPEC_ENV } from "../../src/spec/env.js";
import { SERVE_PATHS } from "../../src/spec/endpoint.js";
import { GPU_RESOURCE } from "../shared/constants.js";
import { podSecurityLabels } from "../shared/pod-security.js";
import { runtimePodTemplate, runtimeServiceAccount } from "../shared/workload.js";
import { MODEL_ENDPOINT_DEFAULTS as D, type NormalizedEndpoint } from "./normalize.js";

/** The key under which the auth Secret holds the token. */
export const AUTH_SECRET_KEY = "token";
/** The container's name in the pod. */
export const CONTAINER_NAME = "server";

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
    env: e.authEnabled ? [{ name: SPEC_ENV.authToken, valueFrom: { secretKeyRef: { name: authSecretName(ctx), key: AUTH_SECRET_KEY } } }] : [],
    ports: [{ name: D.containerPortName, containerPort: D.containerPort, protocol: "TCP" }],
    resources: { requests: { cpu, memory, ...gpu }, limits: { cpu, memory, ...gpu } },
    probes: {
      startup: probe(SERVE_PATHS.live, 2, 60),
      liveness: probe(SERVE_PATHS.live, 10, 3),
      // Fails fast so a draining pod leaves the Service within seconds.
      readiness: probe(SERVE_PATHS.ready, 2, 2),
    },
    volumes: [{ name: "tmp", mountPath: "/tmp", sizeLimit: D.tmpSizeLimit }],
    serviceAccountName: ctx.physicalName,
    labels: ctx.labels,
    annotations: {
      "prometheus.io/scrape": "true",
      "prometheus.io/port": String(D.containerPort),
      "prometheus.io/path": SERVE_PATHS.metrics,
    },
    // The runtime drains for drainSeconds after SIGTERM; the kubelet must not kill it before.
    terminationGracePeriodSeconds: e.drainSeconds + D.terminationMarginSeconds,
    podSpec: {
      ...(e.priorityClassName !== undefined ? { priorityClassName: e.priorityClassName } : {}),
      topologySpreadConstraints: [
        { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: ctx.selector } },
        { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: ctx.selector } },
      ],
    },
    ...(e.gpu
      ? { nodeSelector: e.gpu.nodeSelector, tolerations: [{ key: GPU_RESOURCE, operator: "Exists", effect: "NoSchedule" }, ...e.gpu.tolerations] }
      : {}),
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

export function serviceArgs(ctx: ManifestContext): k8s.core.v1.ServiceArgs {
  return {
    metadata: { name: ctx.physicalName, namespace: ctx.namespace, labels: ctx.labels },
    spec: {
      type: "ClusterIP",
      selector: ctx.selector,
      ports: [{ name: D.containerPortName, port: D.servicePort, targetPort: D.containerPortName, protocol: "TCP", appProtocol: "http" }],
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

/** Ingress only on the serving port, only from this namespace and the namespaces listed. */
export function networkPolicyArgs(ctx: ManifestContext): k8s.networking.v1.NetworkPolicyArgs {
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
      ingress: [{ from, ports: [{ protocol: "TCP", port: D.containerPort }] }],
    },
  };
}
