import { z } from "zod";
import { parseOrThrow } from "../errors.js";
import { TRAINING_SET_NAME } from "../features/training-sets.js";
import { ALIAS_PATTERN, MODEL_NAME_PATTERN } from "./model-ref.js";

/** The environment variable a component renders the TrainSpec into, and `mlops train` reads at boot. */
export const TRAIN_SPEC_ENV = "MLOPS_TRAIN_SPEC";

export const TRAIN_DEFAULTS = {
  holdoutFraction: 0.2,
  seed: 42,
  alias: "challenger",
  l2: 1.0,
  maxIterations: 200,
  tolerance: 1e-8,
  timeoutSeconds: 6 * 3600,
  checkpointIntervalSeconds: 60,
  masterPort: 29500,
} as const;

/** Metrics where higher is better; the others (logLoss, rmse, mae) are lower-is-better. */
export const HIGHER_IS_BETTER = ["auc", "accuracy"] as const;
export const METRIC_NAMES = ["auc", "accuracy", "logLoss", "rmse", "mae"] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

const uri = z.string().regex(/^(file|s3):\/\/.+/, "must be a file:// or s3:// URI");
const metricMap = z.partialRecord(z.enum(METRIC_NAMES), z.number());

const BuiltinTrainer = z
  .object({
    builtin: z.literal("logistic-regression"),
    /** L2 penalty strength λ on the standardized coefficients (sklearn: C = 1 / λ). */
    l2: z.number().min(0).default(TRAIN_DEFAULTS.l2),
    maxIterations: z.number().int().min(1).max(100_000).default(TRAIN_DEFAULTS.maxIterations),
    tolerance: z.number().positive().default(TRAIN_DEFAULTS.tolerance),
  })
  .strict();

const CommandTrainer = z
  .object({
    /** argv of the trainer program, e.g. `["python3", "train.py"]` or `["torchrun", …]`. */
    command: z.array(z.string().min(1)).min(1, "must name the program to run"),
    /** Passed to the program as `MLOPS_PARAM_<KEY>` environment variables and `MLOPS_PARAMS` (JSON). */
    params: z.record(z.string(), z.string()).default({}),
    /** Extra environment for the program. */
    env: z.record(z.string(), z.string()).default({}),
    /** Working directory of the program. */
    cwd: z.string().optional(),
    timeoutSeconds: z.number().positive().default(TRAIN_DEFAULTS.timeoutSeconds),
  })
  .strict();

/** The columns to train on, the same for a file and a saved training set. */
const datasetColumns = {
  label: z.string().min(1),
  /**
   * Feature columns. Default: every column but the label and `exclude`; for a training set, its feature
   * columns only (the entity file's columns, join keys and `event_timestamp` among them, are left out).
   */
  features: z.array(z.string().min(1)).min(1).optional(),
  exclude: z.array(z.string()).default([]),
};

/** A Parquet or CSV file. */
export const FileDatasetSchema = z
  .object({
    uri,
    format: z.enum(["parquet", "csv"]).optional(),
    ...datasetColumns,
  })
  .strict();

const TRAINING_SET_REF_MESSAGE = 'must be "<name>:<version>" or "<name>:latest", e.g. "fraud-train:3" (a name of lowercase letters, digits, ".", "_" and "-")';

/**
 * A training set saved by `mlops features historical … --save <name>` in a FeatureStore's registry.
 * `:latest` is resolved once, when the run starts; the version used is recorded on the model.
 */
export const TrainingSetDatasetSchema = z
  .object({
    trainingSet: z
      .string()
      .regex(/^[^:]+:(latest|[1-9][0-9]{0,9})$/, TRAINING_SET_REF_MESSAGE)
      .refine((ref) => TRAINING_SET_NAME.test(ref.slice(0, ref.lastIndexOf(":"))), TRAINING_SET_REF_MESSAGE),
    /** The FeatureStore's `registry` (file:// or s3://), where the training set was saved. */
    featureRegistry: z
      .string({ error: "must name the FeatureStore registry the training set was saved in (its spec's registry, file:// or s3://)" })
      .regex(/^(file|s3):\/\/.+/, "must be a file:// or s3:// URI: the FeatureStore spec's registry"),
    ...datasetColumns,
  })
  .strict();

export const DATASET_SHAPES_MESSAGE =
  'must be a file, { uri: "s3://…/train.parquet", label: "…" }, or a saved training set, { trainingSet: "<name>:<version>", featureRegistry: "s3://…", label: "…" }, not both';

const DatasetSchema = z.union([FileDatasetSchema, TrainingSetDatasetSchema], { error: DATASET_SHAPES_MESSAGE });

/** The dataset block: a file (`uri`) or a saved training set (`trainingSet`). */
export type TrainDataset = z.output<typeof DatasetSchema>;
export type FileDatasetSpec = z.output<typeof FileDatasetSchema>;
export type TrainingSetDatasetSpec = z.output<typeof TrainingSetDatasetSchema>;

/**
 * The contract between `TrainingCluster.addTrainingJob` (which renders it into {@link TRAIN_SPEC_ENV})
 * and `mlops train` (which parses it at boot, or from `--spec <file>`).
 */
export const TrainSpecSchema = z
  .object({
    apiVersion: z.literal("mlops/v1").default("mlops/v1"),
    kind: z.literal("Training").default("Training"),
    /** Job name; also the default run id prefix. */
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be lowercase letters, digits and '-'"),
    /** Re-running with the same run id resumes from its checkpoint. Default: generated per run. */
    runId: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, "must be letters, digits, '.', '_' or '-'").optional(),
    /** Registry URI to register into. */
    registry: uri,
    /** Model name to register the result under. */
    model: z.string().regex(MODEL_NAME_PATTERN, "must be lowercase letters, digits, '.', '_' and '-'"),
    dataset: DatasetSchema,
    task: z.enum(["classification", "regression"]).default("classification"),
    split: z
      .object({
        holdoutFraction: z.number().gt(0).lt(1).default(TRAIN_DEFAULTS.holdoutFraction),
        seed: z.number().int().default(TRAIN_DEFAULTS.seed),
      })
      .strict()
      .prefault({}),
    trainer: z.union([BuiltinTrainer, CommandTrainer], {
      error: 'must be { builtin: "logistic-regression" } or { command: ["python3", "train.py"] } (with their options)',
    }),
    /** Worker processes (pods on Kubernetes; local processes on the embedded default). */
    workers: z.number().int().min(1).max(1024).default(1),
    /** GPUs per worker; also the processes per node for torchrun. */
    gpusPerWorker: z.number().int().min(0).max(16).default(0),
    masterPort: z.number().int().min(1).max(65535).default(TRAIN_DEFAULTS.masterPort),
    checkpoint: z
      .object({
        /** Default: `<registry>/checkpoints/<name>/<runId>`. */
        uri: uri.optional(),
        intervalSeconds: z.number().positive().default(TRAIN_DEFAULTS.checkpointIntervalSeconds),
      })
      .strict()
      .prefault({}),
    gate: z
      .object({
        /** Lower bounds for higher-is-better metrics (auc, accuracy). */
        minimum: metricMap.default({}),
        /** Upper bounds for lower-is-better metrics (logLoss, rmse, mae). */
        maximum: metricMap.default({}),
        /** The new model must beat the current holder of this alias on the same holdout. */
        mustBeat: z.string().regex(ALIAS_PATTERN, "must be an alias name such as champion").optional(),
        /** The metric `mustBeat` compares. Default: auc (classification), rmse (regression). */
        compareOn: z.enum(METRIC_NAMES).optional(),
        /**
         * The model must beat a constant predictor (the training labels' mean: AUC 0.5, or the mean's RMSE)
         * on `compareOn`, so a model that learnt nothing never becomes the alias silently.
         */
        beatConstant: z.boolean().default(true),
      })
      .strict()
      .superRefine((gate, ctx) => {
        // A lower bound on a lower-is-better metric (or the reverse) passes bad models and fails good ones.
        const higher = new Set<string>(HIGHER_IS_BETTER);
        for (const metric of Object.keys(gate.minimum ?? {})) {
          if (!higher.has(metric)) {
            ctx.addIssue({ code: "custom", path: ["minimum", metric], message: `is a lower-is-better metric, so it needs an upper bound: move it to gate.maximum (minimum takes ${HIGHER_IS_BETTER.join(", ")})` });
          }
        }
        for (const metric of Object.keys(gate.maximum ?? {})) {
          if (higher.has(metric)) {
            ctx.addIssue({ code: "custom", path: ["maximum", metric], message: `is a higher-is-better metric, so it needs a lower bound: move it to gate.minimum (maximum takes ${METRIC_NAMES.filter((m) => !higher.has(m)).join(", ")})` });
          }
        }
      })
      .prefault({}),
    /** Alias moved to the new version when the gate passes. */
    alias: z.string().regex(ALIAS_PATTERN, "must be an alias name such as challenger").default(TRAIN_DEFAULTS.alias),
    lineage: z
      .object({ codeRevision: z.string().optional(), imageDigest: z.string().optional() })
      .strict()
      .prefault({}),
  })
  .strict();

export type TrainSpec = z.output<typeof TrainSpecSchema>;
export type TrainSpecInput = z.input<typeof TrainSpecSchema>;

export function parseTrainSpec(input: unknown, source = "train spec"): TrainSpec {
  return parseOrThrow(TrainSpecSchema, input, "", source);
}

export function renderTrainSpec(spec: TrainSpecInput): string {
  return JSON.stringify(parseTrainSpec(spec));
}
