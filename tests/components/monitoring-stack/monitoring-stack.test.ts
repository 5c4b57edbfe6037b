// MonitoringStack under mocks, kube-prometheus-stack mode: the objects, their validity, Pod Security, defaults, outputs.
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { podSecurityRestrictedViolations, podSpecOf, validateK8sObjects } from "../../helpers/k8s.js";
import { byType, findResource, k8sObjects, k8sObjectsOfKind, outputOf, reset, resources } from "../../helpers/pulumi-mocks.js";
import { validateCustomResource } from "./crd-schema.js";
import { baseArgs, fullArgs, makeStack, objectNamed, setupStackMocks } from "./helpers.js";

type Mod = typeof import("../../../components/monitoring-stack/index.js");
let mod: Mod;
let n = 0;

beforeAll(async () => {
  await setupStackMocks("dev");
  mod = await import("../../../components/monitoring-stack/index.js");
});
beforeEach(() => reset());

async function make(args = baseArgs()) {
  const name = `obs${++n}`;
  return { name, base: `mlops-dev-${name}`, stack: await makeStack(mod, name, args) };
}
const RELEASE = "kubernetes:helm.sh/v3:Release";

describe("MonitoringStack with kube-prometheus-stack", () => {
  test("every Kubernetes object validates against its schema: the Kubernetes OpenAPI, or the operator's CRD", async () => {
    await make(fullArgs());
    const objs = k8sObjects();
    const crs = objs.filter((o) => o.apiVersion === "monitoring.coreos.com/v1");
    const core = objs.filter((o) => o.apiVersion !== "monitoring.coreos.com/v1");
    expect(validateK8sObjects(core)).toEqual({ errors: [], metadataOnly: [] });
    expect(crs.map((o) => o.kind).sort()).toEqual(["PrometheusRule", "ServiceMonitor", "ServiceMonitor", "ServiceMonitor", "ServiceMonitor"]);
    for (const cr of crs) expect([cr.metadata.name, validateCustomResource(cr)]).toEqual([cr.metadata.name, []]);
  });

  test("the CRD check itself finds an unknown field, a wrong type and a missing required field", () => {
    const bad = { apiVersion: "monitoring.coreos.com/v1", kind: "ServiceMonitor", metadata: { name: "x" }, spec: { endpoints: [{ port: 80, honourLabels: true }] } };
    expect(validateCustomResource(bad)).toEqual([".spec: missing required field selector", ".spec.endpoints[0].port: must be a string, got 80", ".spec.endpoints[0].honourLabels: unknown field"]);
  });

  test("every pod it runs meets Pod Security restricted: the Pushgateway and each drift job", async () => {
    await make(fullArgs());
    const workloads = [...k8sObjectsOfKind("Deployment"), ...k8sObjectsOfKind("CronJob")];
    expect(workloads.map((w) => w.kind).sort()).toEqual(["CronJob", "CronJob", "Deployment"]);
    for (const w of workloads) expect([w.metadata.name, podSecurityRestrictedViolations(podSpecOf(w)!)]).toEqual([w.metadata.name, []]);
  });

  test("its own namespace enforces restricted; the chart's is privileged (node-exporter needs the host) and warns at baseline", async () => {
    const { base } = await make();
    expect(objectNamed("Namespace", base).metadata.labels).toMatchObject({ "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted" });
    expect(objectNamed("Namespace", `${base}-prometheus`).metadata.labels).toMatchObject({ "pod-security.kubernetes.io/enforce": "privileged", "pod-security.kubernetes.io/warn": "baseline" });
    expect(findResource(RELEASE).inputs.namespace).toBe(`${base}-prometheus`);
  });

  test("installs kube-prometheus-stack 88.5.3 from the prometheus-community repository, pinned", async () => {
    const { base } = await make();
    expect(findResource(RELEASE).inputs).toMatchObject({
      chart: "kube-prometheus-stack",
      version: "88.5.3",
      repositoryOpts: { repo: "https://prometheus-community.github.io/helm-charts" },
      name: base,
      values: { fullnameOverride: base },
    });
  });

  test("applies the CRDs of operator v0.93.1 itself, not through Helm, and keeps them on delete", async () => {
    await make();
    const crds = findResource("kubernetes:yaml/v2:ConfigGroup");
    expect(crds.inputs.files).toHaveLength(10);
    expect(crds.inputs.files).toContain(
      "https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/v0.93.1/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",
    );
    // Deleting a CRD would delete every object of its kind in the cluster.
    expect(crds.options.retainOnDelete).toBe(true);
    const release = findResource(RELEASE);
    expect(release.inputs).toMatchObject({ skipCrds: true, values: { crds: { enabled: false } } });
    // The chart and every monitor and rule wait for the CRDs.
    const crdUrn = resources().find((r) => r.type === "kubernetes:yaml/v2:ConfigGroup")!;
    for (const r of [release, ...byType("kubernetes:monitoring.coreos.com/v1:ServiceMonitor"), ...byType("kubernetes:monitoring.coreos.com/v1:PrometheusRule")]) {
      expect([r.name, r.options.dependencies.some((d) => d.endsWith(`::${crdUrn.name}`))]).toEqual([r.name, true]);
    }
  });

  test("the Kubernetes provider applies server-side: it is not turned off", async () => {
    await make();
    // @pulumi/kubernetes 4.x applies server-side unless `enableServerSideApply` is false (provider.d.ts).
    expect([undefined, true, "true"]).toContain(findResource("pulumi:providers:kubernetes").inputs.enableServerSideApply);
  });

  test("keeps 4 days with no volume and one replica in dev by default", async () => {
    await make();
    const spec = findResource(RELEASE).inputs.values.prometheus.prometheusSpec;
    expect(spec).toMatchObject({ retention: "4d", replicas: 1 });
    expect(spec.storageSpec).toBeUndefined();
  });

  test("replaces Grafana's well-known default password: generated by the chart, or the Secret given", async () => {
    await make();
    expect(findResource(RELEASE).inputs.values.grafana.adminPassword).toBe("");
    reset();
    const { base } = await make(fullArgs());
    expect(findResource(RELEASE).inputs.values.grafana).toMatchObject({ admin: { existingSecret: `${base}-grafana-admin` } });
    expect(findResource(RELEASE).inputs.values.grafana.adminPassword).toBeUndefined();
  });

  test("turns on the Grafana sidecar's folder annotation, which the grafana chart leaves off", async () => {
    await make();
    expect(findResource(RELEASE).inputs.values.grafana.sidecar.dashboards).toEqual({ folderAnnotation: "grafana_folder", provider: { foldersFromFilesStructure: true } });
  });

  test("merges user chart values over its own", async () => {
    await make(baseArgs({ prometheus: { chart: { values: { prometheus: { prometheusSpec: { scrapeInterval: "15s" } }, kubeStateMetrics: { enabled: true } } } } }));
    const values = findResource(RELEASE).inputs.values;
    expect(values.prometheus.prometheusSpec).toMatchObject({ scrapeInterval: "15s", serviceMonitorSelectorNilUsesHelmValues: false, retention: "4d" });
    expect(values.kubeStateMetrics).toEqual({ enabled: true });
  });

  test("a ServiceMonitor per endpoint beside its Service, one per feature server, one for the Pushgateway", async () => {
    const { base } = await make(fullArgs());
    const monitors = k8sObjectsOfKind("ServiceMonitor");
    expect(monitors.map((m) => `${m.metadata.namespace}/${m.metadata.name}`).sort()).toEqual(
      [`${base}-prometheus/${base}-pushgateway`, `mlops-dev-churn/${base}-churn`, `mlops-dev-features/${base}-features-0`, `mlops-dev-fraud/${base}-fraud`].sort(),
    );
    const fraud = objectNamed("ServiceMonitor", `${base}-fraud`);
    expect(fraud.spec.selector).toEqual({ matchLabels: { "app.kubernetes.io/instance": "mlops-dev-fraud" } });
    expect(fraud.spec.namespaceSelector).toEqual({ matchNames: ["mlops-dev-fraud"] });
    expect(fraud.spec.endpoints[0]).toMatchObject({ port: "http", path: "/metrics", scheme: "http" });
    expect(objectNamed("ServiceMonitor", `${base}-churn`).spec.endpoints[0].port).toBe("metrics");
    const features = objectNamed("ServiceMonitor", `${base}-features-0`);
    expect(features.spec.selector.matchLabels).toEqual({ "app.kubernetes.io/instance": "mlops-dev-features-server" });
  });

  test("sends the endpoint's bearer token from its Secret where auth is on, and nothing where it is off", async () => {
    const { base } = await make(fullArgs());
    expect(objectNamed("ServiceMonitor", `${base}-fraud`).spec.endpoints[0].authorization).toEqual({ type: "Bearer", credentials: { name: "mlops-dev-fraud-auth", key: "token" } });
    expect(objectNamed("ServiceMonitor", `${base}-churn`).spec.endpoints[0].authorization).toBeUndefined();
  });

  test("stamps the stack and the endpoint on every series scraped, so the rules select this stack only", async () => {
    const { base } = await make(fullArgs());
    const relabel = (name: string) => objectNamed("ServiceMonitor", name).spec.endpoints[0].relabelings;
    expect(relabel(`${base}-fraud`)).toEqual([
      { action: "replace", targetLabel: "mlops_stack", replacement: base },
      { action: "replace", targetLabel: "mlops_endpoint", replacement: "fraud" },
    ]);
    expect(relabel(`${base}-features-0`)).toContainEqual({ action: "replace", targetLabel: "mlops_feature_store", replacement: "mlops-dev-features-server" });
    expect(relabel(`${base}-pushgateway`)).toEqual([{ action: "replace", targetLabel: "mlops_stack", replacement: base }]);
  });

  test("the Pushgateway keeps the pushed labels (honorLabels) and runs one replica of the pinned image, reachable from the pushers", async () => {
    const { base } = await make(fullArgs());
    expect(objectNamed("ServiceMonitor", `${base}-pushgateway`).spec).toMatchObject({
      endpoints: [{ honorLabels: true, port: "http" }],
      namespaceSelector: { matchNames: [base] },
      selector: { matchLabels: { "app.kubernetes.io/instance": `${base}-pushgateway` } },
    });
    const d = objectNamed("Deployment", `${base}-pushgateway`);
    expect(d.spec.replicas).toBe(1);
    expect(d.spec.template.spec.containers[0]).toMatchObject({ image: "docker.io/prom/pushgateway:v1.11.3@sha256:74fa117cef2d7e383112d25139ff1c2d2e309c35389a9e0554a47136a1482e48", ports: [{ containerPort: 9091 }] });
    const from = objectNamed("NetworkPolicy", `${base}-pushgateway`).spec.ingress[0].from;
    expect(from[1].namespaceSelector.matchExpressions[0].values).toEqual(expect.arrayContaining([`${base}-prometheus`, "mlops-dev-ml", "mlops-dev-features"]));
  });

  test("outputs the Pushgateway URL, the namespaces and the chart's Prometheus URL", async () => {
    const { base, stack } = await make();
    expect(await outputOf(stack.pushgatewayUrl)).toBe(`http://${base}-pushgateway.${base}.svc:9091`);
    expect(await outputOf(stack.namespace)).toBe(base);
    expect(await outputOf(stack.prometheusNamespace)).toBe(`${base}-prometheus`);
    expect(await outputOf(stack.prometheusUrl!)).toBe(`http://${base}-prometheus.${base}-prometheus.svc:9090`);
    expect(stack.stackLabel).toBe(base);
  });

  test("exposes its resources as nodes", async () => {
    const { stack } = await make(fullArgs());
    const nodes = stack.nodes;
    expect(nodes.release).toBeDefined();
    expect(nodes.crds).toBeDefined();
    expect(nodes.serviceMonitors).toHaveLength(4);
    expect(nodes.dashboards).toHaveLength(5);
    expect(nodes.drift?.cronJobs).toHaveLength(2);
    expect(nodes.drift?.role).toBeDefined();
  });

  test("applies a transform to a child", async () => {
    await make(baseArgs({ transform: { pushgateway: { spec: { revisionHistoryLimit: 2 } } } }));
    expect(k8sObjectsOfKind("Deployment")[0]!.spec.revisionHistoryLimit).toBe(2);
  });

  test("uses an existing namespace for its pods when given one, and creates none", async () => {
    await make(baseArgs({ namespace: "observability" }));
    expect(k8sObjectsOfKind("Namespace").map((o) => o.metadata.name)).not.toContain("observability");
    expect(k8sObjectsOfKind("Deployment")[0]!.metadata.namespace).toBe("observability");
  });
});
