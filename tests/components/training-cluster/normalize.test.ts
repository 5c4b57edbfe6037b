import { describe, expect, test } from "vitest";
import { MlopsError } from "../../../src/errors.js";
import type { TrainingClusterArgs } from "../../../components/training-cluster/args.js";
import {
  CLUSTER_DEFAULTS,
  EKS_DEFAULT_VERSION,
  EKS_STANDARD_SUPPORT_END,
  eksVersionWarnings,
  GPU_TAINT,
  normalizeClusterArgs,
} from "../../../components/training-cluster/normalize.js";

const eks = { subnetIds: ["subnet-a", "subnet-b"] };
const pool = { name: "a100", instanceType: "p4d.24xlarge", gpusPerNode: 8 };

function problemsOf(args: unknown): string[] {
  try {
    normalizeClusterArgs(args as TrainingClusterArgs);
  } catch (e) {
    expect(e).toBeInstanceOf(MlopsError);
    return [...(e as MlopsError).problems];
  }
  throw new Error("expected normalizeClusterArgs to throw");
}

describe("normalizeClusterArgs", () => {
  test("fails when both eks and kubeconfig are given, and says to pick one", () => {
    const problems = problemsOf({ eks, kubeconfig: "apiVersion: v1", nodePools: [pool] });
    expect(problems.some((p) => p.startsWith("eks:") && /either eks .* or kubeconfig/.test(p))).toBe(true);
  });

  test("fails when neither eks nor kubeconfig is given", () => {
    const problems = problemsOf({ nodePools: [] });
    expect(problems.join("\n")).toMatch(/names no cluster.*Give eks: \{ subnetIds \}/);
  });

  test("fails when a pool's min is greater than its max", () => {
    const problems = problemsOf({ eks, nodePools: [{ ...pool, min: 5, max: 2 }] });
    expect(problems).toEqual([expect.stringMatching(/^nodePools\[0\]\.min: is greater than max \(2\); received 5\./)]);
  });

  test("fails when the system node group's min is greater than its max", () => {
    expect(problemsOf({ eks: { ...eks, systemNodes: { min: 3, max: 1 } } })).toEqual([expect.stringMatching(/^eks\.systemNodes\.min/)]);
  });

  test("fails when an EKS pool names no instance type", () => {
    expect(problemsOf({ eks, nodePools: [{ name: "a100", gpusPerNode: 8 }] })).toEqual([expect.stringMatching(/^nodePools\[0\]\.instanceType: is missing/)]);
  });

  test("fails when a kubeconfig pool uses EKS-only fields or has no labels", () => {
    const problems = problemsOf({ kubeconfig: "x", nodePools: [{ name: "a100", gpusPerNode: 8, instanceType: "p4d.24xlarge", spot: true }] });
    expect(problems).toEqual([
      expect.stringMatching(/^nodePools\[0\]\.instanceType: applies only to EKS/),
      expect.stringMatching(/^nodePools\[0\]\.spot: applies only to EKS/),
      expect.stringMatching(/^nodePools\[0\]\.labels: is empty/),
    ]);
  });

  test("fails when two pools share a name", () => {
    expect(problemsOf({ eks, nodePools: [pool, pool] })).toEqual([expect.stringMatching(/^nodePools\[1\]\.name: repeats/)]);
  });

  test("fails when kueue names a team that does not exist", () => {
    const problems = problemsOf({ eks, nodePools: [pool], teams: [{ name: "fraud", gpuQuota: 8 }], kueue: { teams: ["risk"] } });
    expect(problems).toEqual([expect.stringMatching(/^kueue\.teams\[0\]: names no team; received "risk"\. Use one of the teams: fraud\./)]);
  });

  test("reports every problem at once, shape and cross-field", () => {
    const problems = problemsOf({ eks: { version: "latest", subnetIds: [] }, nodePools: [{ ...pool, gpusPerNode: 0, min: 3, max: 1 }] });
    expect(problems.length).toBeGreaterThanOrEqual(4);
    expect(problems.join("\n")).toMatch(/eks\.version/);
    expect(problems.join("\n")).toMatch(/eks\.subnetIds/);
    expect(problems.join("\n")).toMatch(/nodePools\[0\]\.gpusPerNode/);
    expect(problems.join("\n")).toMatch(/nodePools\[0\]\.min/);
  });

  test("uses min 0, max 2, 200 GiB, on-demand and the AL2023 NVIDIA AMI by default", () => {
    const n = normalizeClusterArgs({ eks, nodePools: [pool] });
    expect(n.pools[0]!.eks).toEqual({ instanceTypes: ["p4d.24xlarge"], min: 0, max: 2, spot: false, diskSizeGiB: 200, amiType: "AL2023_x86_64_NVIDIA" });
  });

  test("derives the GPU type from the instance family", () => {
    const n = normalizeClusterArgs({ eks, nodePools: [pool, { name: "l4", instanceType: "g6.2xlarge", gpusPerNode: 1 }] });
    expect(n.pools.map((p) => p.gpuType)).toEqual(["nvidia-a100", "nvidia-l4"]);
  });

  test("assumes the GPU taint on kubeconfig pools by default", () => {
    const n = normalizeClusterArgs({ kubeconfig: "x", nodePools: [{ name: "a10", gpusPerNode: 1, labels: { "gpu": "a10" } }] });
    expect(n.pools[0]!.taints).toEqual([GPU_TAINT]);
    expect(n.pools[0]!.selector).toEqual({ gpu: "a10" });
  });

  test("uses the device plugin, no DCGM exporter, no Kueue and 2–4 m6i.large system nodes by default", () => {
    const n = normalizeClusterArgs({ eks });
    expect(n.devicePlugin).toEqual({ chartVersion: CLUSTER_DEFAULTS.devicePluginChartVersion });
    expect(n.dcgmExporter).toBe(false);
    expect(n.kueue).toBe(false);
    expect(n.eks!.systemNodes).toEqual({ instanceType: "m6i.large", min: 2, max: 4 });
  });

  test("matches the autoscaler image to the cluster's minor version by default", () => {
    const n = normalizeClusterArgs({ eks: { ...eks, version: "1.32" } });
    expect(n.eks!.clusterAutoscaler).toMatchObject({ imageTag: "v1.32.0" });
  });

  test("uses EKS_DEFAULT_VERSION, the STANDARD support type and the matching autoscaler image by default", () => {
    const n = normalizeClusterArgs({ eks });
    expect(n.eks).toMatchObject({ version: "1.35", supportType: "STANDARD", clusterAutoscaler: { imageTag: "v1.35.0" } });
    expect(CLUSTER_DEFAULTS.eksVersion).toBe(EKS_DEFAULT_VERSION);
  });

  test("defaults to a version still in standard support on 2026-12-01", () => {
    expect(Date.parse(`${EKS_STANDARD_SUPPORT_END[EKS_DEFAULT_VERSION]}T00:00:00Z`)).toBeGreaterThan(Date.parse("2026-12-01T00:00:00Z"));
    expect(normalizeClusterArgs({ eks }, "c", new Date("2026-12-01T00:00:00Z")).warnings).toEqual([]);
  });

  test("warns when a configured version is past its end of standard support, naming the date and the fix", () => {
    const n = normalizeClusterArgs({ eks: { ...eks, version: "1.31" } }, "c", new Date("2026-12-01T00:00:00Z"));
    expect(n.warnings).toEqual([expect.stringMatching(/^eks\.version "1\.31" is past its end of EKS standard support \(2025-11-26\).*Set eks\.version to "1\.35"/)]);
  });

  test("warns from the day standard support ends, and for versions older than the table, not for newer ones", () => {
    expect(eksVersionWarnings("1.34", new Date("2026-12-01T23:59:59Z"))).toEqual([]);
    expect(eksVersionWarnings("1.34", new Date("2026-12-02T00:00:00Z"))).toHaveLength(1);
    expect(eksVersionWarnings("1.20", new Date("2026-12-01T00:00:00Z"))).toHaveLength(1);
    expect(eksVersionWarnings("1.36", new Date("2026-12-01T00:00:00Z"))).toEqual([]);
  });

  test("fails when an AL2 AMI is asked for on Kubernetes 1.33 or later, naming the field and the fix", () => {
    const problems = problemsOf({ eks: { ...eks, version: "1.33" }, nodePools: [{ ...pool, amiType: "AL2_x86_64_GPU" }] });
    expect(problems).toEqual([
      expect.stringMatching(/^nodePools\[0\]\.amiType: is an Amazon Linux 2 AMI, .*1\.33 and later .*received "AL2_x86_64_GPU"\. Use "AL2023_x86_64_NVIDIA"/),
    ]);
  });

  test("fails when an AL2 AMI is asked for with the default version", () => {
    expect(problemsOf({ eks, nodePools: [{ ...pool, amiType: "AL2_x86_64_GPU" }] })).toEqual([expect.stringMatching(/^nodePools\[0\]\.amiType: .*"1\.35"/)]);
  });

  test("accepts an AL2 AMI on Kubernetes 1.32", () => {
    const n = normalizeClusterArgs({ eks: { ...eks, version: "1.32" }, nodePools: [{ ...pool, amiType: "AL2_x86_64_GPU" }] });
    expect(n.pools[0]!.eks!.amiType).toBe("AL2_x86_64_GPU");
  });

  test("labels EKS GPU pools k8s.amazonaws.com/accelerator with the GPU type", () => {
    const n = normalizeClusterArgs({ eks, nodePools: [pool] });
    expect(n.pools[0]!.nodeLabels["k8s.amazonaws.com/accelerator"]).toBe("nvidia-a100");
  });

  test("leaves the device plugin out when every EKS pool is Bottlerocket, and in when one is not", () => {
    const br = { ...pool, amiType: "BOTTLEROCKET_x86_64_NVIDIA" as const };
    expect(normalizeClusterArgs({ eks, nodePools: [br] }).devicePlugin).toBe(false);
    expect(normalizeClusterArgs({ eks, nodePools: [br, { ...pool, name: "al" }] }).devicePlugin).not.toBe(false);
  });
});
