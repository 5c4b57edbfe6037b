import { z } from "zod";
import { ModelEndpointArgsSchema } from "../components/model-endpoint/args.js";
import { kubeconfigProblem } from "../components/shared/kubernetes.js";
import { isSecretField, MlopsError, pathString, problem, show, showSecret } from "../src/errors.js";
import { modelRefSchema } from "../src/spec/model-ref.js";

/** The endpoint's sizes, as ModelEndpoint checks them: Kubernetes quantities within what a pod can have. */
const endpointResources = ModelEndpointArgsSchema.shape.resources.unwrap().shape;

/** The trainer stacks/index.ts deploys. It is CPU-only and runs in one process (it ignores `workers`). */
export const BUILTIN_TRAINER = "logistic-regression";

/**
 * The stages the reference platform knows. What a stage changes (replica counts, protection of stateful
 * resources) is the components' stage defaults (components/shared/stage.ts), not repeated here.
 */
export const STAGES = ["dev", "staging", "prod"] as const;
export type Stage = (typeof STAGES)[number];

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
        /** Kube context of the ambient kubeconfig to use. */
        context: z.string().optional(),
        eks: z
          .object({
            version: z.string().regex(/^1\.\d{2}$/, 'must be a Kubernetes minor version such as "1.35"'),
            subnetIds: z.array(z.string().min(1)).min(2, "must list at least two subnets in different zones"),
          })
          .strict()
          .optional(),
        gpuPools: z
          .array(
            z
              .object({
                name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,38}$/, "must be lowercase letters, digits and '-'"),
                instanceType: z.string().min(1),
                gpusPerNode: z.number().int().min(1).max(16),
                min: z.number().int().min(0),
                max: z.number().int().min(1),
                spot: z.boolean().optional(),
              })
              .strict(),
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
        dataset: z.string().regex(/^(s3|file):\/\/.+/, "must be an s3:// or file:// URI"),
        workers: z.literal(1, `must be 1 or absent: the built-in trainer (${BUILTIN_TRAINER}) runs in one process`).optional(),
        gpusPerWorker: z.literal(0, `must be 0 or absent: the built-in trainer (${BUILTIN_TRAINER}) is CPU-only and would hold the GPUs idle`).optional(),
        nodePool: z
          .never({ error: `must be absent: the stage's pools are GPU pools and the built-in trainer (${BUILTIN_TRAINER}) is CPU-only` })
          .optional(),
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
    /** Bearer token the endpoint requires (set it as a secret). Default: no auth. */
    authToken: z.string().min(16, "must be at least 16 characters").optional(),
    /** A runtime image to use instead of building `runtime/Dockerfile`. */
    image: z.string().min(1).optional(),
    /** Where the built runtime image is pushed (e.g. an ECR repository URL). */
    imageRepository: z.string().min(1).optional(),
  })
  .strict();

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
