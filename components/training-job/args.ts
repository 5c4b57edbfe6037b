import type * as pulumi from "@pulumi/pulumi";
import type * as aws from "@pulumi/aws";
import type * as k8s from "@pulumi/kubernetes";
import { z } from "zod";
import { RESERVED_TRAINING_ENV } from "../../src/spec/env.js";
import { DATASET_SHAPES_MESSAGE, FileDatasetSchema, TrainingSetDatasetSchema, TrainSpecSchema, type TrainSpecInput } from "../../src/spec/train.js";
import { S3AccessSchema, type S3AccessArgs } from "../shared/s3-access.js";
import type { Transform } from "../shared/transform.js";
import { cronSchedule, inputString, isDeferred, QUANTITY } from "../shared/validate.js";

/** Training data from a file: `{ uri: "s3://…", format?, label, features?, exclude? }`. */
export type TrainingJobFileDataset = z.input<typeof FileDatasetSchema>;

/**
 * A training set saved by `mlops features historical … --save <name>`: `{ trainingSet: "<name>:<version>" |
 * "<name>:latest", featureRegistry, label, features?, exclude? }`. `featureRegistry` is the FeatureStore
 * (anything with `registryUri`), or its registry's `s3://` URI.
 */
export type TrainingJobTrainingSetDataset = Omit<z.input<typeof TrainingSetDatasetSchema>, "featureRegistry"> & {
  readonly featureRegistry: pulumi.Input<string> | { readonly registryUri: pulumi.Input<string> };
};

export type TrainingJobDataset = TrainingJobFileDataset | TrainingJobTrainingSetDataset;

/**
 * Arguments of `TrainingCluster.addTrainingJob(name, args)`.
 *
 * @example
 * cluster.addTrainingJob("fraud", {
 *   registry,                                     // a ModelRegistry, or its s3:// URI
 *   model: "fraud",
 *   dataset: { uri: "s3://data/fraud/train.parquet", label: "is_fraud" },
 *   trainer: { command: ["torchrun", "train.py"] },
 *   workers: 4, gpusPerWorker: 1, nodePool: "a100", team: "fraud",
 *   schedule: "0 3 * * *",
 * });
 */
export interface TrainingJobArgs {
  /** The registry to register into: a `ModelRegistry` (anything with `uri`) or its `s3://` URI. */
  readonly registry: pulumi.Input<string> | { readonly uri: pulumi.Input<string>; readonly kmsKeyArn?: pulumi.Output<string | undefined> };
  /**
   * ARN of the customer-managed KMS key the registry bucket is encrypted with (SSE-KMS). The job's role
   * may then use it through S3 only, to read and write (kms:Decrypt, kms:GenerateDataKey). Needed when
   * `registry` is an `s3://` URI; a ModelRegistry states its own key.
   * @default - the registry's `kmsKeyArn` when it is a ModelRegistry; otherwise none (SSE-S3)
   */
  readonly registryKmsKeyArn?: pulumi.Input<string>;
  /**
   * ARN of the customer-managed KMS key the dataset's objects are encrypted with (SSE-KMS): for a
   * `trainingSet`, the key of the FeatureStore's offline bucket. The job's role may then decrypt with it,
   * through S3 only (kms:Decrypt; it never encrypts with it).
   * @default - none (the dataset uses SSE-S3, or the same key as the registry)
   */
  readonly datasetKmsKeyArn?: pulumi.Input<string>;
  /** Model name the result is registered under. */
  readonly model: string;
  /**
   * Training data: an `s3://` file (Parquet or CSV), or a FeatureStore training set (`trainingSet`), with
   * the label column and the feature columns. A training set's features default to its feature columns
   * (not the entity file's join keys and timestamp); `:latest` is resolved when a run starts. The job's
   * role may read only that training set's folder of the feature registry.
   * @example dataset: { uri: "s3://data/fraud/train.parquet", label: "is_fraud" }
   * @example dataset: { trainingSet: "fraud-train:latest", featureRegistry: features, label: "is_fraud" }
   */
  readonly dataset: TrainingJobDataset;
  /** `{ builtin: "logistic-regression", l2? }` or `{ command: [...], params? }`. */
  readonly trainer: TrainSpecInput["trainer"];
  /** @default "classification" */
  readonly task?: TrainSpecInput["task"];
  /** Holdout split. @default { holdoutFraction: 0.2, seed: 42 } */
  readonly split?: TrainSpecInput["split"];
  /** Evaluation gate. @default - no minimum, no `mustBeat` */
  readonly gate?: TrainSpecInput["gate"];
  /** Alias moved when the gate passes. @default "challenger" */
  readonly alias?: string;
  /** Checkpoints. @default { uri: "<registry>/checkpoints/<name>/<runId>", intervalSeconds: 60 } */
  readonly checkpoint?: TrainSpecInput["checkpoint"];
  /** Lineage recorded with the version. @default {} */
  readonly lineage?: TrainSpecInput["lineage"];
  /**
   * The runtime image (it runs `mlops train`). A `command` trainer runs inside it, so for Python trainers
   * give an image built FROM the runtime image with your code and its dependencies added.
   * @default - built from this package's runtime/Dockerfile with @pulumi/docker (pushed to `imageRepository` when given)
   */
  readonly image?: pulumi.Input<string>;
  /** Where the built runtime image is pushed, e.g. an ECR repository URL. @default - not pushed (local clusters only) */
  readonly imageRepository?: string;
  /** Worker pods. More than 1 makes an Indexed Job with a headless Service (torch.distributed env). @default 1 */
  readonly workers?: number;
  /** GPUs per worker (also torchrun's processes per node). @default 1 when the cluster has a GPU pool, else 0 */
  readonly gpusPerWorker?: number;
  /** The node pool to run on. @default - the cluster's first pool (none when gpusPerWorker is 0) */
  readonly nodePool?: string;
  /** The team: the job runs in its namespace and, with Kueue, joins its LocalQueue. @default - namespace `${project}-${stage}-training`, no queue */
  readonly team?: string;
  /** Cron schedule; makes a CronJob (concurrencyPolicy Forbid). @default - a one-off Job */
  readonly schedule?: string;
  /** IANA time zone of `schedule`. @default - the controller's (UTC on EKS) */
  readonly timeZone?: string;
  /** Pod retries before the Job fails. @default 3 */
  readonly backoffLimit?: number;
  /**
   * Wall-clock limit of a run, retries included (the Job's `activeDeadlineSeconds`): past it, Kubernetes
   * stops the pods and marks the run failed, so a hung run does not hold GPU nodes forever. Raise it for
   * runs that legitimately take longer.
   * @default 86400 (24 hours)
   */
  readonly activeDeadlineSeconds?: number;
  /**
   * Seconds a finished Job is kept. A one-off Job is kept by default: if Kubernetes deleted it, the next
   * `pulumi up --refresh` would create (and run) it again.
   * @default - one-off Job: kept; CronJob runs: 604800 (7 days)
   */
  readonly ttlSecondsAfterFinished?: number;
  /**
   * Per-worker resources. cpu and memory must fit the allocatable of every instance type the worker may
   * land on (its pool's; for a CPU-only job on EKS, the system group's): see components/shared/instance-types.ts.
   * @default { cpu: "4", memory: "16Gi", shmSize: "8Gi", scratchSize: "50Gi" } with GPUs; { cpu: "1", memory: "2Gi", … } for a CPU-only job (`gpusPerWorker: 0`)
   */
  readonly resources?: { readonly cpu?: string; readonly memory?: string; readonly shmSize?: string; readonly scratchSize?: string };
  /**
   * An IAM role for the job's ServiceAccount. Without it, on EKS the job gets a role of its own that can
   * only read the dataset, read/write its own model's versions and aliases (`<registry>/models/<model>/`)
   * and its checkpoint prefix, and add artifacts to `<registry>/blobs/sha256/`.
   * @default - EKS: a least-privilege role; kubeconfig: none
   */
  readonly serviceAccountRoleArn?: pulumi.Input<string>;
  /** Extra container environment (e.g. `AWS_ENDPOINT_URL_S3` for an S3-compatible store). @default {} */
  readonly env?: Record<string, string>;
  /**
   * The Pushgateway each run pushes its gate verdict and holdout metrics to (`mlops_train_*`, job
   * `mlops_train`): a MonitoringStack's `pushgatewayUrl` output, or any `http(s)://` base URL. Set in the
   * pods as `MLOPS_PUSHGATEWAY`, which `mlops train` reads (runtime/train/push.ts).
   * @example pushgatewayUrl: monitoring.pushgatewayUrl
   * @default - none: nothing is pushed
   */
  readonly pushgatewayUrl?: pulumi.Input<string>;
  /**
   * How the pods reach S3 without IRSA (kind, MinIO, an access key): the API's URL, the region, static
   * credentials (give them as secrets: they go into a Kubernetes Secret the pods read by reference). With
   * credentials no IAM role is made. The same shape as ModelEndpoint's `s3`.
   * @example s3: { endpoint: "http://minio.minio:9000", credentials: { accessKeyId: cfg.requireSecret("s3Key"), secretAccessKey: cfg.requireSecret("s3Secret") } }
   * @default - the SDK's default chain (IRSA on EKS)
   */
  readonly s3?: S3AccessArgs;
  /** Per-child escape hatches. */
  readonly transform?: {
    readonly job?: Transform<k8s.batch.v1.JobArgs>;
    readonly cronJob?: Transform<k8s.batch.v1.CronJobArgs>;
    readonly service?: Transform<k8s.core.v1.ServiceArgs>;
    readonly serviceAccount?: Transform<k8s.core.v1.ServiceAccountArgs>;
    readonly role?: Transform<aws.iam.RoleArgs>;
    /** The Secret holding `s3.credentials`. */
    readonly s3Secret?: Transform<k8s.core.v1.SecretArgs>;
  };
}

// ---------------------------------------------------------------- validation

/** Job names become Kubernetes object names and pod hostnames `<job>-<suffix>-<index>`, which must fit in 63 characters. */
export const TRAINING_JOB_NAME_MAX = 40;
export const TrainingJobNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]*[a-z0-9]$/, `must be lowercase letters, digits and '-', starting with a letter, at most ${TRAINING_JOB_NAME_MAX} characters: rename the job`)
  .max(TRAINING_JOB_NAME_MAX, `must be lowercase letters, digits and '-', starting with a letter, at most ${TRAINING_JOB_NAME_MAX} characters: rename the job`);

const RESERVED = new Set(RESERVED_TRAINING_ENV);
/** What `pushgatewayUrl` must look like when given as a string (an Output is checked by the runtime). */
const PUSHGATEWAY_URL = /^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/;
/**
 * The variable the pods read the Pushgateway's URL from: the runtime's `PUSHGATEWAY_ENV`
 * (runtime/train/push.ts), spelled here because components never import the runtime.
 */
export const TRAINING_PUSHGATEWAY_ENV = "MLOPS_PUSHGATEWAY";
const spec = TrainSpecSchema.shape;
const wholeNumber = (min: number) => z.number().int(`must be a whole number of at least ${min}`).min(min, `must be a whole number of at least ${min}`);
const quantity = z.string().regex(QUANTITY, 'is not a Kubernetes quantity: write e.g. "4", "500m", "16Gi"');
const FEATURE_REGISTRY_MESSAGE = "must be the FeatureStore (or its registryUri) or its registry's s3:// URI: a pod cannot reach file://";
/** A FeatureStore, its `registryUri` Output, or an `s3://` URI (an Output is checked once it resolves). */
const featureRegistryInput = z.custom<TrainingJobTrainingSetDataset["featureRegistry"]>(
  (v) => (typeof v === "string" ? v.startsWith("s3://") : isDeferred(v) || (v !== null && typeof v === "object" && "registryUri" in v)),
  FEATURE_REGISTRY_MESSAGE,
);

/**
 * The schema of {@link TrainingJobArgs}. The fields the job renders into its TrainSpec (model, dataset,
 * trainer, gate, …) are checked by the TrainSpec's own schema, the contract the runtime parses at boot;
 * the rest are the job's. Rules that need the cluster (node pool, team, GPUs per node) are checked in
 * normalize.ts.
 */
export const TrainingJobArgsSchema = z
  .object({
    registry: z.custom<TrainingJobArgs["registry"]>(
      (v) => typeof v === "string" || isDeferred(v) || (v !== null && typeof v === "object" && "uri" in v),
      "must be a ModelRegistry or its s3:// URI",
    ),
    // Whether a string is a key ARN is checked in normalize.ts, to word the fix.
    registryKmsKeyArn: inputString().optional(),
    datasetKmsKeyArn: inputString().optional(),
    model: spec.model,
    dataset: z.union(
      [
        FileDatasetSchema.refine((d) => d.uri.startsWith("s3://"), {
          path: ["uri"],
          message: "is not reachable from a pod: use an s3:// URI (upload the data first; file:// works only with `mlops train` on one machine)",
        }),
        TrainingSetDatasetSchema.extend({ featureRegistry: featureRegistryInput }),
      ],
      { error: DATASET_SHAPES_MESSAGE },
    ),
    trainer: spec.trainer,
    task: spec.task.optional(),
    split: spec.split.optional(),
    gate: spec.gate.optional(),
    alias: spec.alias.optional(),
    checkpoint: spec.checkpoint.optional(),
    lineage: spec.lineage.optional(),
    image: inputString().optional(),
    imageRepository: z.string().min(1).optional(),
    workers: spec.workers.optional(),
    gpusPerWorker: spec.gpusPerWorker.optional(),
    nodePool: z.string().optional(),
    team: z.string().optional(),
    schedule: cronSchedule({ fields: "0 3 * * *", meaning: "03:00 daily", macro: "@daily" }).optional(),
    timeZone: z.string().min(1).optional(),
    backoffLimit: wholeNumber(0).optional(),
    activeDeadlineSeconds: wholeNumber(1).optional(),
    ttlSecondsAfterFinished: wholeNumber(0).optional(),
    resources: z.object({ cpu: quantity.optional(), memory: quantity.optional(), shmSize: quantity.optional(), scratchSize: quantity.optional() }).strict().optional(),
    serviceAccountRoleArn: inputString().optional(),
    pushgatewayUrl: inputString()
      .refine((v) => typeof v !== "string" || PUSHGATEWAY_URL.test(v), 'must be the Pushgateway\'s http(s) base URL, e.g. "http://pushgateway.monitoring.svc:9091" (a MonitoringStack\'s pushgatewayUrl)')
      .optional(),
    s3: S3AccessSchema.optional(),
    env: z
      .record(z.string(), z.string())
      .superRefine((env, ctx) => {
        for (const k of Object.keys(env)) {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || RESERVED.has(k)) {
            ctx.addIssue({
              code: "custom",
              path: [k],
              message: `is not an environment variable this job may set: use a name of letters, digits and '_' other than ${RESERVED_TRAINING_ENV.join(", ")}`,
            });
          }
        }
      })
      .optional(),
    transform: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
