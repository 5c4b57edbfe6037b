/**
 * The Prometheus Pushgateway, where batch jobs (drift, training, materialization) push their run metrics:
 * a Deployment of the upstream image under Pod Security "restricted" (its non-root user, read-only root
 * filesystem), a ClusterIP Service, a NetworkPolicy admitting only the pushers' and Prometheus's
 * namespaces, and a ServiceMonitor with `honorLabels` (the pushed `job` and grouping labels are the
 * series' identity, not the Pushgateway pod's). State lives in memory: a restart loses the last pushes
 * until each job runs again (persistence would need a volume and one writer, for little gain).
 */
import type * as pulumi from "@pulumi/pulumi";
import { recommendedLabels, selectorLabels } from "../../src/naming.js";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from "../shared/pod-security.js";

type Obj = Record<string, any>;

export const PUSHGATEWAY_DEFAULTS = {
  /** prometheus/pushgateway's latest release (the prometheus-pushgateway chart's appVersion, August 2026). */
  image: "docker.io/prom/pushgateway:v1.11.3@sha256:74fa117cef2d7e383112d25139ff1c2d2e309c35389a9e0554a47136a1482e48",
  /** The image's user (`nobody`), given by number so that `runAsNonRoot` can check it. */
  uid: 65534,
  port: 9091,
  portName: "http",
  cpu: "100m",
  memory: "128Mi",
} as const;

export interface PushgatewayContext {
  /** Object names. */
  readonly name: string;
  readonly namespace: pulumi.Input<string>;
  /** The stack's logical name and project, for the recommended labels. */
  readonly stackName: string;
  readonly partOf: string;
  readonly image: string;
  readonly resources: { readonly cpu: string; readonly memory: string };
  /** Namespaces whose pods may push or scrape (its own always may). */
  readonly allowFromNamespaces: readonly pulumi.Input<string>[];
  readonly placement?: { readonly nodeSelector?: Record<string, string>; readonly tolerations?: readonly Obj[] };
}

export function pushgatewayLabels(ctx: Pick<PushgatewayContext, "name" | "stackName" | "partOf">) {
  return {
    labels: recommendedLabels({ name: ctx.stackName, instance: ctx.name, component: "pushgateway", partOf: ctx.partOf }),
    selector: selectorLabels({ name: ctx.stackName, instance: ctx.name }),
  };
}

/** `http://<service>.<namespace>.svc:9091`, what `--pushgateway` is given. */
export function pushgatewayUrl(name: string, namespace: string): string {
  return `http://${name}.${namespace}.svc:${PUSHGATEWAY_DEFAULTS.port}`;
}

export function pushgatewayDeployment(ctx: PushgatewayContext): Obj {
  const { labels, selector } = pushgatewayLabels(ctx);
  const D = PUSHGATEWAY_DEFAULTS;
  const probe = (path: string, periodSeconds: number) => ({ httpGet: { path, port: D.portName }, periodSeconds, timeoutSeconds: 2, failureThreshold: 3 });
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: ctx.name, namespace: ctx.namespace, labels },
    spec: {
      // One replica: two would each hold a different half of the pushes.
      replicas: 1,
      selector: { matchLabels: selector },
      strategy: { type: "Recreate" },
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: restrictedPodSecurityContext(D.uid),
          ...(ctx.placement?.nodeSelector ? { nodeSelector: { ...ctx.placement.nodeSelector } } : {}),
          ...(ctx.placement?.tolerations ? { tolerations: [...ctx.placement.tolerations] } : {}),
          containers: [
            {
              name: "pushgateway",
              image: ctx.image,
              imagePullPolicy: "IfNotPresent",
              args: [`--web.listen-address=:${D.port}`],
              ports: [{ name: D.portName, containerPort: D.port, protocol: "TCP" }],
              resources: { requests: { cpu: ctx.resources.cpu, memory: ctx.resources.memory }, limits: { memory: ctx.resources.memory } },
              readinessProbe: probe("/-/ready", 5),
              livenessProbe: probe("/-/healthy", 10),
              securityContext: restrictedContainerSecurityContext(D.uid),
            },
          ],
        },
      },
    },
  };
}

export function pushgatewayService(ctx: PushgatewayContext): Obj {
  const { labels, selector } = pushgatewayLabels(ctx);
  const D = PUSHGATEWAY_DEFAULTS;
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: ctx.name, namespace: ctx.namespace, labels },
    spec: { type: "ClusterIP", selector, ports: [{ name: D.portName, port: D.port, targetPort: D.portName, protocol: "TCP", appProtocol: "http" }] },
  };
}

/** Ingress on the port only, from its own namespace and the pushers' and Prometheus's. */
export function pushgatewayNetworkPolicy(ctx: PushgatewayContext): Obj {
  const { labels, selector } = pushgatewayLabels(ctx);
  const from: Obj[] = [{ podSelector: {} }];
  if (ctx.allowFromNamespaces.length > 0) {
    from.push({ namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: [...ctx.allowFromNamespaces] }] } });
  }
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: ctx.name, namespace: ctx.namespace, labels },
    spec: { podSelector: { matchLabels: selector }, policyTypes: ["Ingress"], ingress: [{ from, ports: [{ protocol: "TCP", port: PUSHGATEWAY_DEFAULTS.port }] }] },
  };
}
