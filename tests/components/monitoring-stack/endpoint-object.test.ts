// A MonitoringStack given a ModelEndpoint itself (its monitoringTarget), not a hand-written target: the
// ServiceMonitor finds the endpoint's Service, sends its token, the drift job watches its model, the
// autoscaler alert names its HPA, and the endpoint's NetworkPolicy admits the stack's Prometheus.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { k8sObjectsOfKind, reset, waitForResources, type K8sObject } from "../../helpers/pulumi-mocks.js";
import { BASE_ENDPOINT_ARGS } from "../model-endpoint/helpers.js";
import { baseArgs, makeStack, setupStackMocks, stackLabelOf } from "./helpers.js";

let mod: typeof import("../../../components/monitoring-stack/index.js");
let endpoints: typeof import("../../../components/model-endpoint/index.js");
let n = 0;

beforeAll(async () => {
  await setupStackMocks("dev");
  mod = await import("../../../components/monitoring-stack/index.js");
  endpoints = await import("../../../components/model-endpoint/index.js");
});
beforeEach(() => reset());

const TOKEN = "t0ken-for-the-endpoint-0123456789";
const named = (kind: string, name: string): K8sObject => {
  const found = k8sObjectsOfKind(kind).find((o) => o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}; have ${k8sObjectsOfKind(kind).map((o) => o.metadata.name).join(", ")}`);
  return found;
};

/** An endpoint with auth and a metrics port, and a stack (named "monitoring": the endpoint's default) watching it for drift. */
async function endpointAndStack() {
  const ep = new endpoints.ModelEndpoint(`ep${++n}`, { ...BASE_ENDPOINT_ARGS, metricsPort: 9090, auth: { token: pulumi.secret(TOKEN) }, logging: { sampleRate: 0.5, uri: "s3://payloads/dev" } });
  await waitForResources();
  const stack = await makeStack(mod, "monitoring", baseArgs({ endpoints: [ep], drift: { registry: "s3://models/team" } }));
  return { ep: `ep${n}`, physical: `mlops-dev-ep${n}`, stack };
}

describe("MonitoringStack given a ModelEndpoint", () => {
  test("selects the endpoint's Service by its labels, in its namespace, on the metrics port", async () => {
    const { ep, physical } = await endpointAndStack();
    const monitor = named("ServiceMonitor", `${stackLabelOf("monitoring")}-${ep}`);
    const svc = named("Service", physical);
    expect(monitor.spec.namespaceSelector.matchNames).toEqual([svc.metadata.namespace]);
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) expect(svc.metadata.labels?.[k], k).toBe(v);
    // No other Service of the stack matches.
    const others = k8sObjectsOfKind("Service").filter((s) => s !== svc && Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v));
    expect(others).toEqual([]);
    expect(monitor.spec.endpoints[0].port).toBe("metrics");
    expect(svc.spec.ports.map((p: { name: string }) => p.name)).toContain("metrics");
  });

  test("sends the bearer token from the endpoint's auth Secret", async () => {
    const { ep, physical } = await endpointAndStack();
    const monitor = named("ServiceMonitor", `${stackLabelOf("monitoring")}-${ep}`);
    const secret = named("Secret", `${physical}-auth`);
    expect(monitor.spec.endpoints[0].authorization).toEqual({ type: "Bearer", credentials: { name: secret.metadata.name, key: "token" } });
    expect(secret.metadata.namespace).toBe(monitor.metadata.namespace);
    expect(Object.keys(secret.stringData)).toContain("token");
  });

  test("runs a drift CronJob on the endpoint's model and its payload logs", async () => {
    const { ep } = await endpointAndStack();
    const cron = named("CronJob", `${stackLabelOf("monitoring")}-drift-${ep}`);
    const args: string[] = cron.spec.jobTemplate.spec.template.spec.containers[0].args;
    const flag = (f: string) => args[args.indexOf(f) + 1];
    expect(flag("--model")).toBe("fraud@champion");
    // The logs the endpoint writes (its logging.uri), under its own name (<uri>/<model>/<endpoint>/…).
    expect(flag("--payload-uri")).toBe("s3://payloads/dev");
    expect(flag("--endpoint")).toBe(ep);
  });

  test("alerts on the endpoint's own autoscaler", async () => {
    const { physical } = await endpointAndStack();
    const hpa = named("HorizontalPodAutoscaler", physical);
    const rule = k8sObjectsOfKind("PrometheusRule")[0]!.spec.groups.flatMap((g: any) => g.rules).find((r: any) => r.alert === "MlopsEndpointAtMaxReplicas");
    expect(rule.expr).toContain(`namespace="${hpa.metadata.namespace}", horizontalpodautoscaler="${hpa.metadata.name}"`);
  });

  test("is scraped from the namespace the endpoint's NetworkPolicy opens its metrics port to", async () => {
    const { physical, stack } = await endpointAndStack();
    const [, metrics] = named("NetworkPolicy", physical).spec.ingress;
    const prometheusNs = await new Promise<string>((res) => stack.prometheusNamespace.apply(res));
    expect(metrics).toEqual({ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": prometheusNs } } }], ports: [{ protocol: "TCP", port: 9090 }] });
    expect(k8sObjectsOfKind("Namespace").map((ns) => ns.metadata.name)).toContain(prometheusNs);
  });
});
