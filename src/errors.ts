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

  /** One problem: `<field>: <what>; received <value>. <fix>` (a secret field's value described, not shown). */
  static of(field: string, what: string, value: unknown, fix: string): MlopsError {
    return new MlopsError(problem(field, what, value, fix));
  }
}

/**
 * Formats one problem line: field, what is wrong, the value received and the fix. A secret-bearing field
 * ({@link isSecretField}) is described (its length), never printed.
 */
export function problem(field: string, what: string, value: unknown, fix: string): string {
  const received = isSecretField(field) ? showSecret(value) : show(value);
  return `${field}: ${what}; received ${received}.${fix ? ` ${fix}` : ""}`;
}

/**
 * Names of settings whose values are secrets (kubeconfigs, tokens, passwords, keys): their values never
 * appear in an error message, a log line or `mlops synth` output.
 */
const SECRET_NAME = /kubeconfig|token|passw(or)?d|secret|credential|private.?key|api.?key|access.?key/i;

/** True when the last name of a property path (`kubernetes.kubeconfig`, `pulumi-mlops:authToken`, `auth.token`) names a secret. */
export function isSecretField(field: string): boolean {
  const last = field.replace(/\[\d+\]/g, "").split(/[.:]/).filter(Boolean).pop() ?? "";
  return SECRET_NAME.test(last);
}

/** What a message says of a secret value instead of printing it: its kind and size only. */
export function showSecret(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "string") {
    if (value.length === 0) return "an empty string";
    return `a value of ${value.length.toLocaleString("en-US")} character${value.length === 1 ? "" : "s"} (not shown: secret)`;
  }
  if (Array.isArray(value)) return "a list (not shown: secret)";
  if (typeof value === "object") return `${describeInstance(value) ?? "an object"} (not shown: secret)`;
  return `a ${typeof value} (not shown: secret)`;
}

/**
 * Strings that carry credentials whatever field they are in: a kubeconfig (users, tokens, client keys),
 * a PEM private key, a bearer token.
 */
const SECRET_TEXT = /\bkind["']?\s*:\s*["']?Config\b|client-key-data|\btoken["']?\s*[:=]|\bpassword["']?\s*[:=]|-----BEGIN [A-Z ]*PRIVATE KEY-----|\bBearer\s+\S/i;

/** Renders a received value for an error message, short and unambiguous, with secrets it contains masked. */
export function show(value: unknown): string {
  if (value === undefined) return "nothing";
  // JSON has no NaN or Infinity: it would print them as null.
  if (typeof value === "number") return String(value);
  if (typeof value === "string") {
    if (SECRET_TEXT.test(value)) return showSecret(value);
    return JSON.stringify(value.length > 120 ? value.slice(0, 117) + "..." : value);
  }
  // Resources, Outputs and other class instances print as their class, not as a dump of internals.
  const instance = describeInstance(value);
  if (instance && !Array.isArray(value)) return instance;
  try {
    const s = JSON.stringify(value, (k, v) => {
      if (typeof v === "bigint") return v.toString();
      // Nested secrets and class instances: masked, named by class.
      if (k !== "" && v !== undefined && isSecretField(k)) return `[${showSecret(v)}]`;
      if (typeof v === "string" && SECRET_TEXT.test(v)) return `[${showSecret(v)}]`;
      if (k !== "" && !Array.isArray(v)) {
        const nested = describeInstance(v);
        if (nested) return `[${nested}]`;
      }
      return v;
    });
    if (s === undefined) return String(value);
    return s.length > 120 ? s.slice(0, 117) + "..." : s;
  } catch {
    return "a value that cannot be printed";
  }
}

/** `a Provider`, `an Output`… for a class instance; undefined for plain objects, arrays and primitives. */
function describeInstance(value: unknown): string | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const proto = Object.getPrototypeOf(value);
  if (proto === null || proto === Object.prototype) return undefined;
  const ctor = (proto as { constructor?: { name?: string } }).constructor?.name || "class instance";
  return `${/^[AEIOU]/.test(ctor) ? "an" : "a"} ${ctor}`;
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
  const problems = result.error.issues.flatMap(closestBranch).map((issue) => {
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

/**
 * A value that matches none of a union's shapes gets zod's bare "Invalid input". When one shape is clearly
 * meant (it has the fewest problems, e.g. `{ builtin: "xgboost" }` is a misspelt builtin trainer, not a
 * command trainer missing `command`), report that shape's problems, with their full paths; when none stands
 * out, keep the union's own message (our schemas word it as the shapes to choose from).
 */
function closestBranch(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== "invalid_union" || !Array.isArray(issue.errors) || issue.errors.length === 0) return [issue];
  const sizes = issue.errors.map((branch) => branch.length);
  const fewest = Math.min(...sizes);
  if (fewest === 0 || sizes.filter((n) => n === fewest).length > 1) return [issue];
  const branch = issue.errors[sizes.indexOf(fewest)]!;
  return branch.flatMap((inner) => closestBranch({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue));
}

function fixFor(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "unrecognized_keys":
      return `Remove ${issue.keys.join(", ")} (check the spelling against the documented options).`;
    case "invalid_value":
      return `Use one of: ${issue.values.map((v) => JSON.stringify(v)).join(", ")}.`;
    case "invalid_type":
      return `Give ${/^[aeiou]/.test(String(issue.expected)) ? "an" : "a"} ${issue.expected}.`;
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
