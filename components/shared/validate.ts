import type { z } from "zod";
import { parseOrThrow } from "../../src/errors.js";

/**
 * Validates a component's plain args before any resource is created. Every problem is reported at once
 * in one MlopsError, each line naming the property (`args.replicas.min`), the value received and the fix.
 */
export function validateArgs<S extends z.ZodType>(schema: S, args: unknown, component: string, name: string): z.output<S> {
  return parseOrThrow(schema, args, "args", `new ${component}("${name}")`);
}
