// The ServiceMonitors find what real components create: a ModelEndpoint's Service (its serving or metrics port,
// its auth Secret) and a FeatureStore's server, built under the same mocks from their public outputs.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { AUTH_SECRET_KEY } from "../../../components/model-endpoint/manifests.js";
import { k8sObjectsOfKind, reset, waitForResources, type K8sObject } from "../../helpers/pulumi-mocks.js";
import { baseArgs as storeArgs } from "../feature-store/helpers.js";
import { BASE_ENDPOINT_ARGS } from "../model-endpoint/helpers.js";
import { baseArgs, makeStack, setupStackMocks } from "./helpers.js";

type Mod = typeof import("../../../components/monitoring-stack/index.js");
let mod: Mod;
let endpoints: typeof import("../../../components/model-endpoint/index.js");
let stores: typeof import("../../../components/feature-store/index.js");
let n = 0;

beforeAll(async () => {
  await setupStackMocks("dev");
  mod = await import("../../../components/monitoring-stack/index.js");
  endpoints = await import("../../../components/model-endpoint/index.js");
  stores = await import("../../../components/feature-store/index.js");
});
beforeEach(() => reset());

const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) => Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The Services a monitor selects (labels and namespace), and the port it scrapes on each. */
function scraped(monitor: K8sObject) {
  return k8sObjectsOfKind("Service")
    .filter((s) => monitor.spec.namespaceSelector.matchNames.includes(s.metadata.namespace) && matches(monitor.spec.selector.matchLabels, s.metadata.labels))
    .map((s) => ({ service: s.metadata.name, port: s.spec.ports.find((p: any) => p.name === monitor.spec.endpoints[0].port)?.name }));
}

describe("ServiceMonitors on real components", () => {
  test("select a ModelEndpoint's Service, and only it, on its serving port", async () => {
    const ep = new endpoints.ModelEndpoint(`ep${++n}`, { ...BASE_ENDPOINT_ARGS });
    new endpoints.ModelEndpoint(`other${n}`, { ...BASE_ENDPOINT_ARGS });
    await waitForResources();
    const stack = `mon${n}`;
    await makeStack(mod, stack, baseArgs({ endpoints: [{ name: `ep${n}`, namespace: ep.namespace, serviceName: ep.serviceName }] }));
    const monitor = k8sObjectsOfKind("ServiceMonitor").find((m) => m.metadata.name === `mlops-dev-${stack}-ep${n}`)!;
    expect(scraped(monitor)).toEqual([{ service: `mlops-dev-ep${n}`, port: "http" }]);
  });

  test("scrape a ModelEndpoint's own metrics port, and send the token from its auth Secret", async () => {
    const ep = new endpoints.ModelEndpoint(`ep${++n}`, { ...BASE_ENDPOINT_ARGS, metricsPort: 9090, auth: { token: pulumi.secret("t0ken-for-the-endpoint-0123") } });
    await waitForResources();
    const stack = `mon${n}`;
    await makeStack(mod, stack, baseArgs({
      endpoints: [{ name: `ep${n}`, namespace: ep.namespace, serviceName: ep.serviceName, metricsPortName: "metrics", authSecret: { name: ep.nodes.secret!.metadata.name } }],
    }));
    const monitor = k8sObjectsOfKind("ServiceMonitor").find((m) => m.metadata.name === `mlops-dev-${stack}-ep${n}`)!;
    expect(scraped(monitor)).toEqual([{ service: `mlops-dev-ep${n}`, port: "metrics" }]);
    const secret = k8sObjectsOfKind("Secret").find((s) => s.metadata.name === monitor.spec.endpoints[0].authorization.credentials.name)!;
    expect(secret.metadata.namespace).toBe(monitor.metadata.namespace);
    expect(Object.keys(secret.stringData)).toContain(monitor.spec.endpoints[0].authorization.credentials.key);
    expect(monitor.spec.endpoints[0].authorization.credentials.key).toBe(AUTH_SECRET_KEY);
  });

  test("select a FeatureStore's server (the component passed as is), not its Valkey", async () => {
    const store = new stores.FeatureStore(`fs${++n}`, storeArgs());
    await waitForResources();
    const stack = `mon${n}`;
    await makeStack(mod, stack, baseArgs({ featureStores: [store] }));
    const monitor = k8sObjectsOfKind("ServiceMonitor").find((m) => m.metadata.name === `mlops-dev-${stack}-features-0`)!;
    expect(scraped(monitor)).toEqual([{ service: `mlops-dev-fs${n}-server`, port: "http" }]);
  });

  test("watch the FeatureStore's views against their TTLs from its spec", async () => {
    const store = new stores.FeatureStore(`fs${++n}`, storeArgs());
    await waitForResources();
    await makeStack(mod, `mon${n}`, baseArgs({ featureStores: [store] }));
    const stale = k8sObjectsOfKind("PrometheusRule")[0]!.spec.groups.flatMap((g: any) => g.rules).filter((r: any) => r.alert === "MlopsFeatureStale");
    // txn_stats has ttl "3d" in the feature-store tests' views.
    expect(stale.map((r: any) => [r.labels.view, r.expr.match(/> (\d+)$/)?.[1]])).toEqual([["txn_stats", String(3 * 86400)]]);
  });

  test("alert on the ModelEndpoint's own autoscaler", async () => {
    const ep = new endpoints.ModelEndpoint(`ep${++n}`, { ...BASE_ENDPOINT_ARGS });
    await waitForResources();
    await makeStack(mod, `mon${n}`, baseArgs({ endpoints: [{ name: `ep${n}`, namespace: ep.namespace, serviceName: ep.serviceName }] }));
    const hpa = k8sObjectsOfKind("HorizontalPodAutoscaler").find((h) => h.metadata.name === `mlops-dev-ep${n}`)!;
    const rule = k8sObjectsOfKind("PrometheusRule")[0]!.spec.groups.flatMap((g: any) => g.rules).find((r: any) => r.alert === "MlopsEndpointAtMaxReplicas");
    expect(rule.expr).toContain(`namespace="${hpa.metadata.namespace}", horizontalpodautoscaler="${hpa.metadata.name}"`);
  });
});
