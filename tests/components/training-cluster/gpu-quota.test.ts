import { describe, expect, test } from "vitest";
import { MlopsError } from "../../../src/errors.js";
import type { TrainingClusterArgs } from "../../../components/training-cluster/args.js";
import { normalizeClusterArgs } from "../../../components/training-cluster/normalize.js";
import { clusterQueueManifest, tenancyNames } from "../../../components/training-cluster/tenancy.js";

const eks = { version: "1.35", subnetIds: ["subnet-a", "subnet-b"] };
// Capacity: a100 = 3 × 8 = 24 GPUs, l4 = 8 × 1 = 8 GPUs.
const a100 = { name: "a100", instanceType: "p4d.24xlarge", gpusPerNode: 8, max: 3 };
const l4 = { name: "l4", instanceType: "g6.xlarge", gpusPerNode: 1, max: 8 };
const owner = { name: "ml", instance: "mlops-dev-ml", partOf: "mlops" };
const STACK = { project: "mlops", stage: "dev" };

function teamSplit(args: TrainingClusterArgs): Record<string, number> {
  return { ...normalizeClusterArgs(args).teams[0]!.gpuQuotaByPool };
}

function problemsOf(args: TrainingClusterArgs): string[] {
  try {
    normalizeClusterArgs(args);
  } catch (e) {
    expect(e).toBeInstanceOf(MlopsError);
    return [...(e as MlopsError).problems];
  }
  throw new Error("expected normalizeClusterArgs to throw");
}

const gpuQuotaOf = (flavor: any): number => flavor.resources.find((r: any) => r.name === "nvidia.com/gpu").nominalQuota;

describe("per-pool GPU quota", () => {
  test("splits a team's GPU quota across EKS pools in proportion to their GPU capacity by default", () => {
    expect(teamSplit({ eks, nodePools: [a100, l4], teams: [{ name: "fraud", gpuQuota: 16 }] })).toEqual({ a100: 12, l4: 4 });
  });

  test("gives the GPUs left after rounding down to the largest fractional parts, ties to the earlier pool", () => {
    // Capacities 8 : 8 : 16 → shares of 5 are 1.25, 1.25, 2.5: floors 1, 1, 2, one GPU left, and the
    // largest fraction (0.5) belongs to the third pool.
    const p = (name: string, max: number) => ({ name, instanceType: "g6.xlarge", gpusPerNode: 1, max });
    const split = (gpuQuota: number) => teamSplit({ eks, nodePools: [p("x", 8), p("y", 8), p("z", 16)], teams: [{ name: "fraud", gpuQuota }] });
    expect(split(5)).toEqual({ x: 1, y: 1, z: 3 });
    // Shares of 6 are 1.5, 1.5, 3: the tie between x and y goes to x.
    expect(split(6)).toEqual({ x: 2, y: 1, z: 3 });
  });

  test("splits equally across kubeconfig pools by default", () => {
    const pools = ["a", "b", "c"].map((name) => ({ name, gpusPerNode: 8, labels: { pool: name } }));
    expect(teamSplit({ kubeconfig: "x", nodePools: pools, teams: [{ name: "fraud", gpuQuota: 7 }] })).toEqual({ a: 3, b: 2, c: 2 });
  });

  test("uses gpuQuotaByPool as given, a pool left out getting 0", () => {
    const n = normalizeClusterArgs({ eks, nodePools: [a100, l4], teams: [{ name: "fraud", gpuQuota: 16, gpuQuotaByPool: { l4: 16 } }], kueue: {} });
    const cq = clusterQueueManifest(n.teams[0]!, n.pools, tenancyNames(STACK, n.pools, n.teams), owner) as any;
    expect(cq.spec.resourceGroups[0].flavors.map((f: any) => [f.name, gpuQuotaOf(f)])).toEqual([
      ["mlops-dev-a100", 0],
      ["mlops-dev-l4", 16],
      ["mlops-dev-cpu", 0],
    ]);
  });

  test("fails when gpuQuotaByPool does not sum to gpuQuota", () => {
    const problems = problemsOf({ eks, nodePools: [a100, l4], teams: [{ name: "fraud", gpuQuota: 16, gpuQuotaByPool: { a100: 16, l4: 4 } }] });
    expect(problems).toEqual([
      'teams[0].gpuQuotaByPool: of team "fraud" sums to 20, not to its gpuQuota (16); received {"a100":16,"l4":4}. ' +
        "Make the per-pool values add up to 16 (the namespace quota caps the team's total), or leave gpuQuotaByPool out to split gpuQuota by pool capacity.",
    ]);
  });

  test("fails when gpuQuotaByPool names an unknown pool", () => {
    const problems = problemsOf({ eks, nodePools: [a100, l4], teams: [{ name: "fraud", gpuQuota: 16, gpuQuotaByPool: { a100: 8, h100: 8 } }] });
    expect(problems).toEqual([expect.stringMatching(/^teams\[0\]\.gpuQuotaByPool: of team "fraud" names no node pool: h100; received .*Use only pool names as keys: a100, l4\.$/)]);
  });

  test("the ClusterQueue for a two-pool cluster never admits more than gpuQuota in total", () => {
    for (const gpuQuota of [0, 1, 5, 16, 31, 33, 100]) {
      const n = normalizeClusterArgs({ eks, nodePools: [a100, l4], teams: [{ name: "fraud", gpuQuota }], kueue: {} });
      const cq = clusterQueueManifest(n.teams[0]!, n.pools, tenancyNames(STACK, n.pools, n.teams), owner) as any;
      const flavors = cq.spec.resourceGroups[0].flavors;
      // Two pools and the CPU-only flavor, whose GPU quota is 0.
      expect(flavors).toHaveLength(3);
      expect(flavors.reduce((sum: number, f: any) => sum + gpuQuotaOf(f), 0)).toBe(gpuQuota);
      // Borrowing from a cohort would admit past the quota too.
      expect(cq.spec.cohort).toBeUndefined();
    }
  });
});
