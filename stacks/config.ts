import { z } from "zod";
import { ModelEndpointArgsSchema } from "../components/model-endpoint/args.js";
import { EksSchema, NodePoolSchema } from "../components/training-cluster/args.js";
import { AUTH_TOKEN_PATTERN } from "../components/feature-store/args.js";
import { cronSchedule } from "../components/shared/validate.js";
import { kubeconfigProblem } from "../components/shared/kubernetes.js";
import { isSecretField, MlopsError, pathString, problem, show, showSecret } from "../src/errors.js";
import { MODEL_NAME_PATTERN, modelRefSchema } from "../src/spec/model-ref.js";

/** The endpoint's sizes, as ModelEndpoint checks them: Kubernetes quantities within what a pod can have. */
const endpointResources = ModelEndpointArgsSchema.shape.resources.unwrap().shape;

/** TrainingCluster's own rules for what the stage passes through (Kubernetes version, subnets, VPC). */
const eksShape = EksSchema.shape;

/** A refinement that adds the issues of a component's schema (whose input type is wider than the stage's). */
function componentRule(schema: z.ZodType): (v: unknown, ctx: z.RefinementCtx) => void {
  return (v, ctx) => {
    const r = schema.safeParse(v);
    for (const issue of r.success ? [] : r.error.issues) ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
  };
}

/** The trainer stacks/index.ts deploys. It is CPU-only and runs in one process (it ignores `workers`). */
export const BUILTIN_TRAINER = "logistic-regression";

/**
 * The stages the reference platform knows. What a stage changes (replica counts, protection of stateful
 * resources) is the components' stage defaults (components/shared/stage.ts), not repeated here.
 */
export const STAGES = ["dev", "staging", "prod"] as const;
export type Stage = (typeof STAGES)[number];

const s3Dataset = z.string().regex(/^s3:\/\/[^/]+\/.+/, "must be an s3://<bucket>/<key> URI that the training pods can read");

const modelRef = modelRefSchema('must be "<name>@<alias>" or "<name>:<version>", e.g. "breast-cancer@champion"');

/** The stack configuration of `stacks/` (keys under the `pulumi-mlops:` namespace). */
export const StageConfigSchema = z
  .object({
    /** Where the model registry lives. Default: a new private S3 bucket. */
    registry: z
      .union([
        z.object({ bucket: z.string().min(3), prefix: z.string().optional() }).strict(),
        z.object({ path: z.string().min(1) }).strict(),
        z.object({ s3: z.object({ forceDestroy: z.boolean().optional() }).strict() }).strict(),
      ])
      .optional(),
    /** The cluster: an existing one (kubeconfig, else the ambient kubeconfig) or a new EKS cluster. */
    cluster: z
      .object({
        /**
         * The context of the kubeconfig (`kubeconfig`, else $KUBECONFIG or ~/.kube/config) to deploy to,
         * e.g. "kind-mlops". Default: its current-context. Not with `eks` (the stack makes that kubeconfig).
         */
        context: z.string().min(1).optional(),
        /**
         * A new EKS cluster. Without `subnetIds` the cluster creates its VPC (private subnets in three
         * zones, NAT); with them, they are existing private subnets in at least two zones.
         */
        eks: z
          .object({
            version: eksShape.version,
            // The component's rule (at least two), after the check that they are subnet ids at all.
            subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'must be a subnet id such as "subnet-0123456789abcdef0"')).superRefine(componentRule(eksShape.subnetIds)).optional(),
            vpc: eksShape.vpc,
          })
          .strict()
          .optional(),
        /** GPU node pools (EKS managed node groups), with the rules of TrainingCluster's NodePoolSchema. */
        gpuPools: z
          .array(
            NodePoolSchema.pick({ name: true, instanceType: true, instanceTypes: true, gpusPerNode: true, min: true, max: true, spot: true, diskSizeGiB: true, amiType: true })
              .strict()
              .refine((p) => (p.instanceType === undefined) !== (p.instanceTypes === undefined), {
                message: "must give instanceType or instanceTypes (several, e.g. for a spot pool), not both and not neither",
              }),
          )
          .optional(),
        teams: z
          .array(
            z
              .object({
                name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,40}$/, "must be lowercase letters, digits and '-'"),
                gpuQuota: z.number().int().min(0),
                /** Per-pool split of gpuQuota for Kueue (must sum to gpuQuota). */
                gpuQuotaByPool: z.record(z.string(), z.number().int().min(0)).optional(),
              })
              .strict(),
          )
          .optional(),
      })
      .strict()
      .refine((c) => !(c.context && c.eks), {
        path: ["context"],
        message: "applies to an existing cluster's kubeconfig, and cluster.eks creates a new cluster: remove one of them",
      })
      .optional(),
    /** The served model. */
    endpoint: z
      .object({
        model: modelRef.default("breast-cancer@champion"),
        replicas: z
          .object({ min: z.number().int().min(1), max: z.number().int().min(1) })
          .strict()
          .refine((r) => r.min <= r.max, "min must not exceed max")
          .optional(),
        /** Kubernetes quantities, checked as ModelEndpoint checks them: "1", "500m"; "1Gi", "512Mi". */
        cpu: endpointResources.cpu,
        memory: endpointResources.memory,
        gpus: z.number().int().min(0).max(8).optional(),
        allowFromNamespaces: z.array(z.string().min(1)).optional(),
        maxBatchSize: z.number().int().min(1).max(4096).optional(),
        /** Share of infer requests whose inputs and outputs are logged (payload logging) for the drift job. Default 0.1. */
        payloadSampleRate: z.number().min(0, "must be from 0 to 1").max(1, "must be from 0 to 1").optional(),
      })
      .strict()
      .prefault({}),
    /**
     * Nightly training of the example model with the built-in trainer, which is CPU-only and runs one
     * worker: it is rendered with one worker, no GPU and no GPU pool whatever the stage says, and a stage
     * that asks for more fails validation (GPU training is a `command` trainer: see addTrainingJob). Omit to skip.
     */
    training: z
      .object({
        schedule: z.string().min(9, 'must be a cron expression such as "0 3 * * *"').optional(),
        /**
         * The training data, a CSV or Parquet file on S3 with a `label` column. Default: the example
         * dataset (examples/breast-cancer/data.csv) uploaded to a bucket the stack creates
         * (stacks/dataset.ts). Pods cannot read a `file://` path of this machine.
         */
        dataset: s3Dataset.optional(),
        workers: z.literal(1, `must be 1 or absent: the built-in trainer (${BUILTIN_TRAINER}) runs in one process`).optional(),
        gpusPerWorker: z.literal(0, `must be 0 or absent: the built-in trainer (${BUILTIN_TRAINER}) is CPU-only and would hold the GPUs idle`).optional(),
        nodePool: z
          .never({ error: `must be absent: the stage's pools are GPU pools and the built-in trainer (${BUILTIN_TRAINER}) is CPU-only` })
          .optional(),
      })
      .strict()
      .optional(),
    /**
     * Opt-in: a second, GPU training job with your own trainer program (e.g. torchrun), on one of the
     * stage's GPU pools. The built-in trainer stays CPU-only; this is where the GPUs are meant. `image` is
     * yours: the runtime image (its entrypoint runs `mlops train`, which starts `command`) with your
     * framework and script added. Omit to skip.
     */
    gpuTraining: z
      .object({
        /** Model name the result is registered under. */
        model: z.string().regex(MODEL_NAME_PATTERN, "must be lowercase letters, digits, '.', '_' and '-'").default("breast-cancer-gpu"),
        image: z.string().regex(/^[a-z0-9][a-z0-9._/:@-]*$/, 'must be an image reference such as "123456789012.dkr.ecr.us-east-1.amazonaws.com/trainer@sha256:…"'),
        command: z.array(z.string().min(1)).min(1, 'must name the program, e.g. ["torchrun", "train.py"]'),
        /** Default: the example dataset (see training.dataset). */
        dataset: s3Dataset.optional(),
        label: z.string().min(1).default("label"),
        workers: z.number().int().min(1).max(64).default(1),
        gpusPerWorker: z.number().int().min(1, "must be at least 1: a GPU job without GPUs belongs in training").max(16),
        /** One of cluster.gpuPools. */
        nodePool: z.string().min(1),
        schedule: z.string().min(9, 'must be a cron expression such as "0 3 * * *"').optional(),
        team: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    /**
     * Kubeconfig of an existing cluster, YAML or JSON (set it as a secret: errors never print it).
     * Default: $KUBECONFIG or ~/.kube/config.
     */
    kubeconfig: z
      .string()
      .superRefine((v, ctx) => {
        const wrong = kubeconfigProblem(v);
        if (wrong) ctx.addIssue({ code: "custom", message: wrong });
      })
      .optional(),
    /**
     * The feature store's online-store AUTH token (ElastiCache's, or the in-cluster Valkey's). Required: set it
     * as a secret, `pulumi config set --secret --stack <stage> pulumi-mlops:featureStoreAuthToken <token>`.
     */
    featureStoreAuthToken: z.string().regex(AUTH_TOKEN_PATTERN, 'must be 16 to 128 printable ASCII characters without spaces, \'"\', \'/\' or \'@\' (ElastiCache\'s AUTH token rules)').optional(),
    /** The feature store: when materialization runs. */
    featureStore: z.object({ schedule: cronSchedule().optional() }).strict().optional(),
    /** The MonitoringStack: when the drift job compares the endpoint's payloads with the model's reference. */
    monitoring: z.object({ driftSchedule: cronSchedule().optional() }).strict().optional(),
    /** Bearer token the endpoint requires (set it as a secret). Default: no auth. */
    authToken: z.string().min(16, "must be at least 16 characters").optional(),
    /** A runtime image to use instead of building `runtime/Dockerfile`. */
    image: z.string().min(1).optional(),
    /** Where the built runtime image is pushed (e.g. an ECR repository URL). */
    imageRepository: z.string().min(1).optional(),
  })
  .strict()
  .superRefine(gpuTrainingFitsAPool);

/** The GPU job must name one of the stage's pools and fit on one of its nodes. */
function gpuTrainingFitsAPool(c: { gpuTraining?: { nodePool: string; gpusPerWorker: number; team?: string }; cluster?: { gpuPools?: Array<{ name: string; gpusPerNode: number }>; teams?: Array<{ name: string }> } }, ctx: z.RefinementCtx): void {
  const job = c.gpuTraining;
  if (!job) return;
  const pools = c.cluster?.gpuPools ?? [];
  const pool = pools.find((p) => p.name === job.nodePool);
  if (!pool) {
    ctx.addIssue({
      code: "custom",
      path: ["gpuTraining", "nodePool"],
      message: pools.length
        ? `must be one of the stage's GPU pools (${pools.map((p) => p.name).join(", ")})`
        : "names a GPU pool, and the stage has none: add cluster.gpuPools",
    });
  } else if (job.gpusPerWorker > pool.gpusPerNode) {
    ctx.addIssue({
      code: "custom",
      path: ["gpuTraining", "gpusPerWorker"],
      message: `must be at most ${pool.gpusPerNode}, the GPUs of one ${pool.name} node (a worker is one pod): use more workers instead`,
    });
  }
  if (job.team && !(c.cluster?.teams ?? []).some((t) => t.name === job.team)) {
    ctx.addIssue({ code: "custom", path: ["gpuTraining", "team"], message: "must be one of cluster.teams" });
  }
}

export type StageConfig = z.output<typeof StageConfigSchema>;

/**
 * Validates a stack's configuration before any resource is created. `raw` maps config keys (with or
 * without the `<project>:` prefix) to their values as Pulumi stores them (strings; objects as JSON).
 * Throws one MlopsError naming the stack, each bad key, the value received and the fix.
 */
export function loadStageConfig(stack: string, raw: Record<string, string>, project = "pulumi-mlops"): { stage: Stage; config: StageConfig } {
  if (!(STAGES as readonly string[]).includes(stack)) {
    throw new MlopsError(
      problem(`stack`, "is not a known stage", stack, `Use one of ${STAGES.join(", ")} (pulumi stack select <stage>), or add the stage to STAGES in stacks/config.ts.`),
    );
  }
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const [ns, name] = key.includes(":") ? [key.slice(0, key.indexOf(":")), key.slice(key.indexOf(":") + 1)] : [project, key];
    if (ns !== project) continue; // other providers' config (aws:region, kubernetes:context…)
    // A string setting keeps its text: a JSON kubeconfig is not an object, an all-digit token not a number.
    values[name] = STRING_KEYS.has(name) ? value : parseConfigValue(value);
  }
  const result = StageConfigSchema.safeParse(values);
  if (result.success) return { stage: stack as Stage, config: result.data };
  const problems = result.error.issues.map((issue) => {
    const key = pathString("", issue.path);
    let received: unknown = values;
    for (const p of issue.path) received = received && typeof received === "object" ? (received as Record<PropertyKey, unknown>)[p] : undefined;
    if (issue.code === "unrecognized_keys") {
      return `${project}:${key === "(root)" ? issue.keys.join(", ") : `${key}.${issue.keys.join(", ")}`}: is not a known setting. Remove it with \`pulumi config rm --stack ${stack} ${project}:${issue.keys[0]}\` or fix the spelling.`;
    }
    const fixPath = key === "(root)" ? "<key>" : key;
    // A secret's value is described, never printed, and the fix keeps it encrypted in the stack file.
    const secret = isSecretField(key);
    const fix = secret
      ? `pulumi config set --secret --stack ${stack} ${project}:${fixPath} <value>`
      : `pulumi config set --stack ${stack} --path '${project}:${fixPath}' <value>`;
    return `${project}:${key}: ${issue.message}; received ${secret ? showSecret(received) : show(received)}. Fix: ${fix}`;
  });
  throw new MlopsError(
    `stack "${stack}" has ${problems.length} invalid config value${problems.length === 1 ? "" : "s"} (Pulumi.${stack}.yaml):\n  - ${problems.join("\n  - ")}`,
    problems,
  );
}

/** Top-level settings that are strings: taken as written, never parsed as JSON. */
const STRING_KEYS: ReadonlySet<string> = new Set(
  Object.entries(StageConfigSchema.shape)
    .filter(([, schema]) => schema.unwrap() instanceof z.ZodString)
    .map(([key]) => key),
);

function parseConfigValue(value: string): unknown {
  const t = value.trim();
  if (t.startsWith("{") || t.startsWith("[") || t === "true" || t === "false" || /^-?\d+(\.\d+)?$/.test(t)) {
    try {
      return JSON.parse(t);
    } catch {
      return value;
    }
  }
  return value;
}
