import * as pulumi from "@pulumi/pulumi";

/**
 * A per-child escape hatch: either a partial args object deep-merged over what the component computed,
 * or a function that edits the args (and options) in place or returns replacement args.
 *
 * @example
 * transform: { deployment: { spec: { revisionHistoryLimit: 3 } } }
 * @example
 * transform: { deployment: (args) => { args.metadata = { ...args.metadata, annotations: { team: "risk" } }; } }
 */
export type Transform<Args> = DeepPartial<Args> | ((args: Args, opts: pulumi.CustomResourceOptions, name: string) => Args | void);

export type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** Applies a transform hook; returns the args and options to create the child with. */
export function applyTransform<Args extends object>(
  hook: Transform<Args> | undefined,
  name: string,
  args: Args,
  opts: pulumi.CustomResourceOptions,
): [Args, pulumi.CustomResourceOptions] {
  if (hook === undefined) return [args, opts];
  if (typeof hook === "function") {
    const replaced = hook(args, opts, name);
    return [replaced ?? args, opts];
  }
  return [deepMerge(args, hook) as Args, opts];
}

/** Plain objects merge key by key; arrays and everything else (Outputs included) are replaced. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  if (pulumi.Output.isInstance(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
