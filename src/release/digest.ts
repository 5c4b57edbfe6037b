import { canonicalJson, sha256 } from "../features/registry.js";
import { MlopsError } from "../errors.js";
import type { ReleaseBody } from "./types.js";

export { canonicalJson };

/**
 * `sha256:<hex>` of a release body's canonical JSON (keys sorted at every level, no whitespace), so that
 * the same inputs give the same digest whatever order they were assembled in. Refuses values JSON cannot
 * hold exactly (NaN, Infinity, undefined in arrays), which would otherwise all print as `null`.
 */
export function releaseDigest(body: ReleaseBody): string {
  checkJsonSafe(body, "release");
  return sha256(canonicalJson(body));
}

function checkJsonSafe(value: unknown, at: string): void {
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw MlopsError.of(at, "is not a finite number, which JSON cannot hold", value, "Record finite metric values only.");
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      if (v === undefined) throw new Error(`${at}[${i}] is undefined: a release body must be plain JSON`);
      checkJsonSafe(v, `${at}[${i}]`);
    });
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) checkJsonSafe(v, `${at}.${k}`);
  }
}

/** The hex part of a `sha256:<hex>` digest. */
export function digestHex(digest: string): string {
  const hex = /^sha256:([0-9a-f]{64})$/.exec(digest)?.[1];
  if (!hex) throw new Error(`not a sha256 digest: ${JSON.stringify(digest)}`);
  return hex;
}
