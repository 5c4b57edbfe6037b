/**
 * kube-prometheus-stack, pinned: the chart version, the Prometheus Operator version it ships, the CRD
 * files of that operator release (applied by Pulumi, server-side, so `pulumi up` upgrades them: Helm never
 * upgrades a chart's `crds/`, and client-side apply fails on their size), and the values this package sets.
 *
 * Chart 88.5.3 (prometheus-community/helm-charts charts/kube-prometheus-stack/Chart.yaml, August 2026)
 * ships Prometheus Operator v0.93.1 (its `appVersion`, and the version its vendored CRDs carry).
 */
import { deepMerge } from "../shared/transform.js";

export const KUBE_PROMETHEUS_STACK = {
  chart: "kube-prometheus-stack",
  version: "88.5.3",
  repository: "https://prometheus-community.github.io/helm-charts",
  operatorVersion: "v0.93.1",
} as const;

/** The CRDs of a Prometheus Operator release, one file each, as the chart's UPGRADE.md has users apply them. */
export const OPERATOR_CRDS = [
  "alertmanagerconfigs",
  "alertmanagers",
  "podmonitors",
  "probes",
  "prometheusagents",
  "prometheuses",
  "prometheusrules",
  "scrapeconfigs",
  "servicemonitors",
  "thanosrulers",
] as const;

/** The full CRD files (with descriptions: the operator's maintainers advise against the stripped-down bundle). */
export function operatorCrdUrls(operatorVersion: string): string[] {
  return OPERATOR_CRDS.map(
    (crd) => `https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/${operatorVersion}/example/prometheus-operator-crd/monitoring.coreos.com_${crd}.yaml`,
  );
}

/**
 * The chart's `…SelectorNilUsesHelmValues` switches. Left at the chart's default (true), an empty selector
 * renders as `matchLabels: { release: <release name> }`, and every ServiceMonitor, PodMonitor, Probe,
 * PrometheusRule or ScrapeConfig without that label is silently ignored (helm-charts #430, #1631, #4030).
 * False renders `{}`: every object of the kind, in every namespace the (default, empty) namespace selectors allow.
 */
export const SELECTOR_SWITCHES = [
  "serviceMonitorSelectorNilUsesHelmValues",
  "podMonitorSelectorNilUsesHelmValues",
  "probeSelectorNilUsesHelmValues",
  "ruleSelectorNilUsesHelmValues",
  "scrapeConfigSelectorNilUsesHelmValues",
] as const;

/** The selectors those switches fall back to, and the namespace selectors beside them: user values must leave them empty. */
export const SELECTOR_VALUES = [
  "serviceMonitorSelector",
  "serviceMonitorNamespaceSelector",
  "ruleSelector",
  "ruleNamespaceSelector",
] as const;

/** The Grafana sidecar's folder annotation (the grafana chart leaves `folderAnnotation` unset: folders off). */
export const DEFAULT_FOLDER_ANNOTATION = "grafana_folder";

export interface ChartValuesInput {
  /** Release name, also the chart's `fullnameOverride` (object names `<release>-prometheus`, …). */
  readonly release: string;
  readonly retention: string;
  /** undefined: no persistent volume (an emptyDir). */
  readonly storageSize?: string;
  readonly prometheusReplicas: number;
  readonly nodeExporter: boolean;
  readonly folderAnnotation: string;
  /** The Secret holding `alertmanager.yaml` (receivers); undefined: the chart's own default config. */
  readonly alertmanagerConfigSecret?: string;
  /** The Secret with Grafana's `admin-user` and `admin-password`; undefined: the chart generates a password. */
  readonly grafanaAdminSecret?: string;
  /** The user's values, merged over these (checked by {@link chartValuesProblems}). */
  readonly userValues?: Record<string, unknown>;
}

/** The release's values. */
export function chartValues(v: ChartValuesInput): Record<string, unknown> {
  const selectorSwitches = Object.fromEntries(SELECTOR_SWITCHES.map((s) => [s, false]));
  const ours = {
    fullnameOverride: v.release,
    // The CRDs are Pulumi resources of their own (see operatorCrdUrls); the chart must not install them too.
    crds: { enabled: false },
    nodeExporter: { enabled: v.nodeExporter },
    prometheus: {
      prometheusSpec: {
        ...selectorSwitches,
        retention: v.retention,
        replicas: v.prometheusReplicas,
        ...(v.storageSize
          ? { storageSpec: { volumeClaimTemplate: { spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: v.storageSize } } } } } }
          : {}),
      },
    },
    alertmanager: v.alertmanagerConfigSecret ? { alertmanagerSpec: { useExistingSecret: true, configSecret: v.alertmanagerConfigSecret } } : {},
    grafana: {
      // The chart's default password is the well-known `prom-operator`: an existing Secret, or "" so that the
      // grafana chart generates one (and keeps it across upgrades).
      ...(v.grafanaAdminSecret
        ? { admin: { existingSecret: v.grafanaAdminSecret, userKey: "admin-user", passwordKey: "admin-password" } }
        : { adminPassword: "" }),
      sidecar: { dashboards: { folderAnnotation: v.folderAnnotation, provider: { foldersFromFilesStructure: true } } },
    },
  };
  return (v.userValues ? deepMerge(ours, v.userValues) : ours) as Record<string, unknown>;
}

type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Raw) : {});
const nonEmpty = (v: unknown) => v !== undefined && v !== null && (typeof v !== "object" || Object.keys(v as object).length > 0);

/**
 * User values that would let a monitor or rule of this package go unselected, each a `[path, what, fix]`:
 * a selector switch turned back on, a non-empty selector, the CRDs re-enabled in the chart.
 */
export function chartValuesProblems(values: unknown): { path: string; what: string; value: unknown; fix: string }[] {
  const out: { path: string; what: string; value: unknown; fix: string }[] = [];
  const spec = obj(obj(obj(values).prometheus).prometheusSpec);
  for (const s of SELECTOR_SWITCHES) {
    if (spec[s] !== undefined && spec[s] !== false) {
      out.push({ path: `prometheus.prometheusSpec.${s}`, what: "would make Prometheus select only objects labelled with the release name", value: spec[s], fix: "Remove it: this package turns it off so that none of its monitors or rules is missed." });
    }
  }
  for (const s of SELECTOR_VALUES) {
    if (nonEmpty(spec[s])) {
      out.push({ path: `prometheus.prometheusSpec.${s}`, what: "would narrow what Prometheus selects, and miss this package's monitors or rules", value: spec[s], fix: "Remove it, or use prometheus.existing with selectorLabels to stamp the labels your selector wants." });
    }
  }
  if (obj(obj(values).crds).enabled === true) {
    out.push({ path: "crds.enabled", what: "would have Helm install the CRDs this package applies itself (server-side, upgraded by pulumi up)", value: true, fix: "Remove it." });
  }
  return out;
}
