import { describe, expect, test } from "vitest";
import { allocatable, allocatableOf, fitsProblems, INSTANCE_TYPES, kubeReservedCpuMillis, kubeReservedMemoryMiB, maxPods } from "../../../components/shared/instance-types.js";
import { gpuTypeFor } from "../../../components/training-cluster/normalize.js";

describe("allocatable", () => {
  test("reserves CPU in the EKS AMI's tiers: 6% of the first core, 1% of the second, 0.5% of the next two, 0.25% above", () => {
    expect(kubeReservedCpuMillis(1)).toBe(60);
    expect(kubeReservedCpuMillis(2)).toBe(70);
    expect(kubeReservedCpuMillis(4)).toBe(80);
    expect(kubeReservedCpuMillis(96)).toBe(80 + 92 * 2.5);
  });

  test("reserves 255Mi plus 11Mi per pod, pods from the ENI limit capped at 110 below 30 vCPUs and 250 above", () => {
    expect(maxPods(INSTANCE_TYPES["g4dn.xlarge"]!)).toBe(29);
    expect(maxPods(INSTANCE_TYPES["g5.xlarge"]!)).toBe(58);
    expect(maxPods(INSTANCE_TYPES["m6i.4xlarge"]!)).toBe(110);
    expect(maxPods(INSTANCE_TYPES["p4d.24xlarge"]!)).toBe(250);
    expect(kubeReservedMemoryMiB(29)).toBe(574);
  });

  test("gives a g4dn.xlarge less than its 4 vCPUs and 16 GiB: 3920m and 15710Mi", () => {
    expect(allocatable(INSTANCE_TYPES["g4dn.xlarge"]!)).toEqual({ cpuMillis: 3920, memoryMiB: 16384 - 574 - 100, gpus: 1, maxPods: 29 });
  });

  test("knows the common sizes of every GPU family and the m6i/m7i sizes", () => {
    for (const t of ["g4dn.xlarge", "g5.xlarge", "g5.12xlarge", "g6.xlarge", "g6e.xlarge", "p3.2xlarge", "p4d.24xlarge", "p5.48xlarge", "m6i.large", "m7i.2xlarge"]) {
      expect(allocatableOf(t), t).toBeDefined();
    }
    for (const [name, type] of Object.entries(INSTANCE_TYPES)) expect(type.gpus > 0, name).toBe(gpuTypeFor(name) !== undefined);
  });

  test("knows nothing of an instance type outside the table", () => {
    expect(allocatableOf("x2iedn.32xlarge")).toBeUndefined();
  });
});

describe("fitsProblems", () => {
  test("fails when cpu does not fit, naming the field, the value, the allocatable and the fix", () => {
    expect(fitsProblems({ cpu: "4" }, ["g4dn.xlarge"])).toEqual([
      'cpu: does not fit a g4dn.xlarge node: its allocatable CPU is 3920m (4 vCPUs less 80m kube-reserved); received "4". Request at most "3920m" (leave room for DaemonSets), or use a larger instance type.',
    ]);
  });

  test("fails when memory does not fit", () => {
    expect(fitsProblems({ memory: "16Gi" }, ["g4dn.xlarge"])).toEqual([expect.stringMatching(/^memory: does not fit a g4dn\.xlarge node: its allocatable memory is 15710Mi .*received "16Gi"\. Request at most "15710Mi"/)]);
  });

  test("fails when the GPUs do not fit", () => {
    expect(fitsProblems({ gpus: 2 }, ["g5.xlarge"])).toEqual([expect.stringMatching(/^gpus: is more than a g5\.xlarge node has \(1 GPUs\); received 2\./)]);
  });

  test("checks every instance type a pool may use: the smallest decides", () => {
    expect(fitsProblems({ cpu: "6", memory: "24Gi" }, ["g4dn.2xlarge"])).toEqual([]);
    expect(fitsProblems({ cpu: "6", memory: "24Gi" }, ["g4dn.xlarge", "g4dn.2xlarge"])).toHaveLength(2);
  });

  test("does not check an instance type it does not know", () => {
    expect(fitsProblems({ cpu: "999", memory: "99Ti", gpus: 64 }, ["x2iedn.32xlarge"])).toEqual([]);
  });

  test("names the fields as the caller spells them", () => {
    expect(fitsProblems({ cpu: "500" }, ["m6i.large"], { cpu: "resources.cpu", memory: "resources.memory", gpus: "gpusPerWorker" })[0]).toMatch(/^resources\.cpu: /);
  });
});
