import type { z } from "zod";

/**
 * A mistake the user can fix: bad args, stack config, a request, a file. The message always says what
 * is wrong, the value received and the fix. Bugs in this package throw plain `Error`.
 */
export class MlopsError extends Error {
  override readonly name = "MlopsError";
  constructor(
    message: string,
    /** Each problem found, when several were collected into this one error. */
    readonly problems: readonly string[] = [message],
  ) {
    super(message);
  }

  /** One problem: `<field>: <what>; received <value>. <fix>` */
  static of(field: string, what: string, value: unknown, fix: string): MlopsError {
    return new MlopsError(problem(field, what, value, fix));
  }
}

/** Formats one problem line: field, what is wrong, the value received and the fix. */
export function problem(field: string, what: string, value: unknown, fix: string): string {
  return `${field}: ${what}; received ${show(value)}.${fix ? ` ${fix}` : ""}`;
}

/** Renders a received value for an error message, short and unambiguous. */
export function show(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return JSON.stringify(value.length > 120 ? value.slice(0, 117) + "..." : value);
  // Resources, Outputs and other class instances print as their class, not as a dump of internals.
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const proto = Object.getPrototypeOf(value);
    if (proto !== null && proto !== Object.prototype) {
      const ctor = (proto as { constructor?: { name?: string } }).constructor?.name;
      return `a ${ctor || "class instance"}`;
    }
  }
  try {
    const s = JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
    if (s === undefined) return String(value);
    return s.length > 120 ? s.slice(0, 117) + "..." : s;
  } catch {
    return String(value);
  }
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

/** `a.b[0].c` from a zod issue path. */
export function pathString(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || "(root)";
}

/**
 * Parses `input` with `schema`; on failure throws one MlopsError listing every issue with its property
 * path (under `prefix`), the value received and the fix (the zod message, which our schemas word as a fix).
 */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  input: unknown,
  prefix: string,
  context?: string,
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = pathString(prefix, issue.path);
    const received =
      issue.code === "unrecognized_keys"
        ? Object.fromEntries(issue.keys.map((k) => [k, valueAt(input, [...issue.path, k])]))
        : valueAt(input, issue.path);
    return problem(field, issue.message, received, fixFor(issue));
  });
  const head = context ? `${context}: ` : "";
  throw new MlopsError(
    `${head}${problems.length} invalid value${problems.length === 1 ? "" : "s"}:\n  - ${problems.join("\n  - ")}`,
    problems,
  );
}

function fixFor(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "unrecognized_keys":
      return `Remove ${issue.keys.join(", ")} (check the spelling against the documented options).`;
    case "invalid_value":
      return `Use one of: ${issue.values.map((v) => JSON.stringify(v)).join(", ")}.`;
    case "invalid_type":
      return `Give a ${issue.expected}.`;
    case "too_small":
      return `Use a value of at least ${String(issue.minimum)}.`;
    case "too_big":
      return `Use a value of at most ${String(issue.maximum)}.`;
    default:
      // Our schemas word custom and format messages as the rule to follow ("must be …"): that is the fix.
      return "";
  }
}

/** A named thing (model, version, alias, object) does not exist. Serving maps it to 404. */
export class NotFoundError extends MlopsError {
  constructor(message: string) {
    super(message);
  }
}

/** For `.catch(…)`: a NotFoundError becomes `fallback` (e.g. "no versions yet"); any other error is rethrown. */
export function ifNotFound<T>(fallback: T): (err: unknown) => T {
  return (err) => {
    if (err instanceof NotFoundError) return fallback;
    throw err;
  };
}
