// Selectors cannot miss: every ServiceMonitor and PrometheusRule the stack emits is selected by the Prometheus
// that kube-prometheus-stack renders from the values the stack passes, whatever the release name.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { deepMerge } from "../../../components/shared/transform.js";
import { findResource, k8sObjectsOfKind, reset, type K8sObject } from "../../helpers/pulumi-mocks.js";
import { baseArgs, fullArgs, makeStack, setupStackMocks } from "./helpers.js";

type Mod = typeof import("../../../components/monitoring-stack/index.js");
let mod: Mod;
let n = 0;

beforeAll(async () => {
  await setupStackMocks("dev");
  mod = await import("../../../components/monitoring-stack/index.js");
});
beforeEach(() => reset());

/** The chart's own defaults for every selector key (tests/fixtures, from its values.yaml). */
const CHART_DEFAULTS = YAML.parse(readFileSync(join(import.meta.dirname, "..", "..", "fixtures", "kube-prometheus-stack-88.5.3", "values-selectors.yaml"), "utf8"));

type Selector = { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };

/** Go template truthiness: false, 0, nil and empty strings, maps and lists are false. */
const truthy = (v: unknown) => !(v === undefined || v === null || v === false || v === 0 || v === "" || (typeof v === "object" && Object.keys(v as object).length === 0));

/**
 * templates/prometheus/prometheus.yaml (chart 88.5.3), re-implemented for the kinds this package emits:
 * a selector given in values wins; else `…SelectorNilUsesHelmValues` renders `matchLabels: { release }`;
 * else `{}`. A namespace selector is the value given, else `{}`. ruleSelector alone may render as absent
 * (null) when the value is null and the switch is off.
 */
function renderPrometheus(values: any, release: string) {
  const spec = values.prometheus.prometheusSpec;
  const selectorOf = (kind: "serviceMonitor" | "rule"): Selector | null => {
    if (truthy(spec[`${kind}Selector`])) return spec[`${kind}Selector`];
    if (truthy(spec[`${kind}SelectorNilUsesHelmValues`])) return { matchLabels: { release } };
    if (kind === "rule" && spec.ruleSelector === null) return null;
    return {};
  };
  const nsSelectorOf = (kind: "serviceMonitor" | "rule"): Selector => (truthy(spec[`${kind}NamespaceSelector`]) ? spec[`${kind}NamespaceSelector`] : {});
  return {
    serviceMonitorSelector: selectorOf("serviceMonitor"),
    serviceMonitorNamespaceSelector: nsSelectorOf("serviceMonitor"),
    ruleSelector: selectorOf("rule"),
    ruleNamespaceSelector: nsSelectorOf("rule"),
  };
}

/** Kubernetes label-selector semantics, as the operator applies them; a null selector matches nothing. */
function selects(sel: Selector | null, labels: Record<string, string>): boolean {
  if (sel === null) return false;
  const okLabels = Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const okExpr = (sel.matchExpressions ?? []).every((e) => {
    const has = e.key in labels;
    switch (e.operator) {
      case "In":
        return has && e.values!.includes(labels[e.key]!);
      case "NotIn":
        return !has || !e.values!.includes(labels[e.key]!);
      case "Exists":
        return has;
      case "DoesNotExist":
        return !has;
      default:
        throw new Error(`unknown operator ${e.operator}`);
    }
  });
  return okLabels && okExpr;
}

/** The namespace's labels as Kubernetes sets them (every namespace carries its own name). */
const nsLabels = (o: K8sObject) => ({ "kubernetes.io/metadata.name": o.metadata.namespace! });

/** Which of the stack's monitors and rules the rendered Prometheus misses. */
function missed(rendered: ReturnType<typeof renderPrometheus>): string[] {
  const out: string[] = [];
  for (const m of k8sObjectsOfKind("ServiceMonitor")) {
    if (!selects(rendered.serviceMonitorSelector, m.metadata.labels ?? {}) || !selects(rendered.serviceMonitorNamespaceSelector, nsLabels(m))) out.push(`ServiceMonitor ${m.metadata.namespace}/${m.metadata.name}`);
  }
  for (const r of k8sObjectsOfKind("PrometheusRule")) {
    if (!selects(rendered.ruleSelector, r.metadata.labels ?? {}) || !selects(rendered.ruleNamespaceSelector, nsLabels(r))) out.push(`PrometheusRule ${r.metadata.namespace}/${r.metadata.name}`);
  }
  return out;
}

const RELEASE_NAMES = ["kube-prometheus-stack", "monitoring", "prom", "mlops-prod-observability"];

describe("the chart's rendered selectors", () => {
  test("select every ServiceMonitor and PrometheusRule the stack emits, whatever the release name", async () => {
    await makeStack(mod, `sel${++n}`, fullArgs());
    const values = deepMerge(CHART_DEFAULTS, findResource("kubernetes:helm.sh/v3:Release").inputs.values);
    expect(k8sObjectsOfKind("ServiceMonitor")).toHaveLength(4);
    for (const release of RELEASE_NAMES) expect([release, missed(renderPrometheus(values, release))]).toEqual([release, []]);
  });

  test("left at the chart's defaults, they would miss every one of them (the release-label trap)", async () => {
    await makeStack(mod, `sel${++n}`, fullArgs());
    const rendered = renderPrometheus(CHART_DEFAULTS, "monitoring");
    expect(rendered.serviceMonitorSelector).toEqual({ matchLabels: { release: "monitoring" } });
    expect(missed(rendered)).toHaveLength(k8sObjectsOfKind("ServiceMonitor").length + 1);
  });

  test("the stack turns off every …SelectorNilUsesHelmValues switch, PodMonitors, Probes and ScrapeConfigs included", async () => {
    await makeStack(mod, `sel${++n}`, baseArgs());
    const spec = findResource("kubernetes:helm.sh/v3:Release").inputs.values.prometheus.prometheusSpec;
    const switches = Object.keys(CHART_DEFAULTS.prometheus.prometheusSpec).filter((k) => k.endsWith("SelectorNilUsesHelmValues"));
    expect(switches).toHaveLength(5);
    for (const s of switches) expect([s, spec[s]]).toEqual([s, false]);
  });

  test("an existing kube-prometheus-stack at its defaults selects them when the stack stamps its release label", async () => {
    await makeStack(mod, `sel${++n}`, baseArgs({ prometheus: { existing: { namespace: "monitoring", selectorLabels: { release: "kps" } } } }));
    expect(missed(renderPrometheus(CHART_DEFAULTS, "kps"))).toEqual([]);
  });

  test("an existing kube-prometheus-stack at its defaults misses them without the label (what selectorLabels is for)", async () => {
    await makeStack(mod, `sel${++n}`, baseArgs({ prometheus: { existing: { namespace: "monitoring" } } }));
    expect(missed(renderPrometheus(CHART_DEFAULTS, "kps")).length).toBeGreaterThan(0);
  });
});
