import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { MlopsError, parseOrThrow } from "../../src/errors.js";

/** How {@link validateArgs} words its problems. */
export interface ValidateOptions<T> {
  /** The component and name, first in the message: `new ModelEndpoint("fraud")`, `addTrainingJob("nightly")`. */
  readonly context: string;
  /** Prefix of every property path. @default "args" */
  readonly prefix?: string;
  /**
   * Rules spanning fields (or needing more than the args, like the cluster a job runs on), each problem
   * worded with `problem()` (src/errors.ts). They run on the raw args even when the schema fails, so all problems are
   * reported at once: they must tolerate a bad shape (the schema reports that).
   */
  readonly crossFieldChecks?: (args: T) => readonly string[];
}

/**
 * Validates a component's plain args before any resource is created: the zod schema (every args.ts
 * exports one) and the cross-field rules. Every problem is reported at once in one MlopsError, each line
 * naming the property (`args.replicas.min`), the value received and the fix. Returns the parsed args.
 */
export function validateArgs<S extends z.ZodType>(schema: S, args: unknown, opts: ValidateOptions<any>): z.output<S> {
  const prefix = opts.prefix ?? "args";
  const result = schema.safeParse(args);
  const problems = [...(result.success ? [] : schemaProblems(schema, args, prefix)), ...(opts.crossFieldChecks?.(args) ?? [])];
  throwProblems(opts.context, problems);
  return (result as { data: z.output<S> }).data;
}

/** A value known only at deploy time: an Output or a Promise. */
export const isDeferred = (v: unknown): boolean => pulumi.Output.isInstance(v) || v instanceof Promise;

/** A `pulumi.Input<string>`: a string, an Output or a Promise. */
export const isInput = (v: unknown): boolean => typeof v === "string" || isDeferred(v);

/** Zod schema for a `pulumi.Input<string>`; `message` says what was expected. */
export function inputString(message = "must be a string or an Output<string>") {
  return z.custom<pulumi.Input<string>>(isInput, message);
}

/** An RFC 1035 label (namespace, team and object names): lowercase letters, digits and '-', starting with a letter. */
export const DNS_LABEL = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** A Kubernetes resource quantity: `4`, `500m`, `16Gi`. */
export const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const QUANTITY_SUFFIX: Record<string, number> = {
  "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** The value of a Kubernetes quantity in base units (`"500m"` → 0.5, `"1Gi"` → 1073741824); undefined if it is not one. */
export function quantityValue(q: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(q);
  return m ? Number(m[1]) * QUANTITY_SUFFIX[m[2] ?? ""]! : undefined;
}

/**
 * Zod schema for a Kubernetes quantity string of `what` between `min` and `max` base units (cores,
 * bytes). Every Kubernetes size a component takes is such a string: it goes into the manifests as written.
 */
export function quantity(what: string, min: number, max: number, example: string) {
  return z.string().refine((s) => {
    const v = quantityValue(s);
    return v !== undefined && v >= min && v <= max;
  }, `must be a Kubernetes ${what} quantity such as ${example}, within the range a pod can have`);
}

/** Zod schema for a {@link DNS_LABEL}. */
export const dnsLabelSchema = z.string().regex(DNS_LABEL, "must be a DNS label: lowercase letters, digits and '-', starting with a letter");

/** An image repository without tag or digest (`imageRepository` of the components that build the runtime image). */
export const imageRepositorySchema = z.string().regex(/^[a-z0-9.-]+(:[0-9]+)?(\/[a-z0-9._-]+)+$/, "must be a repository like registry.example.com/team/runtime (no tag)");

/** Where a workload's pods go (`placement`): a node selector and tolerations, as Kubernetes writes them. */
export const placementSchema = z
  .object({ nodeSelector: z.record(z.string(), z.string()).optional(), tolerations: z.array(z.record(z.string(), z.unknown())).optional() })
  .strict();

/** The problems {@link parseOrThrow} would report for `input` (worded with value and fix), to merge with others. */
export function schemaProblems(schema: z.ZodType, input: unknown, prefix = ""): string[] {
  try {
    parseOrThrow(schema, input, prefix);
    return [];
  } catch (e) {
    if (e instanceof MlopsError) return [...e.problems];
    throw e;
  }
}

/** Throws one MlopsError listing every problem collected, worded like {@link parseOrThrow}'s; nothing when none. */
export function throwProblems(context: string, problems: readonly string[]): void {
  if (problems.length === 0) return;
  throw new MlopsError(`${context}: ${problems.length} invalid value${problems.length === 1 ? "" : "s"}:\n  - ${problems.join("\n  - ")}`, problems);
}

/** A CronJob schedule: five fields, or one of the macros Kubernetes accepts. */
const CRON = /^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$/;

/** The schema of a CronJob `schedule`; `example` is the five-field example and its macro the message shows. */
export function cronSchedule(example: { fields: string; meaning: string; macro: string } = { fields: "0 * * * *", meaning: "hourly", macro: "@hourly" }) {
  return z
    .string()
    .refine((s) => CRON.test(s.trim()), `is not a cron schedule: write five fields, e.g. "${example.fields}" (${example.meaning}), or a macro such as "${example.macro}"`);
}
