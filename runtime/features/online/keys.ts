/**
 * Entity keys and stored values, in the one text form every online store, the materializer, `/push` and
 * the lookup share.
 *
 * - A join key value is canonical text: an int64 key as its decimal digits (no leading zeros, no `+`), a
 *   string key as its JSON string (quoted), so a composite key `1,"a,b"` can never read two ways.
 * - A stored feature value is its JSON text (`12.5`, `"gold"`, `true`, `null`), written once at
 *   materialization, so answering a request is string concatenation: nothing is parsed or re-encoded
 *   on the read path, and int64 values beyond 2^53 come back exactly as they went in.
 */
import type { FeatureDtype, FeatureStoreSpec, FeatureViewSpec } from "../../../src/spec/features.js";
import { viewJoinKeys } from "../../../src/spec/features.js";

/** The value type of a join key (the entity's `valueType`). */
export type KeyType = "int64" | "string";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DIGITS = /^-?[0-9]{1,20}$/;

/** A view's join keys with their types, in the view's entity order (the order keys are serialized in). */
export interface ViewKeys {
  readonly names: readonly string[];
  readonly types: readonly KeyType[];
}

export function viewKeys(view: FeatureViewSpec, spec: FeatureStoreSpec): ViewKeys {
  const types = new Map<string, KeyType>();
  for (const e of spec.entities) for (const k of e.joinKeys) types.set(k, e.valueType);
  const names = viewJoinKeys(view, spec);
  return { names, types: names.map((n) => types.get(n) ?? "int64") };
}

/**
 * The canonical text of one join key value from JSON (a request, a push) or from DuckDB (a bigint).
 * Returns undefined when the value does not fit the type; the caller names the field.
 */
export function keyText(value: unknown, type: KeyType): string | undefined {
  if (type === "string") return typeof value === "string" ? JSON.stringify(value) : undefined;
  if (typeof value === "number") return Number.isSafeInteger(value) ? String(value) : undefined;
  if (typeof value === "bigint") return value >= INT64_MIN && value <= INT64_MAX ? value.toString() : undefined;
  if (typeof value === "string" && DIGITS.test(value)) {
    const n = BigInt(value);
    return n >= INT64_MIN && n <= INT64_MAX ? n.toString() : undefined;
  }
  return undefined;
}

/** Why {@link keyText} refused a value, as the fix half of an error message. */
export function keyFix(type: KeyType): string {
  return type === "string"
    ? "This join key's entity has valueType string: send JSON strings."
    : 'This join key is an int64: send whole numbers (as JSON strings of digits, e.g. "9007199254740993", beyond 2^53).';
}

/** The text identifying one entity in a view: its key values' canonical texts, comma-separated. */
export function entityKeyText(texts: readonly string[]): string {
  return texts.length === 1 ? texts[0]! : texts.join(",");
}

/**
 * The JSON text a feature value is stored as, from what DuckDB or a JSON body holds. NaN and infinities
 * have no JSON form: they are stored as null (read back as NULL_VALUE). Returns undefined when the value
 * does not fit the dtype.
 */
export function valueText(value: unknown, dtype: FeatureDtype): string | undefined {
  if (value === null || value === undefined) return "null";
  switch (dtype) {
    case "float32":
    case "float64":
      if (typeof value === "number") return Number.isFinite(value) ? String(value) : "null";
      return undefined;
    case "int32":
      return typeof value === "number" && Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31 ? String(value) : undefined;
    case "int64":
      return typeof value === "bigint" || typeof value === "number" || typeof value === "string" ? keyText(value, "int64") : undefined;
    case "bool":
      return typeof value === "boolean" ? (value ? "true" : "false") : undefined;
    case "string":
      return typeof value === "string" ? JSON.stringify(value) : undefined;
  }
}

/** A row to write: one entity's latest values for one view. */
export interface OnlineRow {
  /** {@link entityKeyText} of the row's join key values. */
  readonly key: string;
  /** Event time, microseconds since the Unix epoch (UTC). */
  readonly eventMicros: number;
  /** Created time in microseconds, or -1 when the source has none; breaks ties between equal event times. */
  readonly createdMicros: number;
  /** {@link valueText} of each feature, in the view's declared feature order. */
  readonly values: readonly string[];
}

/** Micros since the epoch from an ISO 8601 text (a trailing `Z` or offset honoured; none means UTC), or NaN. */
export function isoMicros(text: string): number {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(text.trim());
  if (!m) return NaN;
  const zone = m[4] ? (m[4].toUpperCase() === "Z" ? "Z" : m[4].length === 5 ? `${m[4].slice(0, 3)}:${m[4].slice(3)}` : m[4]) : "Z";
  const ms = Date.parse(`${m[1]}T${m[2] ?? "00:00"}${m[2] && m[2].length === 5 ? ":00" : ""}${zone}`);
  if (Number.isNaN(ms)) return NaN;
  const frac = (m[3] ?? "").padEnd(6, "0").slice(0, 6);
  return ms * 1000 + Number(frac);
}

/**
 * RFC 3339 UTC text of a time in microseconds, as Feast's server writes protobuf Timestamps: no fraction
 * when it is whole seconds, else 3 or 6 digits.
 */
export function microsIso(micros: number): string {
  const seconds = Math.floor(micros / 1e6);
  const frac = micros - seconds * 1e6;
  const base = new Date(seconds * 1000).toISOString().slice(0, 19);
  if (frac === 0) return `${base}Z`;
  if (frac % 1000 === 0) return `${base}.${String(frac / 1000).padStart(3, "0")}Z`;
  return `${base}.${String(frac).padStart(6, "0")}Z`;
}
