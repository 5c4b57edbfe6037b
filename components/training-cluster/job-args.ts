import type * as pulumi from "@pulumi/pulumi";
import type * as aws from "@pulumi/aws";
import type * as k8s from "@pulumi/kubernetes";
import type { TrainSpecInput } from "../../src/spec/train.js";
import { RUNTIME_UID } from "../shared/constants.js";
import type { Transform } from "../shared/transform.js";

/** Every default of `addTrainingJob`, in one place (the JSDoc below states the same values). */
export const JOB_DEFAULTS = {
  workers: 1,
  /** GPUs per worker when the cluster has a GPU pool (0 otherwise). */
  gpusPerWorker: 1,
  backoffLimit: 3,
  /** CronJob runs are cleaned up after a week; one-off Jobs are kept (see `ttlSecondsAfterFinished`). */
  cronJobTtlSecondsAfterFinished: 7 * 24 * 3600,
  cpu: "4",
  memory: "16Gi",
  shmSize: "8Gi",
  scratchSize: "50Gi",
  /** Time for the runtime to sync its checkpoint on SIGTERM. */
  terminationGracePeriodSeconds: 120,
  /** A missed schedule is skipped after this long rather than run late. */
  startingDeadlineSeconds: 3600,
  historyLimit: 3,
  /** Arguments to the runtime image's entrypoint (`node dist/cli/main.js`): `mlops train`. */
  args: ["train"] as readonly string[],
  /** The non-root user the runtime image runs as. */
  runAsUser: RUNTIME_UID,
} as const;

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
  /** Model name the result is registered under. */
  readonly model: string;
  /** Training data: an `s3://` URI (Parquet or CSV), the label column, the feature columns. */
  readonly dataset: TrainSpecInput["dataset"];
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
  /** The team: the job runs in its namespace and, with Kueue, joins its LocalQueue. @default - namespace "mlops-training", no queue */
  readonly team?: string;
  /** Cron schedule; makes a CronJob (concurrencyPolicy Forbid). @default - a one-off Job */
  readonly schedule?: string;
  /** IANA time zone of `schedule`. @default - the controller's (UTC on EKS) */
  readonly timeZone?: string;
  /** Pod retries before the Job fails. @default 3 */
  readonly backoffLimit?: number;
  /** Wall-clock limit of a run. @default - none */
  readonly activeDeadlineSeconds?: number;
  /**
   * Seconds a finished Job is kept. A one-off Job is kept by default: if Kubernetes deleted it, the next
   * `pulumi up --refresh` would create (and run) it again.
   * @default - one-off Job: kept; CronJob runs: 604800 (7 days)
   */
  readonly ttlSecondsAfterFinished?: number;
  /** Per-worker resources. @default { cpu: "4", memory: "16Gi", shmSize: "8Gi", scratchSize: "50Gi" } */
  readonly resources?: { readonly cpu?: string; readonly memory?: string; readonly shmSize?: string; readonly scratchSize?: string };
  /**
   * An IAM role for the job's ServiceAccount. Without it, on EKS the job gets a role of its own that can
   * only read the dataset and read/write the registry and checkpoint prefixes.
   * @default - EKS: a least-privilege role; kubeconfig: none
   */
  readonly serviceAccountRoleArn?: pulumi.Input<string>;
  /** Extra container environment (e.g. `AWS_ENDPOINT_URL_S3` for an S3-compatible store). @default {} */
  readonly env?: Record<string, string>;
  /** Per-child escape hatches. */
  readonly transform?: {
    readonly job?: Transform<k8s.batch.v1.JobArgs>;
    readonly cronJob?: Transform<k8s.batch.v1.CronJobArgs>;
    readonly service?: Transform<k8s.core.v1.ServiceArgs>;
    readonly serviceAccount?: Transform<k8s.core.v1.ServiceAccountArgs>;
    readonly role?: Transform<aws.iam.RoleArgs>;
  };
}
