/** Validation and defaults of `addTrainingJob` args against the cluster they run on (pure). */
import type * as pulumi from "@pulumi/pulumi";
import { problem } from "../../src/errors.js";
import { TRAIN_DEFAULTS, TRAIN_SPEC_ENV, TrainSpecSchema, type TrainSpecInput } from "../../src/spec/train.js";
import { JOB_DEFAULTS, type TrainingJobArgs } from "./job-args.js";
import { KMS_KEY_ARN_FIX, parseKmsKeyArn } from "./iam.js";
import { DEFAULT_TRAINING_NAMESPACE, type NormalizedPool } from "./normalize.js";
import { QUANTITY, schemaProblems, throwProblems } from "../shared/validate.js";

/** What a job needs to know about its cluster. */
export interface JobClusterView {
  /** The cluster's physical name (the `app.kubernetes.io/instance` label's prefix). */
  readonly instance: string;
  /** The project (the `app.kubernetes.io/part-of` label). */
  readonly partOf: string;
  readonly pools: readonly NormalizedPool[];
  readonly teams: readonly string[];
  /** Teams with a Kueue LocalQueue. */
  readonly kueueTeams: readonly string[];
}

export interface NormalizedTrainingJob {
  readonly name: string;
  readonly namespace: string;
  readonly image: pulumi.Input<string>;
  readonly workers: number;
  readonly gpusPerWorker: number;
  readonly masterPort: number;
  readonly pool?: NormalizedPool;
  readonly queueName?: string;
  readonly schedule?: string;
  readonly timeZone?: string;
  readonly backoffLimit: number;
  readonly activeDeadlineSeconds?: number;
  readonly ttlSecondsAfterFinished?: number;
  readonly resources: { readonly cpu: string; readonly memory: string; readonly shmSize: string; readonly scratchSize: string };
  readonly env: Readonly<Record<string, string>>;
  readonly serviceAccountName: string;
  /** The TrainSpec without its registry (an Output until deployment). */
  readonly spec: Omit<TrainSpecInput, "registry">;
}

/** Variables the job renders itself; user `env` may not override them. */
const RESERVED_ENV = new Set([
  TRAIN_SPEC_ENV, "MLOPS_JOB_NAME", "MLOPS_JOB_UID", "MLOPS_RUN_ID", "MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "NNODES",
  "RANK", "NODE_RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "NPROC_PER_NODE", "JOB_COMPLETION_INDEX", "HOME", "TMPDIR",
]);

const CRON = /^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$/;
/** Hostnames `<job>-<suffix>-<index>` must fit in 63 characters. */
const MAX_NAME = 40;
const PLACEHOLDER_REGISTRY = "s3://registry/models";

/**
 * Validates `addTrainingJob` args against the cluster and fills in defaults. Throws one MlopsError with
 * every problem (TrainSpec fields included), each with the value received and the fix.
 */
export function normalizeTrainingJob(name: string, args: TrainingJobArgs, cluster: JobClusterView): NormalizedTrainingJob {
  const problems: string[] = [];
  const ctx = `addTrainingJob(${JSON.stringify(name)})`;
  if (!/^[a-z][a-z0-9-]*[a-z0-9]$/.test(name) || name.length > MAX_NAME) {
    problems.push(problem("name", `must be lowercase letters, digits and '-', starting with a letter, at most ${MAX_NAME} characters`, name, "Rename the job."));
  }
  const spec: Omit<TrainSpecInput, "registry"> = {
    name,
    model: args.model,
    dataset: args.dataset,
    trainer: args.trainer,
    ...(args.task !== undefined ? { task: args.task } : {}),
    ...(args.split !== undefined ? { split: args.split } : {}),
    ...(args.gate !== undefined ? { gate: args.gate } : {}),
    ...(args.alias !== undefined ? { alias: args.alias } : {}),
    ...(args.checkpoint !== undefined ? { checkpoint: args.checkpoint } : {}),
    ...(args.lineage !== undefined ? { lineage: args.lineage } : {}),
  };
  const workers = args.workers ?? JOB_DEFAULTS.workers;
  const defaultGpus = cluster.pools.length > 0 ? JOB_DEFAULTS.gpusPerWorker : 0;
  const gpusPerWorker = args.gpusPerWorker ?? defaultGpus;
  problems.push(...schemaProblems(TrainSpecSchema, { ...spec, registry: PLACEHOLDER_REGISTRY, workers, gpusPerWorker }));
  if (typeof args.dataset?.uri === "string" && !args.dataset.uri.startsWith("s3://")) {
    problems.push(problem("dataset.uri", "is not reachable from a pod", args.dataset.uri, "Use an s3:// URI (upload the data first; file:// works only with `mlops train` on one machine)."));
  }
  if (typeof args.registryKmsKeyArn === "string" && !parseKmsKeyArn(args.registryKmsKeyArn)) {
    problems.push(problem("registryKmsKeyArn", "is not a KMS key ARN", args.registryKmsKeyArn, KMS_KEY_ARN_FIX));
  }

  let pool: NormalizedPool | undefined;
  if (args.nodePool !== undefined) {
    pool = cluster.pools.find((p) => p.name === args.nodePool);
    if (!pool) {
      problems.push(problem("nodePool", "names no node pool of this cluster", args.nodePool, `Use one of: ${cluster.pools.map((p) => p.name).join(", ") || "(the cluster has no node pools; add nodePools)"}.`));
    }
  } else if (gpusPerWorker > 0) {
    pool = cluster.pools[0];
    if (!pool) problems.push(problem("gpusPerWorker", "asks for GPUs on a cluster with no GPU node pool", gpusPerWorker, "Add nodePools to the cluster, or set gpusPerWorker: 0."));
  }
  if (pool && gpusPerWorker > pool.gpusPerNode) {
    problems.push(problem("gpusPerWorker", `is more than a node of pool "${pool.name}" has (${pool.gpusPerNode})`, gpusPerWorker, `Use at most ${pool.gpusPerNode}, and more workers instead.`));
  }
  if (args.team !== undefined && !cluster.teams.includes(args.team)) {
    problems.push(problem("team", "names no team of this cluster", args.team, `Use one of: ${cluster.teams.join(", ") || "(none: add teams to the cluster)"}.`));
  }
  if (args.schedule !== undefined && !CRON.test(args.schedule.trim())) {
    problems.push(problem("schedule", "is not a cron schedule", args.schedule, 'Write five fields, e.g. "0 3 * * *" (03:00 daily), or a macro such as "@daily".'));
  }
  if (args.timeZone !== undefined && args.schedule === undefined) {
    problems.push(problem("timeZone", "is given without a schedule", args.timeZone, "Add schedule, or remove timeZone."));
  }
  for (const key of ["backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"] as const) {
    const v = args[key];
    if (v !== undefined && (!Number.isInteger(v) || v < (key === "activeDeadlineSeconds" ? 1 : 0))) {
      problems.push(problem(key, "must be a whole number of at least " + (key === "activeDeadlineSeconds" ? 1 : 0), v, "Fix the number."));
    }
  }
  for (const [key, v] of Object.entries(args.resources ?? {})) {
    if (typeof v !== "string" || !QUANTITY.test(v)) problems.push(problem(`resources.${key}`, "is not a Kubernetes quantity", v, 'Write e.g. "4", "500m", "16Gi".'));
  }
  for (const k of Object.keys(args.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || RESERVED_ENV.has(k)) {
      problems.push(problem(`env.${k}`, "is not an environment variable this job may set", k, `Use a name of letters, digits and '_' other than ${[...RESERVED_ENV].join(", ")}.`));
    }
  }
  throwProblems(ctx, problems);

  const r = args.resources ?? {};
  const queued = args.team !== undefined && cluster.kueueTeams.includes(args.team);
  return {
    name,
    namespace: args.team ?? DEFAULT_TRAINING_NAMESPACE,
    // Without an image the job component builds the runtime image (see TrainingJob); "" marks that.
    image: args.image ?? "",
    workers,
    gpusPerWorker,
    masterPort: TRAIN_DEFAULTS.masterPort,
    ...(pool ? { pool } : {}),
    ...(queued ? { queueName: args.team } : {}),
    ...(args.schedule !== undefined ? { schedule: args.schedule.trim() } : {}),
    ...(args.timeZone !== undefined ? { timeZone: args.timeZone } : {}),
    backoffLimit: args.backoffLimit ?? JOB_DEFAULTS.backoffLimit,
    ...(args.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: args.activeDeadlineSeconds } : {}),
    ...((args.ttlSecondsAfterFinished ?? (args.schedule ? JOB_DEFAULTS.cronJobTtlSecondsAfterFinished : undefined)) !== undefined
      ? { ttlSecondsAfterFinished: args.ttlSecondsAfterFinished ?? JOB_DEFAULTS.cronJobTtlSecondsAfterFinished }
      : {}),
    resources: {
      cpu: r.cpu ?? JOB_DEFAULTS.cpu,
      memory: r.memory ?? JOB_DEFAULTS.memory,
      shmSize: r.shmSize ?? JOB_DEFAULTS.shmSize,
      scratchSize: r.scratchSize ?? JOB_DEFAULTS.scratchSize,
    },
    env: { ...(args.env ?? {}) },
    serviceAccountName: `${name}-trainer`,
    spec,
  };
}
