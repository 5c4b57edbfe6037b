/** Kueue flavors and queues (issue 7, item 14): CPU-only jobs are never admitted onto a GPU flavor. */
import { describe, expect, test } from "vitest";
import { normalizeClusterArgs } from "../../../components/training-cluster/normalize.js";
import { clusterQueueManifest, cpuFlavorManifest, resourceFlavorManifest, tenancyNames } from "../../../components/training-cluster/tenancy.js";
import { MlopsError } from "../../../src/errors.js";

const cfg = normalizeClusterArgs({
  eks: { subnetIds: ["subnet-a", "subnet-b"] },
  nodePools: [
    { name: "a100", instanceType: "p4d.24xlarge", gpusPerNode: 8 },
    { name: "l4", instanceType: "g6.xlarge", gpusPerNode: 1 },
  ],
  teams: [{ name: "fraud", gpuQuota: 8 }],
  kueue: {},
});
const owner = { name: "ml", instance: "mlops-dev-ml", partOf: "mlops" };
const names = tenancyNames({ project: "mlops", stage: "dev" }, cfg.pools, cfg.teams);

describe("Kueue flavors", () => {
  test("gives every ClusterQueue a CPU-only flavor, last, with no GPU quota", () => {
    const flavors = (clusterQueueManifest(cfg.teams[0]!, cfg.pools, names, owner) as any).spec.resourceGroups[0].flavors;
    expect(flavors.map((f: any) => f.name)).toEqual(["mlops-dev-a100", "mlops-dev-l4", "mlops-dev-cpu"]);
    expect(flavors[2].resources).toEqual([
      { name: "cpu", nominalQuota: "1000" },
      { name: "memory", nominalQuota: "8Ti" },
      { name: "nvidia.com/gpu", nominalQuota: 0 },
    ]);
  });

  test("makes the CPU flavor select no labels and carry no taints, so its pods stay off the tainted GPU nodes", () => {
    expect(cpuFlavorManifest(names.cpuFlavor, owner)).toMatchObject({ kind: "ResourceFlavor", metadata: { name: "mlops-dev-cpu" }, spec: {} });
  });

  test("makes a pool's flavor carry the pool's taints, so Kueue admits only pods that tolerate them", () => {
    const flavor = resourceFlavorManifest(cfg.pools[0]!, names.flavors.a100!, owner) as any;
    expect(flavor.spec.nodeTaints).toEqual([{ key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" }]);
    expect(flavor.spec.nodeLabels).toEqual({ "mlops.dev/node-pool": "a100" });
  });

  test("adds no tolerations to the pods a GPU flavor admits (they would let CPU-only pods onto GPU nodes)", () => {
    const flavor = resourceFlavorManifest(cfg.pools[0]!, names.flavors.a100!, owner) as any;
    expect(flavor.spec.tolerations).toBeUndefined();
  });

  test("fails when a pool is named like the CPU flavor", () => {
    expect(() =>
      normalizeClusterArgs({ eks: { subnetIds: ["subnet-a", "subnet-b"] }, nodePools: [{ name: "cpu", instanceType: "g6.xlarge", gpusPerNode: 1 }], teams: [{ name: "fraud", gpuQuota: 1 }], kueue: {} }),
    ).toThrow(MlopsError);
  });
});

describe("kueue.installController", () => {
  const base = { eks: { subnetIds: ["subnet-a", "subnet-b"] }, nodePools: [{ name: "l4", instanceType: "g6.xlarge", gpusPerNode: 1 }], teams: [{ name: "fraud", gpuQuota: 1 }] };

  test("installs the controller by default", () => {
    expect(normalizeClusterArgs({ ...base, kueue: {} }).kueue).toEqual({ installController: true, chartVersion: "0.13.4", teams: ["fraud"] });
  });

  test("keeps the queues but no chart with installController: false", () => {
    expect(normalizeClusterArgs({ ...base, kueue: { installController: false } }).kueue).toEqual({ installController: false, teams: ["fraud"] });
  });

  test("fails when a chartVersion is given with installController: false", () => {
    expect(() => normalizeClusterArgs({ ...base, kueue: { installController: false, chartVersion: "0.13.4" } })).toThrow(/kueue\.chartVersion: is given with installController: false.*Remove chartVersion/);
  });
});
