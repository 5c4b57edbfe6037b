import { z } from "zod";
import { MlopsError, problem } from "../errors.js";
import { modelRefSchema, parseModelRef } from "./model-ref.js";

/**
 * `variants` of an EndpointSpec: besides the stable model (`model`), a canary that takes a share of the
 * infer requests and is judged against stable, and/or a shadow that receives a mirrored sample whose
 * answers are discarded. `mlops serve` routes between them in-process (runtime/serve/variants/); the state
 * every replica follows (the canary's current weight, a rollback, a promotion) lives in the registry
 * (src/registry/rollouts.ts), so a decision one pod takes is the one every pod applies.
 */
export const VARIANT_DEFAULTS = {
  bakeSeconds: 60,
  onSuccess: "wait",
  routing: "hash",
  /** Canary error ratio may exceed stable's by at most this (absolute: 0.01 is one percentage point). */
  maxErrorRatioIncrease: 0.01,
  /** Canary p99 may be at most this many times stable's... */
  p99LatencyRatio: 1.5,
  /** ...unless it is within this many milliseconds of it (tiny models: a 1 ms p99 against 0.6 ms is noise, not a regression). */
  p99LatencySlackMs: 10,
  /** Canary requests a bake period needs before it is judged; fewer and the period is extended (never passed, never failed). */
  minRequests: 100,
  /** Shadow requests in flight at most; one more sampled request is not mirrored (and is counted). */
  maxShadowInFlight: 64,
} as const;

const modelRef = modelRefSchema('must be "<name>@<alias>" or "<name>:<version>", e.g. "fraud:4" or "fraud@challenger"');
const percent = z.number().min(0, "must be 0 to 100 (a percentage of infer requests)").max(100, "must be 0 to 100 (a percentage of infer requests)");

export const CanaryAnalysisSchema = z
  .object({
    /** Largest (canary error ratio − stable error ratio) that passes, 0 to 1. */
    maxErrorRatioIncrease: z.number().min(0).max(1).default(VARIANT_DEFAULTS.maxErrorRatioIncrease),
    /** Largest canary p99 / stable p99 that passes (≥ 1). */
    p99LatencyRatio: z.number().min(1).max(100).default(VARIANT_DEFAULTS.p99LatencyRatio),
    /** A canary p99 within this many ms of stable's passes whatever the ratio. */
    p99LatencySlackMs: z.number().min(0).max(60_000).default(VARIANT_DEFAULTS.p99LatencySlackMs),
    /** Canary requests needed in a bake period before judging it. */
    minRequests: z.number().int().min(1).max(10_000_000).default(VARIANT_DEFAULTS.minRequests),
    /**
     * Judge on every replica's numbers, from Prometheus (a MonitoringStack's), rather than on this pod's own.
     * `selector`: label matchers added to every query, e.g. `mlops_endpoint="fraud"`. @default - this pod's metrics
     */
    prometheus: z
      .object({
        url: z.string().regex(/^https?:\/\/[^\s]+$/, 'must be an http(s) URL of the Prometheus server, e.g. "http://prometheus-operated.monitoring:9090"'),
        selector: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*(=|!=|=~|!~)"[^"]*"(,\s*[a-zA-Z_][a-zA-Z0-9_]*(=|!=|=~|!~)"[^"]*")*$/, 'must be label matchers, e.g. mlops_endpoint="fraud"').optional(),
        timeoutSeconds: z.number().min(0.1).max(300).default(10),
      })
      .strict()
      .optional(),
  })
  .strict();

export const CanarySchema = z
  .object({
    /** The challenger: a version (`name:4`) or an alias (`name@challenger`) of the endpoint's model. */
    model: modelRef,
    /** Share of infer requests (percent) the canary starts with. */
    weight: percent,
    /** Weights stepped through after each passed bake period, increasing, each above `weight`. @default - none: one bake period at `weight` */
    steps: z.array(percent).max(20).optional(),
    /** How long each weight is held before it is judged. */
    bakeSeconds: z.number().min(0.05).max(86_400).default(VARIANT_DEFAULTS.bakeSeconds),
    analysis: CanaryAnalysisSchema.prefault({}),
    /** After the last step passes: move the stable alias to the canary's version, or hold and wait for `mlops promote`. */
    onSuccess: z.enum(["promote", "wait"], { error: 'must be "promote" (move the stable alias to the canary) or "wait" (hold until mlops promote)' }).default(VARIANT_DEFAULTS.onSuccess),
    /** `hash`: by the request's `x-request-id` header (the same id always lands on the same variant; random without one); `random`: weighted random. */
    routing: z.enum(["hash", "random"], { error: 'must be "hash" (by x-request-id) or "random"' }).default(VARIANT_DEFAULTS.routing),
  })
  .strict();

export const ShadowSchema = z
  .object({
    /** The model mirrored to: any reference; its answers are compared with stable's and discarded. */
    model: modelRef,
    /** Share of infer requests mirrored, 0 to 1. */
    sampleRate: z.number().min(0, "must be 0 to 1 (a share of infer requests)").max(1, "must be 0 to 1 (a share of infer requests)"),
    /** Mirrored requests in flight at most (more are skipped and counted). */
    maxInFlight: z.number().int().min(1).max(10_000).default(VARIANT_DEFAULTS.maxShadowInFlight),
  })
  .strict();

export const EndpointVariantsSchema = z
  .object({
    canary: CanarySchema.optional(),
    shadow: ShadowSchema.optional(),
  })
  .strict();

export type EndpointVariants = z.output<typeof EndpointVariantsSchema>;
export type EndpointVariantsInput = z.input<typeof EndpointVariantsSchema>;
export type CanarySpec = z.output<typeof CanarySchema>;
export type ShadowSpec = z.output<typeof ShadowSchema>;
export type CanaryAnalysis = z.output<typeof CanaryAnalysisSchema>;

/** The label every serving metric carries: which variant answered. */
export type VariantLabel = "stable" | "canary" | "shadow";

/** The canary's weights in order: `weight`, then each step. */
export function canaryWeights(c: Pick<CanarySpec, "weight" | "steps">): number[] {
  return [c.weight, ...(c.steps ?? [])];
}

/**
 * The checks the schema cannot make, each naming its field under `at`: a canary of the endpoint's own model
 * and not the same reference, increasing steps, `promote` only with a stable alias to move.
 */
export function endpointVariantsProblems(v: EndpointVariants, model: string, at = "variants"): string[] {
  const out: string[] = [];
  let stable;
  try {
    stable = parseModelRef(model);
  } catch {
    return out; // the model field's own check reports it
  }
  const c = v.canary;
  if (c) {
    const ref = parseModelRef(c.model, `${at}.canary.model`);
    if (ref.name !== stable.name) {
      out.push(problem(`${at}.canary.model`, `names model "${ref.name}", not the endpoint's model "${stable.name}"`, c.model, `A canary is another version of the same model: write "${stable.name}:<version>" or "${stable.name}@<alias>".`));
    } else if (c.model === model) {
      out.push(problem(`${at}.canary.model`, "is the stable model itself", c.model, `Name the challenger: "${stable.name}:<version>" or "${stable.name}@challenger".`));
    }
    let prev = c.weight;
    (c.steps ?? []).forEach((w, i) => {
      if (w <= prev) out.push(problem(`${at}.canary.steps[${i}]`, `is ${w}, not above the weight before it (${prev})`, c.steps, "List increasing weights, each above canary.weight, e.g. weight 10, steps [25, 50, 100]."));
      prev = w;
    });
    if (c.weight === 0 && (c.steps ?? []).length === 0) {
      out.push(problem(`${at}.canary.weight`, "is 0 with no steps: the canary would never get a request to judge", c.weight, "Start at a weight above 0 (e.g. 10), or give steps."));
    }
    if (c.onSuccess === "promote" && stable.alias === undefined) {
      out.push(problem(`${at}.canary.onSuccess`, `is "promote" but the stable model ${model} is a pinned version: there is no alias to move`, c.onSuccess, `Serve "${stable.name}@<alias>" as the model, or set onSuccess: "wait".`));
    }
  }
  if (v.shadow && v.shadow.model === model) {
    out.push(problem(`${at}.shadow.model`, "is the stable model itself: nothing would be compared", v.shadow.model, "Name the model to try in the shadow, e.g. \"fraud:4\"."));
  }
  return out;
}

/** Throws one MlopsError listing every {@link endpointVariantsProblems} of `spec.variants` (none: `spec` as is). */
export function checkEndpointVariants<T extends { readonly model: string; readonly variants?: EndpointVariants }>(spec: T, source: string): T {
  if (spec.variants === undefined) return spec;
  const problems = endpointVariantsProblems(spec.variants, spec.model);
  if (problems.length === 0) return spec;
  throw new MlopsError(`${source}: ${problems.length} invalid value${problems.length === 1 ? "" : "s"}:\n  - ${problems.join("\n  - ")}`, problems);
}
