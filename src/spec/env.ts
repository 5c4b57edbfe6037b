/**
 * The environment variable names that cross the spec boundary: what a component writes into a
 * container's environment and the runtime (or the program it starts) reads. Written once here, so the
 * two sides cannot drift apart. No imports: both sides and the CLI load it.
 */

/** Variables the spec contract itself carries (one JSON spec per job, secrets beside it). */
export const SPEC_ENV = {
  /** The EndpointSpec JSON `mlops serve` boots from. */
  endpointSpec: "MLOPS_ENDPOINT_SPEC",
  /** The TrainSpec JSON `mlops train` boots from. */
  trainSpec: "MLOPS_TRAIN_SPEC",
  /** The bearer token (from a Kubernetes Secret); never inside a spec. */
  authToken: "MLOPS_AUTH_TOKEN",
} as const;

/** Variables a training Job's pods get from Kubernetes, resolved by the kubelet (see the TrainingJob manifests). */
export const JOB_ENV = {
  /** The Job's name (CronJob and manual runs have varying names). */
  jobName: "MLOPS_JOB_NAME",
  /** The Job's UID: new for every run. */
  jobUid: "MLOPS_JOB_UID",
  /** One id per run, shared by its pods and retries: `<job name>.<job uid>`; a retry resumes its checkpoint. */
  runId: "MLOPS_RUN_ID",
  /** The digest of the runtime image, recorded in lineage when set. */
  imageDigest: "MLOPS_IMAGE_DIGEST",
  /** The pod's index in an Indexed Job, set by the Job controller. */
  completionIndex: "JOB_COMPLETION_INDEX",
} as const;

/**
 * The `torch.distributed` (`init_process_group("env://")`) and `torchrun` environment, for one worker.
 * One worker is one node: RANK and NODE_RANK are the node's rank, LOCAL_RANK is 0 and NPROC_PER_NODE tells
 * `torchrun` how many processes to start there.
 */
export const DISTRIBUTED_ENV = {
  masterAddr: "MASTER_ADDR",
  masterPort: "MASTER_PORT",
  worldSize: "WORLD_SIZE",
  rank: "RANK",
  nodeRank: "NODE_RANK",
  nnodes: "NNODES",
  localRank: "LOCAL_RANK",
  localWorldSize: "LOCAL_WORLD_SIZE",
  nprocPerNode: "NPROC_PER_NODE",
} as const;

/** What the training runtime hands a command trainer (the same on a laptop and in a pod). */
export const TRAINER_ENV = {
  runId: JOB_ENV.runId,
  dataDir: "MLOPS_DATA_DIR",
  dataFormat: "MLOPS_DATA_FORMAT",
  trainData: "MLOPS_TRAIN_DATA",
  holdoutData: "MLOPS_HOLDOUT_DATA",
  outputDir: "MLOPS_OUTPUT_DIR",
  checkpointDir: "MLOPS_CHECKPOINT_DIR",
  label: "MLOPS_LABEL",
  features: "MLOPS_FEATURES",
  /** Every param as one JSON object; each also as `MLOPS_PARAM_<KEY>` ({@link paramEnvName}). */
  params: "MLOPS_PARAMS",
} as const;

/** Prefix of one variable per trainer param. */
export const PARAM_ENV_PREFIX = "MLOPS_PARAM_";

/** `MLOPS_PARAM_<KEY>`: the key upper-cased, anything but letters and digits turned into `_`. */
export function paramEnvName(key: string): string {
  return `${PARAM_ENV_PREFIX}${key.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

/** Variables the `mlops` command and the runtime read from the environment of a person or CI. */
export const USER_ENV = {
  /** The registry URI when none is given. */
  registry: "MLOPS_REGISTRY",
  /** An S3-compatible endpoint (MinIO, s3rver); `AWS_ENDPOINT_URL_S3` works too. */
  s3Endpoint: "MLOPS_S3_ENDPOINT",
  /** Set by `mlops synth` while it runs a stack program offline: nothing may contact a cluster. */
  synth: "MLOPS_SYNTH",
} as const;

/** Every variable a training Job renders itself: user `env` may not override them. */
export const RESERVED_TRAINING_ENV: readonly string[] = [
  SPEC_ENV.trainSpec,
  JOB_ENV.jobName,
  JOB_ENV.jobUid,
  JOB_ENV.runId,
  JOB_ENV.completionIndex,
  ...Object.values(DISTRIBUTED_ENV),
  "HOME",
  "TMPDIR",
];
