import { canonicalJson } from "./digest.js";
import type { ReleaseBody } from "./types.js";

/** One difference between two releases: a leaf at `path` (`serving.batching.maxBatchSize`) and its two values. */
export interface ReleaseChange {
  readonly path: string;
  /** The value in the first release; absent when only the second has it. */
  readonly a?: unknown;
  /** The value in the second release; absent when only the first has it. */
  readonly b?: unknown;
}

/**
 * The leaves that differ between two release bodies, sorted by path. Objects are compared key by key,
 * arrays index by index; a value is a leaf when it is not a plain object or array (an empty one is a leaf
 * too, so `{}` against a filled object is reported).
 */
export function diffReleases(a: ReleaseBody, b: ReleaseBody): ReleaseChange[] {
  const left = flatten(a);
  const right = flatten(b);
  const paths = [...new Set([...left.keys(), ...right.keys()])].sort();
  const out: ReleaseChange[] = [];
  for (const path of paths) {
    const x = left.get(path);
    const y = right.get(path);
    if (left.has(path) && right.has(path) && canonicalJson(x) === canonicalJson(y)) continue;
    out.push({ path, ...(left.has(path) ? { a: x } : {}), ...(right.has(path) ? { b: y } : {}) });
  }
  return out;
}

/** The parts of a release that only a deployment (Pulumi) rolls out; the model itself moves with an alias. */
export const DEPLOYED_PARTS = ["image", "serving"] as const;

/** True when the change touches a part only a deployment rolls out ({@link DEPLOYED_PARTS}). */
export function isDeployedChange(change: ReleaseChange): boolean {
  return DEPLOYED_PARTS.some((p) => change.path === p || change.path.startsWith(`${p}.`));
}

function flatten(value: unknown, path = "", out = new Map<string, unknown>()): Map<string, unknown> {
  const container = value !== null && typeof value === "object";
  const entries = Array.isArray(value) ? value.map((v, i) => [`[${i}]`, v] as const) : container ? Object.entries(value as object).map(([k, v]) => [k, v] as const) : [];
  if (!container || entries.length === 0) {
    out.set(path || "(root)", value);
    return out;
  }
  for (const [k, v] of entries) {
    if (v === undefined) continue;
    flatten(v, k.startsWith("[") ? `${path}${k}` : path ? `${path}.${k}` : k, out);
  }
  return out;
}
