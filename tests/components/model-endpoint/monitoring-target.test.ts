// ModelEndpoint.monitoringTarget (what a MonitoringStack takes as is) and the default of monitoringNamespace,
// checked against what a MonitoringStack really creates under the same mocks.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { k8sObjectsOfKind, outputOf, reset, setupMocks, waitForResources } from "../../helpers/pulumi-mocks.js";
import { BASE_ENDPOINT_ARGS, makeEndpoint } from "./helpers.js";

let mod: typeof import("../../../components/model-endpoint/index.js");
let monitoring: typeof import("../../../components/monitoring-stack/index.js");
let n = 0;

beforeAll(async () => {
  await setupMocks({ project: "mlops", stack: "staging" });
  mod = await import("../../../components/model-endpoint/index.js");
  monitoring = await import("../../../components/monitoring-stack/index.js");
});
beforeEach(() => reset());

const TOKEN = "t0ken-for-the-endpoint-0123456789";
const plain = async (t: import("../../../components/monitoring-stack/index.js").MonitoredEndpoint) => ({
  ...t,
  namespace: await outputOf(t.namespace),
  serviceName: await outputOf(t.serviceName),
  ...(t.authSecret ? { authSecret: { ...t.authSecret, name: await outputOf(t.authSecret.name) } } : {}),
  ...(t.autoscalerName !== undefined && t.autoscalerName !== false ? { autoscalerName: await outputOf(t.autoscalerName) } : {}),
});
/** The namespace the endpoint `ep<i>`'s NetworkPolicy opens its metrics port to. */
const metricsPeer = (i: number) =>
  k8sObjectsOfKind("NetworkPolicy").find((p) => p.metadata.name === `mlops-staging-ep${i}`)!.spec.ingress[1].from[0].namespaceSelector.matchLabels["kubernetes.io/metadata.name"];

describe("ModelEndpoint.monitoringTarget", () => {
  test("names the endpoint, its model, namespace, Service and autoscaler", async () => {
    const name = `ep${++n}`;
    const ep = await makeEndpoint(mod, name);
    const hpa = k8sObjectsOfKind("HorizontalPodAutoscaler")[0]!;
    const svc = k8sObjectsOfKind("Service")[0]!;
    expect(await plain(ep.monitoringTarget)).toEqual({
      name,
      model: "fraud@champion",
      namespace: svc.metadata.namespace,
      serviceName: svc.metadata.name,
      autoscalerName: hpa.metadata.name,
    });
  });

  test("gives the metrics port's name with metricsPort, and the auth Secret and its key with auth", async () => {
    const ep = await makeEndpoint(mod, `ep${++n}`, { metricsPort: 9090, auth: { token: pulumi.secret(TOKEN) }, logging: { sampleRate: 1, uri: "s3://payloads/team" } });
    const secret = k8sObjectsOfKind("Secret")[0]!;
    const svc = k8sObjectsOfKind("Service")[0]!;
    const t = await plain(ep.monitoringTarget);
    expect(svc.spec.ports.map((p: { name: string }) => p.name)).toContain(t.metricsPortName);
    expect(t.metricsPortName).toBe("metrics");
    expect(t.authSecret).toEqual({ name: secret.metadata.name, key: "token" });
    expect(Object.keys(secret.stringData)).toEqual(["token"]);
    // With payload logging: where the drift job reads the endpoint's traffic.
    expect(t.payloadUri).toBe("s3://payloads/team");
  });
});

describe("monitoringNamespace", () => {
  test("defaults to where the Prometheus of a MonitoringStack named \"monitoring\" runs", async () => {
    await makeEndpoint(mod, `ep${++n}`, { metricsPort: 9090 });
    const stack = new monitoring.MonitoringStack("monitoring", { kubernetes: { kubeconfig: "apiVersion: v1" }, image: "registry.example.com/mlops-runtime:1" });
    await waitForResources();
    const prometheusNs = await outputOf(stack.prometheusNamespace);
    expect(prometheusNs).toBe("mlops-staging-monitoring-prometheus");
    expect(k8sObjectsOfKind("Namespace").map((ns) => ns.metadata.name)).toContain(prometheusNs);
    expect(metricsPeer(n)).toBe(prometheusNs);
  });

  test("takes a MonitoringStack's prometheusNamespace output", async () => {
    const stack = new monitoring.MonitoringStack(`obs${++n}`, { kubernetes: { kubeconfig: "apiVersion: v1" }, image: "registry.example.com/mlops-runtime:1" });
    await makeEndpoint(mod, `ep${n}`, { metricsPort: 9090, monitoringNamespace: stack.prometheusNamespace });
    expect(metricsPeer(n)).toBe(`mlops-staging-obs${n}-prometheus`);
  });

  test("fails naming the field when it is not a namespace name", () => {
    expect(() => new mod.ModelEndpoint(`bad${++n}`, { ...BASE_ENDPOINT_ARGS, metricsPort: 9090, monitoringNamespace: "Not A Namespace" })).toThrow(/monitoringNamespace/);
  });
});
