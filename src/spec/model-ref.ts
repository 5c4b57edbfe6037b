import { z } from "zod";
import { MlopsError } from "../errors.js";

/** A model name: lowercase letters, digits, `-`, `_`, `.`; starts with a letter or digit. */
export const MODEL_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** An alias: like a model name, but must start with a letter (so it never reads as a version). */
export const ALIAS_PATTERN = /^[a-z][a-z0-9._-]{0,62}$/;

/** `name@alias` follows an alias; `name:version` pins an immutable version. */
export type ModelRef =
  | { readonly name: string; readonly alias: string; readonly version?: undefined }
  | { readonly name: string; readonly version: number; readonly alias?: undefined };

/** Parses `name@alias` or `name:version`; throws an MlopsError naming `field` when it is neither. */
export function parseModelRef(ref: string, field = "model"): ModelRef {
  const at = ref.indexOf("@");
  const colon = ref.lastIndexOf(":");
  if (at > 0 && colon < 0) {
    const name = ref.slice(0, at);
    const alias = ref.slice(at + 1);
    if (MODEL_NAME_PATTERN.test(name) && ALIAS_PATTERN.test(alias)) return { name, alias };
  } else if (colon > 0 && at < 0) {
    const name = ref.slice(0, colon);
    const v = ref.slice(colon + 1);
    if (MODEL_NAME_PATTERN.test(name) && /^[1-9][0-9]{0,8}$/.test(v)) return { name, version: Number(v) };
  }
  throw MlopsError.of(
    field,
    "is not a model reference",
    ref,
    'Write "<name>@<alias>" (e.g. "fraud@champion") or "<name>:<version>" (e.g. "fraud:3"); names are lowercase letters, digits, ".", "_" and "-".',
  );
}

export function formatModelRef(ref: ModelRef): string {
  return ref.alias !== undefined ? `${ref.name}@${ref.alias}` : `${ref.name}:${ref.version}`;
}

/** A zod string that must be a model reference; `message` words the rule for the schema at hand. */
export function modelRefSchema(message = 'must be "<name>@<alias>" or "<name>:<version>"') {
  return z.string().refine((s) => {
    try {
      parseModelRef(s);
      return true;
    } catch {
      return false;
    }
  }, message);
}
