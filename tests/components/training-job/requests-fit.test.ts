/** A job's requests must fit the nodes it can land on (issue 7, item 8). */
import { describe, expect, test } from "vitest";
import { MlopsError } from "../../../src/errors.js";
import { normalizeClusterArgs } from "../../../components/training-cluster/normalize.js";
import type { TrainingJobArgs } from "../../../components/training-job/args.js";
import { normalizeTrainingJob, type TrainingJobClusterFacts } from "../../../components/training-job/normalize.js";

const cfg = normalizeClusterArgs({
  eks: { version: "1.35", subnetIds: ["subnet-a", "subnet-b"] },
  nodePools: [
    { name: "t4", instanceTypes: ["g4dn.xlarge", "g4dn.2xlarge"], gpusPerNode: 1, spot: true },
    { name: "a100", instanceType: "p4d.24xlarge", gpusPerNode: 8 },
  ],
});
const facts = (over: Partial<TrainingJobClusterFacts> = {}): TrainingJobClusterFacts => ({
  instance: "mlops-staging-ml",
  partOf: "mlops",
  pools: cfg.pools,
  teams: [],
  kueueTeams: [],
  namespaces: { default: "mlops-staging-training", byTeam: {} },
  priorityClassName: "mlops-staging-training",
  cpuInstanceTypes: ["m6i.large"],
  ...over,
});
const base: TrainingJobArgs = {
  registry: "s3://models/registry",
  model: "fraud",
  dataset: { uri: "s3://data/fraud/train.parquet", label: "is_fraud" },
  trainer: { command: ["python", "train.py"] },
};

function problemsOf(args: Partial<TrainingJobArgs>, cluster = facts()): string[] {
  try {
    normalizeTrainingJob("fraud", { ...base, ...args } as TrainingJobArgs, cluster);
  } catch (e) {
    expect(e).toBeInstanceOf(MlopsError);
    return [...(e as MlopsError).problems];
  }
  return [];
}

describe("requests that fit", () => {
  test("fails when the default 4 CPU / 16Gi worker is put on a g4dn.xlarge pool (the staging job's bug)", () => {
    const problems = problemsOf({ nodePool: "t4" });
    expect(problems).toEqual([
      expect.stringMatching(/^resources\.cpu: does not fit a g4dn\.xlarge node: its allocatable CPU is 3920m .*received "4"\. Request at most "3920m"/),
      expect.stringMatching(/^resources\.memory: does not fit a g4dn\.xlarge node: its allocatable memory is 15710Mi .*received "16Gi"/),
    ]);
  });

  test("accepts requests that fit every instance type of the pool", () => {
    expect(problemsOf({ nodePool: "t4", resources: { cpu: "3", memory: "12Gi" } })).toEqual([]);
  });

  test("accepts the default worker on a node large enough", () => {
    expect(problemsOf({ nodePool: "a100", gpusPerWorker: 8 })).toEqual([]);
  });

  test("fails when a CPU-only job asks for more than the system nodes it runs on have", () => {
    expect(problemsOf({ gpusPerWorker: 0, resources: { cpu: "4" } })).toEqual([expect.stringMatching(/^resources\.cpu: does not fit a m6i\.large node: its allocatable CPU is 1930m/)]);
  });

  test("gives a CPU-only job 1 CPU and 2Gi by default, which fit the default system nodes", () => {
    const job = normalizeTrainingJob("fraud", { ...base, gpusPerWorker: 0 }, facts());
    expect(job.resources).toMatchObject({ cpu: "1", memory: "2Gi" });
  });

  test("checks a kubeconfig pool selected by its instance-type label", () => {
    const kc = normalizeClusterArgs({ kubeconfig: "x", nodePools: [{ name: "t4", gpusPerNode: 1, labels: { "node.kubernetes.io/instance-type": "g4dn.xlarge" } }] });
    expect(problemsOf({ nodePool: "t4" }, facts({ pools: kc.pools, cpuInstanceTypes: [] }))).toHaveLength(2);
  });

  test("does not check a kubeconfig pool whose instance type is unknown", () => {
    const kc = normalizeClusterArgs({ kubeconfig: "x", nodePools: [{ name: "gpu", gpusPerNode: 1, labels: { pool: "gpu" } }] });
    expect(problemsOf({ nodePool: "gpu", resources: { cpu: "500" } }, facts({ pools: kc.pools, cpuInstanceTypes: [] }))).toEqual([]);
  });

  test("fails when a GPU-less job is pinned to a GPU pool", () => {
    expect(problemsOf({ nodePool: "a100", gpusPerWorker: 0 })).toEqual([
      'nodePool: is a GPU pool, and the job asks for no GPUs (gpusPerWorker: 0); received "a100". Remove nodePool: a CPU-only job runs off the GPU nodes. Or give gpusPerWorker ≥ 1 if it uses GPUs.',
    ]);
  });
});
