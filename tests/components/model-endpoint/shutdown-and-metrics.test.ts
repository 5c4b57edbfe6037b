/**
 * The Deployment settings that match the runtime's drain (a preStop sleep of the shutdown delay, a grace
 * period longer than everything the runtime may still do), and `/metrics` on a port of its own that only
 * the monitoring namespace may reach.
 */
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { parseEndpointSpec } from "../../../src/spec/endpoint.js";
import { podMetadataOf, podSpecOf, validateK8sObjects } from "../../helpers/k8s.js";
import { k8sObjects, k8sObjectsOfKind, reset, setupMocks, type K8sObject } from "../../helpers/pulumi-mocks.js";
import { makeEndpoint } from "./helpers.js";

type EndpointMod = typeof import("../../../components/model-endpoint/index.js");
type ArgsOver = Partial<import("../../../components/model-endpoint/index.js").ModelEndpointArgs>;
let mod: EndpointMod;
let n = 0;

beforeAll(async () => {
  await setupMocks({ project: "mlops", stack: "dev" });
  mod = await import("../../../components/model-endpoint/index.js");
});
beforeEach(() => reset());

const make = (over: ArgsOver = {}) => makeEndpoint(mod, `ep${++n}`, over);
const one = (kind: string): K8sObject => {
  const objs = k8sObjectsOfKind(kind);
  expect(objs).toHaveLength(1);
  return objs[0]!;
};
const pod = () => podSpecOf(one("Deployment"))!;
const container = () => pod().containers[0];
const spec = () => parseEndpointSpec(JSON.parse(container().env.find((e: { name: string }) => e.name === "MLOPS_ENDPOINT_SPEC").value));

describe("stopping a pod", () => {
  test("sleeps 5 s in preStop by default, exec-free, and the runtime delays SIGTERM by the same", async () => {
    await make();
    expect(container().lifecycle).toEqual({ preStop: { sleep: { seconds: 5 } } });
    expect(spec().server.shutdownDelaySeconds).toBe(5);
  });

  test("gives the kubelet's grace period room for the preStop sleep, the runtime's delay and its whole drain", async () => {
    await make({ shutdownDelaySeconds: 7, drainSeconds: 40 });
    const s = spec().server;
    expect(container().lifecycle.preStop.sleep.seconds).toBe(7);
    expect([s.shutdownDelaySeconds, s.drainSeconds]).toEqual([7, 40]);
    // The countdown starts before preStop: sleep, then the runtime's delay, then its drain, then a margin.
    expect(pod().terminationGracePeriodSeconds).toBeGreaterThan(7 + s.shutdownDelaySeconds + s.drainSeconds);
  });

  test("drains for as long as the runtime lets a request take to arrive, 30 s, by default", async () => {
    await make();
    const s = spec().server;
    expect(s.drainSeconds).toBe(30);
    expect(s.drainSeconds).toBeGreaterThanOrEqual(s.requestTimeoutSeconds);
    expect(pod().terminationGracePeriodSeconds).toBe(5 + 5 + 30 + 10);
  });

  test("leaves the preStop hook out with shutdownDelaySeconds: 0", async () => {
    await make({ shutdownDelaySeconds: 0 });
    expect(container().lifecycle).toBeUndefined();
    expect(spec().server.shutdownDelaySeconds).toBe(0);
  });

  test("fails when shutdownDelaySeconds is not a whole number of seconds (what preStop.sleep takes)", () => {
    expect(() => new mod.ModelEndpoint(`bad${++n}`, { registry: "s3://m", model: "f@c", kubernetes: { kubeconfig: "x" }, image: "i:1", shutdownDelaySeconds: 2.5 })).toThrow(
      /args\.shutdownDelaySeconds/,
    );
  });
});

describe("metrics on a port of its own", () => {
  test("serves /metrics on the serving port, with no metrics port, by default", async () => {
    await make();
    expect(container().ports.map((p: { name: string }) => p.name)).toEqual(["http"]);
    expect(one("Service").spec.ports.map((p: { name: string }) => p.name)).toEqual(["http"]);
    expect(one("NetworkPolicy").spec.ingress).toHaveLength(1);
    expect(spec().server.metricsPort).toBeUndefined();
  });

  test("exposes metricsPort on the container and the Service, and tells the runtime and the scrape annotation", async () => {
    await make({ metricsPort: 9090 });
    expect(container().ports).toContainEqual({ name: "metrics", containerPort: 9090, protocol: "TCP" });
    expect(one("Service").spec.ports).toContainEqual(expect.objectContaining({ name: "metrics", port: 9090, targetPort: "metrics" }));
    expect(one("Service").spec.ports).toContainEqual(expect.objectContaining({ name: "http", port: 80, targetPort: "http" }));
    expect(spec().server.metricsPort).toBe(9090);
    expect(podMetadataOf(one("Deployment"))!.annotations["prometheus.io/port"]).toBe("9090");
  });

  test("opens the metrics port only to the default MonitoringStack's Prometheus namespace, and the serving port as before", async () => {
    await make({ metricsPort: 9090, allowFrom: { namespaces: ["checkout"] } });
    const [serving, metrics] = one("NetworkPolicy").spec.ingress;
    expect(serving.ports).toEqual([{ protocol: "TCP", port: 8080 }]);
    expect(serving.from).toEqual([
      { podSelector: {} },
      { namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["checkout"] }] } },
    ]);
    expect(metrics).toEqual({
      from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "mlops-dev-monitoring-prometheus" } } }],
      ports: [{ protocol: "TCP", port: 9090 }],
    });
  });

  test("opens it to monitoringNamespace when given", async () => {
    await make({ metricsPort: 9090, monitoringNamespace: "observability" });
    expect(one("NetworkPolicy").spec.ingress[1].from).toEqual([{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "observability" } } }]);
  });

  test("renders objects that validate against the Kubernetes schema", async () => {
    await make({ metricsPort: 9090, shutdownDelaySeconds: 3 });
    expect(validateK8sObjects(k8sObjects())).toEqual({ errors: [], metadataOnly: [] });
  });

  const attempt = (over: ArgsOver) => () => new mod.ModelEndpoint(`bad${++n}`, { registry: "s3://m", model: "f@c", kubernetes: { kubeconfig: "x" }, image: "i:1", ...over });

  test("fails when metricsPort is the serving port", () => {
    expect(attempt({ metricsPort: 8080 })).toThrow(/args\.metricsPort: must not be 8080, the serving port/);
  });

  test("fails when metricsPort is below 1024", () => {
    expect(attempt({ metricsPort: 80 })).toThrow(/args\.metricsPort: must be 1024 or more/);
  });

  test("fails when monitoringNamespace is given without metricsPort", () => {
    expect(attempt({ monitoringNamespace: "monitoring" })).toThrow(/args\.monitoringNamespace: only applies to metricsPort/);
  });
});
