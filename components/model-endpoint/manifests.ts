/**
 * Pure builders for the Kubernetes objects of a ModelEndpoint. Given plain strings they return plain
 * objects, so they are tested (schema, Pod Security "restricted", selectors) without Pulumi.
 */
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AUTH_TOKEN_ENV, ENDPOINT_SPEC_ENV, SERVE_PATHS } from "../../src/spec/endpoint.js";
import { IRSA_ANNOTATION } from "../shared/constants.js";
import {
  CONTAINER_PORT,
  CONTAINER_PORT_NAME,
  GPU_RESOURCE,
  RUNTIME_UID,
  SERVICE_PORT,
  TERMINATION_MARGIN_SECONDS,
  TMP_SIZE_LIMIT,
  cpuQuantity,
  type NormalizedEndpoint,
} from "./normalize.js";


/** The key under which the auth Secret holds the token. */
export const AUTH_SECRET_KEY = "token";
/** The container's name in the pod. */
export const CONTAINER_NAME = "server";
export { IRSA_ANNOTATION };

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
  return {
    metadata: {
      name,
      labels: {
        ...labels,
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
      },
    },
  };
}

export function serviceAccountArgs(ctx: ManifestContext): k8s.core.v1.ServiceAccountArgs {
  return {
    metadata: {
      name: ctx.physicalName,
      namespace: ctx.namespace,
      labels: ctx.labels,
      ...(ctx.serviceAccountRoleArn !== undefined ? { annotations: { [IRSA_ANNOTATION]: ctx.serviceAccountRoleArn } } : {}),
    },
    // The server never calls the Kubernetes API: no token in the pod.
    automountServiceAccountToken: false,
  };
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
  const memory = `${e.resources.memoryMiB}Mi`;
  const cpu = cpuQuantity(e.resources.cpu);
  const gpu: Record<string, string> = e.gpu ? { [GPU_RESOURCE]: String(e.gpu.count) } : {};
  const tolerations: k8s.types.input.core.v1.Toleration[] = e.gpu
    ? [{ key: GPU_RESOURCE, operator: "Exists", effect: "NoSchedule" }, ...e.gpu.tolerations]
    : [];
  const env: k8s.types.input.core.v1.EnvVar[] = [{ name: ENDPOINT_SPEC_ENV, value: ctx.specJson }];
  if (e.authEnabled) {
    env.push({ name: AUTH_TOKEN_ENV, valueFrom: { secretKeyRef: { name: authSecretName(ctx), key: AUTH_SECRET_KEY } } });
  }
  const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path, port: CONTAINER_PORT_NAME },
    periodSeconds,
    failureThreshold,
    timeoutSeconds: 2,
  });
  return {
    metadata: { name: ctx.physicalName, namespace: ctx.namespace, labels: ctx.labels },
    spec: {
      // No `replicas`: the HorizontalPodAutoscaler owns it, and `pulumi up` must not reset what it scaled to.
      selector: { matchLabels: ctx.selector },
      revisionHistoryLimit: 5,
      // Never below capacity during a rollout: a new pod must be ready before an old one goes.
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } },
      template: {
        metadata: {
          labels: ctx.labels,
          annotations: {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": String(CONTAINER_PORT),
            "prometheus.io/path": SERVE_PATHS.metrics,
          },
        },
        spec: {
          serviceAccountName: ctx.physicalName,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          // The runtime drains for drainSeconds after SIGTERM; the kubelet must not kill it before.
          terminationGracePeriodSeconds: e.drainSeconds + TERMINATION_MARGIN_SECONDS,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: RUNTIME_UID,
            runAsGroup: RUNTIME_UID,
            fsGroup: RUNTIME_UID,
            seccompProfile: { type: "RuntimeDefault" },
          },
          topologySpreadConstraints: [
            { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: ctx.selector } },
            { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: ctx.selector } },
          ],
          ...(e.gpu && Object.keys(e.gpu.nodeSelector).length > 0 ? { nodeSelector: e.gpu.nodeSelector } : {}),
          ...(tolerations.length > 0 ? { tolerations } : {}),
          containers: [
            {
              name: CONTAINER_NAME,
              image: ctx.image,
              imagePullPolicy: "IfNotPresent",
              args: ["serve"],
              ports: [{ name: CONTAINER_PORT_NAME, containerPort: CONTAINER_PORT, protocol: "TCP" }],
              env,
              resources: { requests: { cpu, memory, ...gpu }, limits: { cpu, memory, ...gpu } },
              startupProbe: probe(SERVE_PATHS.live, 2, 60),
              livenessProbe: probe(SERVE_PATHS.live, 10, 3),
              // Fails fast so a draining pod leaves the Service within seconds.
              readinessProbe: probe(SERVE_PATHS.ready, 2, 2),
              securityContext: {
                runAsNonRoot: true,
                runAsUser: RUNTIME_UID,
                readOnlyRootFilesystem: true,
                allowPrivilegeEscalation: false,
                privileged: false,
                capabilities: { drop: ["ALL"] },
                seccompProfile: { type: "RuntimeDefault" },
              },
              volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
            },
          ],
          volumes: [{ name: "tmp", emptyDir: { sizeLimit: TMP_SIZE_LIMIT } }],
        },
      },
    },
  };
}

export function serviceArgs(ctx: ManifestContext): k8s.core.v1.ServiceArgs {
  return {
    metadata: { name: ctx.physicalName, namespace: ctx.namespace, labels: ctx.labels },
    spec: {
      type: "ClusterIP",
      selector: ctx.selector,
      ports: [{ name: CONTAINER_PORT_NAME, port: SERVICE_PORT, targetPort: CONTAINER_PORT_NAME, protocol: "TCP", appProtocol: "http" }],
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
      ingress: [{ from, ports: [{ protocol: "TCP", port: CONTAINER_PORT }] }],
    },
  };
}
