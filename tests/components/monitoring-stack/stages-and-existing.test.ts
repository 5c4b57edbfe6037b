// Stage defaults (staging, prod) and the existing-operator mode (no chart, no CRDs, labels stamped).
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { byType, findResource, k8sObjectsOfKind, outputOf, reset } from "../../helpers/pulumi-mocks.js";
import { baseArgs, fullArgs, makeStack, setupStackMocks } from "./helpers.js";

type Mod = typeof import("../../../components/monitoring-stack/index.js");
let mod: Mod;
let n = 0;

beforeAll(async () => {
  mod = await import("../../../components/monitoring-stack/index.js");
});
beforeEach(() => reset());

const spec = () => findResource("kubernetes:helm.sh/v3:Release").inputs.values.prometheus.prometheusSpec;

describe("stage defaults", () => {
  test("staging keeps 10 days on a 20Gi volume", async () => {
    await setupStackMocks("staging");
    await makeStack(mod, `st${++n}`, baseArgs());
    expect(spec()).toMatchObject({ retention: "10d", replicas: 1, storageSpec: { volumeClaimTemplate: { spec: { resources: { requests: { storage: "20Gi" } } } } } });
  });

  test("prod keeps 15 days on a 50Gi volume, with two Prometheus replicas", async () => {
    await setupStackMocks("prod");
    await makeStack(mod, `pr${++n}`, baseArgs());
    expect(spec()).toMatchObject({ retention: "15d", replicas: 2, storageSpec: { volumeClaimTemplate: { spec: { resources: { requests: { storage: "50Gi" } } } } } });
  });

  test("the chart's sizes given win over the stage's", async () => {
    await setupStackMocks("prod");
    await makeStack(mod, `pr${++n}`, baseArgs({ prometheus: { chart: { retention: "30d", storageSize: false, replicas: 3, nodeExporter: false } } }));
    expect(spec()).toMatchObject({ retention: "30d", replicas: 3 });
    expect(spec().storageSpec).toBeUndefined();
    expect(findResource("kubernetes:helm.sh/v3:Release").inputs.values.nodeExporter).toEqual({ enabled: false });
  });

  test("the Grafana folder is named after the stage by default", async () => {
    await setupStackMocks("prod");
    await makeStack(mod, `pr${++n}`, baseArgs());
    expect(k8sObjectsOfKind("ConfigMap")[0]!.metadata.annotations).toEqual({ grafana_folder: "MLOps prod" });
  });
});

describe("on an existing Prometheus Operator", () => {
  test("installs no chart and no CRDs, and creates no privileged namespace", async () => {
    await setupStackMocks("dev");
    const stack = await makeStack(mod, `ex${++n}`, fullArgs({ prometheus: { existing: { namespace: "monitoring", alertmanagerConfigSecret: "alertmanager-main" } }, grafana: {} }));
    expect(byType("kubernetes:helm.sh/v3:Release")).toEqual([]);
    expect(byType("kubernetes:yaml/v2:ConfigGroup")).toEqual([]);
    expect(k8sObjectsOfKind("Namespace").map((ns) => ns.metadata.labels!["pod-security.kubernetes.io/enforce"])).toEqual(["restricted"]);
    expect(stack.prometheusUrl).toBeUndefined();
    expect(await outputOf(stack.prometheusNamespace)).toBe("monitoring");
  });

  test("puts the rules, dashboards and the Pushgateway's monitor in the operator's namespace", async () => {
    await setupStackMocks("dev");
    await makeStack(mod, `ex${++n}`, baseArgs({ prometheus: { existing: { namespace: "monitoring" } } }));
    expect(k8sObjectsOfKind("PrometheusRule")[0]!.metadata.namespace).toBe("monitoring");
    for (const m of k8sObjectsOfKind("ConfigMap")) expect(m.metadata.namespace).toBe("monitoring");
    expect(k8sObjectsOfKind("ServiceMonitor").find((m) => m.metadata.name.endsWith("-pushgateway"))!.metadata.namespace).toBe("monitoring");
  });

  test("stamps the selector labels on every monitor and rule, and on nothing else", async () => {
    await setupStackMocks("dev");
    await makeStack(mod, `ex${++n}`, fullArgs({ prometheus: { existing: { namespace: "monitoring", selectorLabels: { release: "kps" }, alertmanagerConfigSecret: "am" } }, grafana: {} }));
    const stamped = k8sObjectsOfKind("ServiceMonitor").concat(k8sObjectsOfKind("PrometheusRule"));
    expect(stamped).toHaveLength(5);
    for (const o of stamped) expect(o.metadata.labels).toMatchObject({ release: "kps" });
    for (const o of [...k8sObjectsOfKind("Deployment"), ...k8sObjectsOfKind("ConfigMap")]) expect(o.metadata.labels!.release).toBeUndefined();
  });

  test("without the chart, a Grafana password has nowhere to go and is refused", async () => {
    await setupStackMocks("dev");
    expect(() => new mod.MonitoringStack("bad", baseArgs({ prometheus: { existing: { namespace: "monitoring" } }, grafana: { adminPassword: "x" } }))).toThrow(/grafana\.adminPassword: applies only to the chart's Grafana/);
  });
});
