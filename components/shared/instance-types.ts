/**
 * The EC2 instance types this package knows, and what a pod can request on one of their EKS nodes (the
 * node's allocatable): capacity less what the kubelet reserves. Pure; jobs and endpoints check their
 * requests against it before anything is created, so a request that can never schedule fails validation
 * instead of leaving a pod Pending forever (issue 7, item 8).
 */
import { problem } from "../../src/errors.js";
import { quantityValue } from "./validate.js";

/** What EC2 states for an instance type. */
export interface InstanceType {
  readonly vcpus: number;
  readonly memoryGiB: number;
  /** NVIDIA GPUs (`nvidia.com/gpu`); 0 for CPU-only types. */
  readonly gpus: number;
  /** Network interfaces and IPv4 addresses per interface: with the VPC CNI, they bound the pods a node can run. */
  readonly enis: number;
  readonly ipv4PerEni: number;
}

/** What pods may request on one node of the type: capacity less kube-reserved, system-reserved and the eviction threshold. */
export interface Allocatable {
  readonly cpuMillis: number;
  readonly memoryMiB: number;
  readonly gpus: number;
  /** The kubelet's max pods, from which the memory reservation follows. */
  readonly maxPods: number;
}

const t = (vcpus: number, memoryGiB: number, gpus: number, enis: number, ipv4PerEni: number): InstanceType => ({ vcpus, memoryGiB, gpus, enis, ipv4PerEni });

/**
 * The supported instance types: the GPU families of the node pools (T4, A10G, L4, L40S, V100, A100,
 * H100) in their common sizes, and the general-purpose m6i/m7i sizes of system and serving nodes.
 * vCPUs, memory and GPUs from the EC2 instance type pages (https://aws.amazon.com/ec2/instance-types/g5/,
 * …/g6/, …/g4/, …/p4/, …/p5/, …/m6i/, …/m7i/); network interfaces and IPv4 per interface from
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/AvailableIpPerENI.html.
 */
export const INSTANCE_TYPES: Readonly<Record<string, InstanceType>> = {
  "g4dn.xlarge": t(4, 16, 1, 3, 10),
  "g4dn.2xlarge": t(8, 32, 1, 3, 10),
  "g4dn.4xlarge": t(16, 64, 1, 3, 10),
  "g4dn.8xlarge": t(32, 128, 1, 4, 15),
  "g4dn.12xlarge": t(48, 192, 4, 8, 30),
  "g4dn.16xlarge": t(64, 256, 1, 4, 15),
  "g5.xlarge": t(4, 16, 1, 4, 15),
  "g5.2xlarge": t(8, 32, 1, 4, 15),
  "g5.4xlarge": t(16, 64, 1, 8, 30),
  "g5.8xlarge": t(32, 128, 1, 8, 30),
  "g5.12xlarge": t(48, 192, 4, 15, 50),
  "g5.16xlarge": t(64, 256, 1, 8, 30),
  "g5.24xlarge": t(96, 384, 4, 15, 50),
  "g5.48xlarge": t(192, 768, 8, 7, 50),
  "g6.xlarge": t(4, 16, 1, 4, 15),
  "g6.2xlarge": t(8, 32, 1, 4, 15),
  "g6.4xlarge": t(16, 64, 1, 8, 30),
  "g6.8xlarge": t(32, 128, 1, 8, 30),
  "g6.12xlarge": t(48, 192, 4, 8, 30),
  "g6.16xlarge": t(64, 256, 1, 15, 50),
  "g6.24xlarge": t(96, 384, 4, 15, 50),
  "g6.48xlarge": t(192, 768, 8, 15, 50),
  "g6e.xlarge": t(4, 32, 1, 4, 15),
  "g6e.2xlarge": t(8, 64, 1, 4, 15),
  "p3.2xlarge": t(8, 61, 1, 4, 15),
  "p3.8xlarge": t(32, 244, 4, 8, 30),
  "p3.16xlarge": t(64, 488, 8, 8, 30),
  "p4d.24xlarge": t(96, 1152, 8, 15, 50),
  "p5.48xlarge": t(192, 2048, 8, 64, 50),
  "m6i.large": t(2, 8, 0, 3, 10),
  "m6i.xlarge": t(4, 16, 0, 4, 15),
  "m6i.2xlarge": t(8, 32, 0, 4, 15),
  "m6i.4xlarge": t(16, 64, 0, 8, 30),
  "m6i.8xlarge": t(32, 128, 0, 8, 30),
  "m6i.12xlarge": t(48, 192, 0, 8, 30),
  "m6i.16xlarge": t(64, 256, 0, 15, 50),
  "m7i.large": t(2, 8, 0, 3, 10),
  "m7i.xlarge": t(4, 16, 0, 4, 15),
  "m7i.2xlarge": t(8, 32, 0, 4, 15),
  "m7i.4xlarge": t(16, 64, 0, 8, 30),
  "m7i.8xlarge": t(32, 128, 0, 8, 30),
  "m7i.12xlarge": t(48, 192, 0, 8, 30),
  "m7i.16xlarge": t(64, 256, 0, 15, 50),
};

/** The memory.available hard eviction threshold the EKS AMIs configure. */
export const EVICTION_HARD_MEMORY_MIB = 100;

/**
 * Max pods of an EKS managed node: the VPC CNI's limit, `ENIs × (IPv4 per ENI − 1) + 2` (one address per
 * interface is the node's own; aws-node and kube-proxy use the host network), capped by managed node
 * groups at 110 below 30 vCPUs and 250 from 30 (https://docs.aws.amazon.com/eks/latest/userguide/choosing-instance-type.html#determine-max-pods).
 */
export function maxPods(type: InstanceType): number {
  return Math.min(type.enis * (type.ipv4PerEni - 1) + 2, type.vcpus < 30 ? 110 : 250);
}

/**
 * kube-reserved CPU as the EKS AMIs compute it: 6% of the first core, 1% of the second, 0.5% of the
 * third and fourth, 0.25% of every core above four (in millicores).
 * https://github.com/awslabs/amazon-eks-ami/blob/main/nodeadm/internal/kubelet/config.go (getCPUMillicoresToReserve)
 */
export function kubeReservedCpuMillis(vcpus: number): number {
  const tiers: [cores: number, fraction: number][] = [[1, 0.06], [1, 0.01], [2, 0.005], [Infinity, 0.0025]];
  let left = vcpus;
  let reserved = 0;
  for (const [cores, fraction] of tiers) {
    const n = Math.min(left, cores);
    reserved += n * 1000 * fraction;
    left -= n;
    if (left <= 0) break;
  }
  return reserved;
}

/** kube-reserved memory as the EKS AMIs compute it: 255 MiB plus 11 MiB per pod the node may run (same source). */
export function kubeReservedMemoryMiB(pods: number): number {
  return 255 + 11 * pods;
}

/**
 * Allocatable of one node of the type: capacity − kube-reserved − system-reserved (none: the EKS AMIs
 * reserve for system daemons only through kube-reserved) − the hard eviction threshold (memory).
 * It is an upper bound: the OS reports a little less memory than EC2 states, and DaemonSets (VPC CNI,
 * kube-proxy, the GPU agents) request some of it, so a request just under it may still not fit.
 */
export function allocatable(type: InstanceType): Allocatable {
  const pods = maxPods(type);
  return {
    cpuMillis: type.vcpus * 1000 - kubeReservedCpuMillis(type.vcpus),
    memoryMiB: type.memoryGiB * 1024 - kubeReservedMemoryMiB(pods) - EVICTION_HARD_MEMORY_MIB,
    gpus: type.gpus,
    maxPods: pods,
  };
}

/** The allocatable of a supported instance type; undefined for a type not in {@link INSTANCE_TYPES}. */
export function allocatableOf(instanceType: string): Allocatable | undefined {
  const type = INSTANCE_TYPES[instanceType];
  return type ? allocatable(type) : undefined;
}

/** What one pod asks for: Kubernetes quantities for cpu and memory, a count of GPUs. */
export interface PodRequests {
  readonly cpu?: string;
  readonly memory?: string;
  readonly gpus?: number;
}

/** How the problems name the request fields, e.g. `{ cpu: "resources.cpu", memory: "resources.memory", gpus: "gpusPerWorker" }`. */
export interface RequestFields {
  readonly cpu: string;
  readonly memory: string;
  readonly gpus: string;
}

const DEFAULT_FIELDS: RequestFields = { cpu: "cpu", memory: "memory", gpus: "gpus" };

function showCpu(millis: number): string {
  return Number.isInteger(millis) ? `${millis}m` : `${millis.toFixed(1)}m`;
}

/**
 * The problems of a pod's requests on nodes of `instanceTypes` (a pool: any of its types may be the node):
 * each request must fit the allocatable of every known type, since the pod may land on any of them. A type
 * this table does not know is not checked (its capacity is unknown here; EC2 has hundreds of types). Each
 * problem names the field, the value, the type's allocatable and the fix. Malformed quantities are left
 * to the schema.
 */
export function fitsProblems(requests: PodRequests, instanceTypes: readonly string[], fields: RequestFields = DEFAULT_FIELDS): string[] {
  const out: string[] = [];
  const cpu = requests.cpu !== undefined ? quantityValue(requests.cpu) : undefined;
  const memory = requests.memory !== undefined ? quantityValue(requests.memory) : undefined;
  for (const name of instanceTypes) {
    const a = allocatableOf(name);
    if (!a) continue;
    if (cpu !== undefined && cpu * 1000 > a.cpuMillis) {
      out.push(
        problem(
          fields.cpu,
          `does not fit a ${name} node: its allocatable CPU is ${showCpu(a.cpuMillis)} (${INSTANCE_TYPES[name]!.vcpus} vCPUs less ${showCpu(kubeReservedCpuMillis(INSTANCE_TYPES[name]!.vcpus))} kube-reserved)`,
          requests.cpu,
          `Request at most "${Math.floor(a.cpuMillis)}m" (leave room for DaemonSets), or use a larger instance type.`,
        ),
      );
    }
    if (memory !== undefined && memory / 2 ** 20 > a.memoryMiB) {
      out.push(
        problem(
          fields.memory,
          `does not fit a ${name} node: its allocatable memory is ${a.memoryMiB}Mi (${INSTANCE_TYPES[name]!.memoryGiB}Gi less ${kubeReservedMemoryMiB(a.maxPods)}Mi kube-reserved and ${EVICTION_HARD_MEMORY_MIB}Mi eviction threshold)`,
          requests.memory,
          `Request at most "${a.memoryMiB}Mi" (leave room for DaemonSets), or use a larger instance type.`,
        ),
      );
    }
    if (requests.gpus !== undefined && requests.gpus > a.gpus) {
      out.push(problem(fields.gpus, `is more than a ${name} node has (${a.gpus} GPUs)`, requests.gpus, `Ask for at most ${a.gpus}, or use an instance type with more GPUs.`));
    }
  }
  return out;
}
