/** Validation and defaults of `addTrainingJob` args against the cluster they run on (pure). */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { problem } from "../../src/errors.js";
import { TRAIN_DEFAULTS, type TrainSpecInput } from "../../src/spec/train.js";
import { KMS_KEY_ARN_FIX, parseKmsKeyArn } from "../shared/iam-policy.js";
import type { IrsaIssuer } from "../shared/irsa.js";
import { S3_ACCESS_ENV } from "../shared/s3-access.js";
import { fitsProblems } from "../shared/instance-types.js";
import { validateArgs } from "../shared/validate.js";
import type { NormalizedPool } from "../training-cluster/normalize.js";
import { TRAINING_PUSHGATEWAY_ENV, TrainingJobArgsSchema, TrainingJobNameSchema, type TrainingJobArgs, type TrainingJobFileDataset, type TrainingJobTrainingSetDataset } from "./args.js";

/** Every default of `addTrainingJob`, in one place (the JSDoc of TrainingJobArgs states the same values). */
export const TRAINING_JOB_DEFAULTS = {
  workers: 1,
  /** GPUs per worker when the cluster has a GPU pool (0 otherwise). */
  gpusPerWorker: 1,
  backoffLimit: 3,
  /** A run (all its retries) is stopped after a day: a hung run must not hold its nodes forever. */
  activeDeadlineSeconds: 24 * 3600,
  /** CronJob runs are cleaned up after a week; one-off Jobs are kept (see `ttlSecondsAfterFinished`). */
  cronJobTtlSecondsAfterFinished: 7 * 24 * 3600,
  /** Per GPU worker: sized for a GPU node of 8 vCPUs and more (a 4-vCPU node, e.g. g5.xlarge, needs less: see fitsProblems). */
  cpu: "4",
  memory: "16Gi",
  /**
   * Per CPU-only worker (`gpusPerWorker: 0`). Such a pod runs off the GPU pools (they are tainted), i.e.
   * on EKS on the system group, whose default m6i.large allots 1930m CPU and about 7.3 GiB to pods, shared
   * with CoreDNS, the autoscaler and Kueue: the GPU worker's 4 CPU / 16 GiB would never schedule there.
   */
  cpuOnly: { cpu: "1", memory: "2Gi" },
  shmSize: "8Gi",
  scratchSize: "50Gi",
  /** Time for the runtime to sync its checkpoint on SIGTERM. */
  terminationGracePeriodSeconds: 120,
  /** A missed schedule is skipped after this long rather than run late. */
  startingDeadlineSeconds: 3600,
  historyLimit: 3,
  /** Arguments to the runtime image's entrypoint (the `mlops` command): `mlops train`. */
  command: ["train"] as readonly string[],
} as const;

/**
 * What a TrainingCluster hands each of its jobs (the one internal view of the cluster a job has). The
 * pure builders read only its plain fields; the component also uses the provider, OIDC issuer and the
 * resources to wait for.
 */
export interface TrainingJobContext {
  /** The cluster's physical name (the `app.kubernetes.io/instance` label's prefix). */
  readonly instance: string;
  /** The project (the `app.kubernetes.io/part-of` label). */
  readonly partOf: string;
  readonly pools: readonly NormalizedPool[];
  readonly teams: readonly string[];
  /** Teams with a Kueue LocalQueue. */
  readonly kueueTeams: readonly string[];
  /**
   * Where jobs run: the namespace of jobs that name no team, and each team's. Their names carry the stack
   * (`${project}-${stage}-training`, `${project}-${stage}-<team>`), so the cluster says what they are.
   */
  readonly namespaces: { readonly default: string; readonly byTeam: Readonly<Record<string, string>> };
  /** The cluster's training PriorityClass (`${project}-${stage}-training`). */
  readonly priorityClassName: string;
  /**
   * The instance types a CPU-only job's pods may land on (untainted nodes: on EKS the system group); empty
   * where they are unknown (a kubeconfig cluster), and then nothing is checked.
   */
  readonly cpuInstanceTypes: readonly string[];
  readonly provider: k8s.Provider;
  /** EKS only: the OIDC provider, so jobs get their own service-account roles. */
  readonly irsa?: IrsaIssuer;
  /** Namespaces, priority classes and queues the job's objects need first. */
  readonly dependsOn: readonly pulumi.Resource[];
}

/** The part of the context validation and the manifests read: plain data. */
export type TrainingJobClusterFacts = Pick<TrainingJobContext, "instance" | "partOf" | "pools" | "teams" | "kueueTeams" | "namespaces" | "priorityClassName" | "cpuInstanceTypes">;

export interface NormalizedTrainingJob {
  readonly name: string;
  readonly namespace: string;
  readonly priorityClassName: string;
  /** The runtime image; undefined when the component is to build it. */
  readonly image?: pulumi.Input<string>;
  readonly workers: number;
  readonly gpusPerWorker: number;
  readonly masterPort: number;
  readonly pool?: NormalizedPool;
  readonly queueName?: string;
  readonly schedule?: string;
  readonly timeZone?: string;
  readonly backoffLimit: number;
  readonly activeDeadlineSeconds: number;
  readonly ttlSecondsAfterFinished?: number;
  readonly resources: { readonly cpu: string; readonly memory: string; readonly shmSize: string; readonly scratchSize: string };
  readonly env: Readonly<Record<string, string>>;
  /** The Pushgateway's base URL, set as `MLOPS_PUSHGATEWAY` in the pods. */
  readonly pushgatewayUrl?: pulumi.Input<string>;
  /** How the pods reach S3 without IRSA; `staticCredentials`: a Secret holds them. */
  readonly s3: { readonly endpoint?: string; readonly region?: string; readonly staticCredentials: boolean };
  readonly serviceAccountName: string;
  /**
   * The TrainSpec without its registry (an Output until deployment), and for a training set without its
   * `featureRegistry` (below): {@link buildTrainSpec} puts both in.
   */
  readonly spec: Omit<TrainSpecInput, "registry" | "dataset"> & { readonly dataset: NormalizedDataset };
  /** A training set's feature registry URI (an Output when the FeatureStore is in the same program). */
  readonly featureRegistry?: pulumi.Input<string>;
}

/** The job's dataset as rendered: a file, or a training set whose registry URI is filled in later. */
export type NormalizedDataset = TrainingJobFileDataset | Omit<TrainingJobTrainingSetDataset, "featureRegistry">;

/**
 * Validates `addTrainingJob` args against the cluster and fills in defaults. Throws one MlopsError with
 * every problem (TrainSpec fields included), each with the value received and the fix.
 */
export function normalizeTrainingJob(name: string, args: TrainingJobArgs, cluster: TrainingJobClusterFacts): NormalizedTrainingJob {
  validateArgs(TrainingJobArgsSchema, args, {
    context: `addTrainingJob(${JSON.stringify(name)})`,
    prefix: "",
    crossFieldChecks: (a: TrainingJobArgs) => clusterProblems(name, a ?? ({} as TrainingJobArgs), cluster),
  });
  const workers = args.workers ?? TRAINING_JOB_DEFAULTS.workers;
  const gpusPerWorker = args.gpusPerWorker ?? defaultGpus(cluster);
  const pool = poolOf(args, gpusPerWorker, cluster);
  const r = args.resources ?? {};
  const queued = args.team !== undefined && cluster.kueueTeams.includes(args.team);
  const ttl = args.ttlSecondsAfterFinished ?? (args.schedule !== undefined ? TRAINING_JOB_DEFAULTS.cronJobTtlSecondsAfterFinished : undefined);
  return {
    name,
    namespace: args.team !== undefined ? cluster.namespaces.byTeam[args.team]! : cluster.namespaces.default,
    priorityClassName: cluster.priorityClassName,
    ...(args.image !== undefined ? { image: args.image } : {}),
    workers,
    gpusPerWorker,
    masterPort: TRAIN_DEFAULTS.masterPort,
    ...(pool ? { pool } : {}),
    ...(queued ? { queueName: args.team } : {}),
    ...(args.schedule !== undefined ? { schedule: args.schedule.trim() } : {}),
    ...(args.timeZone !== undefined ? { timeZone: args.timeZone } : {}),
    backoffLimit: args.backoffLimit ?? TRAINING_JOB_DEFAULTS.backoffLimit,
    activeDeadlineSeconds: args.activeDeadlineSeconds ?? TRAINING_JOB_DEFAULTS.activeDeadlineSeconds,
    ...(ttl !== undefined ? { ttlSecondsAfterFinished: ttl } : {}),
    resources: {
      ...defaultRequests(gpusPerWorker),
      ...(r.cpu !== undefined ? { cpu: r.cpu } : {}),
      ...(r.memory !== undefined ? { memory: r.memory } : {}),
      shmSize: r.shmSize ?? TRAINING_JOB_DEFAULTS.shmSize,
      scratchSize: r.scratchSize ?? TRAINING_JOB_DEFAULTS.scratchSize,
    },
    env: { ...(args.env ?? {}) },
    ...(args.pushgatewayUrl !== undefined ? { pushgatewayUrl: args.pushgatewayUrl } : {}),
    s3: {
      ...(args.s3?.endpoint !== undefined ? { endpoint: args.s3.endpoint } : {}),
      ...(args.s3?.region !== undefined ? { region: args.s3.region } : {}),
      staticCredentials: args.s3?.credentials !== undefined,
    },
    serviceAccountName: `${name}-trainer`,
    spec: specOf(name, args),
    ...("trainingSet" in args.dataset ? { featureRegistry: featureRegistryUri(args.dataset.featureRegistry) } : {}),
  };
}

/** The URI of a FeatureStore (anything with `registryUri`), or the URI given. */
function featureRegistryUri(r: TrainingJobTrainingSetDataset["featureRegistry"]): pulumi.Input<string> {
  return r !== null && typeof r === "object" && "registryUri" in r ? r.registryUri : r;
}

/** The S3 locations a run of the job reaches, by what it may do there (see ServiceAccountRoleArgs). */
export interface TrainingJobS3Access<T> {
  /** The dataset: its file, or its training set's folder in the feature registry. */
  readonly read: readonly (string | T)[];
  /** Its own model's versions and aliases, and its checkpoint prefix. */
  readonly write: readonly (string | T)[];
  /** The content-addressed artifacts, shared by every model (adding one changes no other model's version). */
  readonly put: readonly (string | T)[];
  /**
   * The registry's `models/` folder, which it lists (only) to name the models that exist when its own is
   * missing; likewise the feature registry's `training-sets/` for a training set.
   */
  readonly list: readonly (string | T)[];
}

/**
 * What a run of the job reads and writes, from the registry's key layout (src/registry/registry.ts): the
 * dataset, or for a training set `training-sets/<name>/` of the feature registry (src/features/training-sets.ts;
 * read only, every version: `:latest` is resolved at run time); `models/<model>/` (versions and aliases, the
 * `mustBeat` holder included: it is its own model); `blobs/sha256/`; the checkpoint prefix (`checkpoint.uri`,
 * else `<registry>/checkpoints/<job>/`, the folder of runtime/train/checkpoint.ts's defaultCheckpointUri,
 * which also holds the run's pinned `:latest`). `inRegistry(path)` and `inFeatureRegistry(path)` make
 * the URI of a path under each registry (their URIs may be Outputs until deployment).
 */
export function trainingJobS3Access<T>(
  job: Pick<NormalizedTrainingJob, "name" | "spec">,
  inRegistry: (path: string) => T,
  inFeatureRegistry?: (path: string) => T,
): TrainingJobS3Access<T> {
  const dataset = job.spec.dataset;
  let read: (string | T)[];
  let listFeatures: T[] = [];
  if ("trainingSet" in dataset) {
    if (!inFeatureRegistry) throw new Error("trainingJobS3Access: a trainingSet dataset needs inFeatureRegistry");
    read = [inFeatureRegistry(`training-sets/${dataset.trainingSet.slice(0, dataset.trainingSet.lastIndexOf(":"))}`)];
    listFeatures = [inFeatureRegistry("training-sets")];
  } else {
    read = [dataset.uri];
  }
  return {
    read,
    write: [inRegistry(`models/${job.spec.model}`), job.spec.checkpoint?.uri ?? inRegistry(`checkpoints/${job.name}`)],
    put: [inRegistry("blobs/sha256")],
    list: [inRegistry("models"), ...listFeatures],
  };
}

/** `s3://bucket/prefix` + `a/b` → `s3://bucket/prefix/a/b`. */
export function underUri(uri: string, path: string): string {
  return `${uri.replace(/\/+$/, "")}/${path}`;
}

/** The TrainSpec fields as the user gave them; the runtime applies the spec's own defaults. */
function specOf(name: string, args: TrainingJobArgs): NormalizedTrainingJob["spec"] {
  let dataset: NormalizedDataset = args.dataset;
  if ("trainingSet" in args.dataset) {
    const { featureRegistry: _rendered, ...rest } = args.dataset;
    dataset = rest;
  }
  return {
    name,
    model: args.model,
    dataset,
    trainer: args.trainer,
    ...(args.task !== undefined ? { task: args.task } : {}),
    ...(args.split !== undefined ? { split: args.split } : {}),
    ...(args.gate !== undefined ? { gate: args.gate } : {}),
    ...(args.alias !== undefined ? { alias: args.alias } : {}),
    ...(args.checkpoint !== undefined ? { checkpoint: args.checkpoint } : {}),
    ...(args.lineage !== undefined ? { lineage: args.lineage } : {}),
  };
}

/** The default cpu and memory of a worker: a GPU worker's, or a CPU-only one's. */
function defaultRequests(gpusPerWorker: number): { cpu: string; memory: string } {
  const d = gpusPerWorker > 0 ? TRAINING_JOB_DEFAULTS : TRAINING_JOB_DEFAULTS.cpuOnly;
  return { cpu: d.cpu, memory: d.memory };
}

/**
 * The instance types the job's pods may land on: its pool's (EKS: the node group's types; kubeconfig:
 * the `node.kubernetes.io/instance-type` label, when the pool is selected by it), or for a CPU-only job
 * the cluster's CPU nodes. Empty when unknown.
 */
function instanceTypesOf(pool: NormalizedPool | undefined, cluster: TrainingJobClusterFacts): readonly string[] {
  if (!pool) return cluster.cpuInstanceTypes;
  if (pool.eks) return pool.eks.instanceTypes;
  const labelled = pool.nodeLabels[INSTANCE_TYPE_LABEL];
  return labelled ? [labelled] : [];
}

function defaultGpus(cluster: TrainingJobClusterFacts): number {
  return cluster.pools.length > 0 ? TRAINING_JOB_DEFAULTS.gpusPerWorker : 0;
}

/** The pool named, else the first pool when the job wants GPUs. */
function poolOf(args: TrainingJobArgs, gpusPerWorker: number, cluster: TrainingJobClusterFacts): NormalizedPool | undefined {
  if (args.nodePool !== undefined) return cluster.pools.find((p) => p.name === args.nodePool);
  return gpusPerWorker > 0 ? cluster.pools[0] : undefined;
}

/** The rules that need the job's name or its cluster; tolerant of a bad shape (the schema reports that). */
function clusterProblems(name: string, args: TrainingJobArgs, cluster: TrainingJobClusterFacts): string[] {
  const problems: string[] = [];
  const named = TrainingJobNameSchema.safeParse(name);
  if (!named.success) problems.push(problem("name", named.error.issues[0]!.message, name, ""));
  const gpusPerWorker = typeof args.gpusPerWorker === "number" ? args.gpusPerWorker : defaultGpus(cluster);
  const pool = poolOf(args, gpusPerWorker, cluster);
  if (args.nodePool !== undefined && !pool) {
    problems.push(problem("nodePool", "names no node pool of this cluster", args.nodePool, `Use one of: ${cluster.pools.map((p) => p.name).join(", ") || "(the cluster has no node pools; add nodePools)"}.`));
  } else if (args.nodePool === undefined && gpusPerWorker > 0 && !pool) {
    problems.push(problem("gpusPerWorker", "asks for GPUs on a cluster with no GPU node pool", gpusPerWorker, "Add nodePools to the cluster, or set gpusPerWorker: 0."));
  }
  if (args.nodePool !== undefined && pool && gpusPerWorker === 0) {
    // Its pod would not even tolerate the pool's GPU taint; and if it did, it would hold a GPU node idle.
    problems.push(
      problem("nodePool", `is a GPU pool, and the job asks for no GPUs (gpusPerWorker: 0)`, args.nodePool, "Remove nodePool: a CPU-only job runs off the GPU nodes. Or give gpusPerWorker ≥ 1 if it uses GPUs."),
    );
  }
  if (pool && gpusPerWorker > pool.gpusPerNode) {
    problems.push(problem("gpusPerWorker", `is more than a node of pool "${pool.name}" has (${pool.gpusPerNode})`, gpusPerWorker, `Use at most ${pool.gpusPerNode}, and more workers instead.`));
  }
  // Requests a node can never satisfy leave the pod Pending forever: check them against the allocatable of
  // every instance type the pod may land on (types the table does not know are not checked).
  const requested = { ...defaultRequests(gpusPerWorker), ...(validResources(args.resources) ?? {}) };
  problems.push(...fitsProblems(requested, instanceTypesOf(pool, cluster), { cpu: "resources.cpu", memory: "resources.memory", gpus: "gpusPerWorker" }));
  if (args.team !== undefined && !cluster.teams.includes(args.team)) {
    problems.push(problem("team", "names no team of this cluster", args.team, `Use one of: ${cluster.teams.join(", ") || "(none: add teams to the cluster)"}.`));
  }
  if (typeof args.registryKmsKeyArn === "string" && !parseKmsKeyArn(args.registryKmsKeyArn)) {
    problems.push(problem("registryKmsKeyArn", "is not a KMS key ARN", args.registryKmsKeyArn, KMS_KEY_ARN_FIX));
  }
  if (typeof args.datasetKmsKeyArn === "string" && !parseKmsKeyArn(args.datasetKmsKeyArn)) {
    problems.push(problem("datasetKmsKeyArn", "is not a KMS key ARN", args.datasetKmsKeyArn, KMS_KEY_ARN_FIX));
  }
  if (args.s3 && args.env) {
    for (const k of Object.keys(args.env).filter((k) => S3_ACCESS_ENV.includes(k))) {
      problems.push(problem(`env.${k}`, "is set by s3", k, "Give it through s3 (endpoint, region, credentials), not env."));
    }
  }
  if (args.pushgatewayUrl !== undefined && args.env?.[TRAINING_PUSHGATEWAY_ENV] !== undefined) {
    problems.push(problem(`env.${TRAINING_PUSHGATEWAY_ENV}`, "is set by pushgatewayUrl", args.env[TRAINING_PUSHGATEWAY_ENV], `Give the Pushgateway once: pushgatewayUrl, not env.${TRAINING_PUSHGATEWAY_ENV}.`));
  }
  if (args.timeZone !== undefined && args.schedule === undefined) {
    problems.push(problem("timeZone", "is given without a schedule", args.timeZone, "Add schedule, or remove timeZone."));
  }
  return problems;
}

/** The node label Kubernetes sets to the node's instance type (well-known; EKS nodes carry it). */
const INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type";

/** `resources.cpu`/`memory` when they are strings (the schema reports anything else). */
function validResources(r: unknown): { cpu?: string; memory?: string } | undefined {
  if (r === null || typeof r !== "object") return undefined;
  const { cpu, memory } = r as Record<string, unknown>;
  return { ...(typeof cpu === "string" ? { cpu } : {}), ...(typeof memory === "string" ? { memory } : {}) };
}
