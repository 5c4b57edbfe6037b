import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { MlopsError, parseOrThrow } from "../../src/errors.js";

/**
 * Validates a component's plain args before any resource is created. Every problem is reported at once
 * in one MlopsError, each line naming the property (`args.replicas.min`), the value received and the fix.
 */
export function validateArgs<S extends z.ZodType>(schema: S, args: unknown, component: string, name: string): z.output<S> {
  return parseOrThrow(schema, args, "args", `new ${component}("${name}")`);
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
/** Zod schema for a {@link DNS_LABEL}. */
export const dnsLabelSchema = z.string().regex(DNS_LABEL, "must be a DNS label: lowercase letters, digits and '-', starting with a letter");

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
