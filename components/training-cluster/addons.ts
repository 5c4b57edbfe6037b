/**
 * Cluster add-ons as Helm releases: the NVIDIA device plugin, the DCGM exporter, the cluster
 * autoscaler and Kueue. The values builders are pure; `createRelease` wires one release into Pulumi.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { GPU_RESOURCE, IRSA_ANNOTATION } from "../shared/constants.js";
import { applyTransform, type Transform } from "../shared/transform.js";
import { anyPoolAffinity } from "./node-pools.js";
import { shipsDevicePlugin, type NormalizedPool } from "./normalize.js";

export interface ChartRef {
  readonly chart: string;
  /** Helm repository URL; absent for OCI charts (`chart` is then the `oci://` reference). */
  readonly repo?: string;
}

export const CHARTS = {
  devicePlugin: { chart: "nvidia-device-plugin", repo: "https://nvidia.github.io/k8s-device-plugin" },
  dcgmExporter: { chart: "dcgm-exporter", repo: "https://nvidia.github.io/dcgm-exporter/helm-charts" },
  clusterAutoscaler: { chart: "cluster-autoscaler", repo: "https://kubernetes.github.io/autoscaler" },
  kueue: { chart: "oci://registry.k8s.io/kueue/charts/kueue" },
} as const satisfies Record<string, ChartRef>;

/** Tolerate every taint of every pool (and the GPU taint even with no pool): node agents must run everywhere. */
export function gpuAgentTolerations(pools: readonly NormalizedPool[]): { key: string; operator: "Exists"; effect: string }[] {
  const seen = new Map<string, { key: string; operator: "Exists"; effect: string }>();
  seen.set(`${GPU_RESOURCE}:NoSchedule`, { key: GPU_RESOURCE, operator: "Exists", effect: "NoSchedule" });
  for (const p of pools) for (const t of p.taints) seen.set(`${t.key}:${t.effect}`, { key: t.key, operator: "Exists", effect: t.effect });
  return [...seen.values()];
}

/** Where a GPU node agent runs: on every pool's nodes, tolerating their taints. */
function gpuAgentPlacement(pools: readonly NormalizedPool[]): Record<string, unknown> {
  const affinity = anyPoolAffinity(pools);
  return { tolerations: gpuAgentTolerations(pools), ...(affinity ? { affinity } : {}) };
}

/**
 * Device plugin values. The chart's own default affinity wants Node Feature Discovery labels; EKS GPU
 * AMIs have none, so the pods are pinned to the pools' labels instead. Bottlerocket NVIDIA pools are
 * left out: their AMI runs its own device plugin (normalize drops the release when every pool is one).
 */
export function devicePluginValues(pools: readonly NormalizedPool[]): Record<string, unknown> {
  return gpuAgentPlacement(pools.filter((p) => !shipsDevicePlugin(p)));
}

/** DCGM exporter values: on the GPU nodes only; no ServiceMonitor (its CRD may not exist yet). */
export function dcgmExporterValues(pools: readonly NormalizedPool[]): Record<string, unknown> {
  return { ...gpuAgentPlacement(pools), serviceMonitor: { enabled: false } };
}

export const CLUSTER_AUTOSCALER_SERVICE_ACCOUNT = "cluster-autoscaler";

/** Cluster autoscaler values: auto-discovery by cluster tags, an IRSA role, pinned to the system nodes. */
export function clusterAutoscalerValues(o: {
  clusterName: string;
  region: pulumi.Input<string>;
  roleArn: pulumi.Input<string>;
  imageTag: string;
  nodeSelector: Record<string, string>;
}): Record<string, unknown> {
  return {
    cloudProvider: "aws",
    awsRegion: o.region,
    autoDiscovery: { clusterName: o.clusterName },
    image: { tag: o.imageTag },
    rbac: {
      serviceAccount: {
        create: true,
        name: CLUSTER_AUTOSCALER_SERVICE_ACCOUNT,
        annotations: { [IRSA_ANNOTATION]: o.roleArn },
      },
    },
    extraArgs: {
      "balance-similar-node-groups": true,
      "skip-nodes-with-system-pods": false,
      expander: "least-waste",
      "scale-down-unneeded-time": "10m",
    },
    nodeSelector: o.nodeSelector,
  };
}

/** Creates one Helm release (Helm v3 `Release`: real `helm install` semantics, recorded as one resource). */
export function createRelease(
  parent: pulumi.Resource,
  name: string,
  o: {
    chart: ChartRef;
    version: string;
    namespace: pulumi.Input<string>;
    values: pulumi.Input<Record<string, unknown>>;
    provider: k8s.Provider;
    dependsOn?: pulumi.Input<pulumi.Resource>[];
    createNamespace?: boolean;
    transform?: Transform<k8s.helm.v3.ReleaseArgs>;
  },
): k8s.helm.v3.Release {
  const [args, opts] = applyTransform<k8s.helm.v3.ReleaseArgs>(
    o.transform,
    name,
    {
      name: o.chart.chart.split("/").pop(),
      chart: o.chart.chart,
      version: o.version,
      ...(o.chart.repo ? { repositoryOpts: { repo: o.chart.repo } } : {}),
      namespace: o.namespace,
      createNamespace: o.createNamespace ?? false,
      values: o.values,
      atomic: true,
      cleanupOnFail: true,
    },
    { parent, provider: o.provider, dependsOn: o.dependsOn },
  );
  return new k8s.helm.v3.Release(name, args, opts);
}
