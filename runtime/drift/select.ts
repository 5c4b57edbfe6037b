/**
 * Which test a column gets, and how its type is decided: Evidently 0.7.21's defaults, read from its
 * sources (legacy/calculations/stattests/registry.py `_get_default_stattest`, core/datasets.py
 * `infer_column_type`, and each stattest's `default_threshold` and comparison).
 */
import { MlopsError } from "../../src/errors.js";

/** A column's storage type, from DuckDB's. */
export type Physical = "float" | "int" | "bool" | "string" | "datetime" | "other";

/** Evidently's column type for drift: the test families differ. */
export type FeatureType = "numerical" | "categorical";

export const METHODS = ["ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi"] as const;
export type Method = (typeof METHODS)[number];

interface MethodRule {
  /** Column types the test accepts when asked for by name (a default choice may bypass this, as in Evidently). */
  readonly allowed: readonly FeatureType[];
  readonly threshold: number;
  /** p-value tests drift below the threshold (KS at or below); distances at or above it. */
  readonly drifts: (score: number, threshold: number) => boolean;
  readonly pValue: boolean;
}

export const METHOD_RULES: Readonly<Record<Method, MethodRule>> = {
  ks: { allowed: ["numerical"], threshold: 0.05, drifts: (p, t) => p <= t, pValue: true },
  chisquare: { allowed: ["categorical"], threshold: 0.05, drifts: (p, t) => p < t, pValue: true },
  z: { allowed: ["categorical"], threshold: 0.05, drifts: (p, t) => p < t, pValue: true },
  wasserstein: { allowed: ["numerical"], threshold: 0.1, drifts: (d, t) => d >= t, pValue: false },
  jensenshannon: { allowed: ["numerical", "categorical"], threshold: 0.1, drifts: (d, t) => d >= t, pValue: false },
  psi: { allowed: ["numerical", "categorical"], threshold: 0.1, drifts: (d, t) => d >= t, pValue: false },
};

/** References up to this many (non-missing) rows get the statistical tests; above, the distances. */
export const SMALL_REFERENCE_ROWS = 1000;
/** Columns with at most this many distinct values (reference + current) get the categorical tests. */
export const FEW_VALUES = 5;
/** An integer column with at most this many distinct values is categorical (INTEGER_CARDINALITY_LIMIT). */
export const INTEGER_CARDINALITY_LIMIT = 10;
/** Dataset drift when at least this share of the tested columns drifted. */
export const DRIFT_SHARE = 0.5;

/** DuckDB's type name (DESCRIBE's column_type) to the storage families the tests tell apart. */
export function physicalOf(duckType: string): Physical {
  const t = duckType.toUpperCase();
  if (/^(DOUBLE|FLOAT|REAL|DECIMAL|NUMERIC)\b/.test(t)) return "float";
  if (/^U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)$/.test(t)) return "int";
  if (t === "BOOLEAN") return "bool";
  if (t === "VARCHAR" || t.startsWith("ENUM")) return "string";
  if (/^(DATE|TIME|TIMESTAMP|INTERVAL)/.test(t)) return "datetime";
  return "other";
}

/**
 * Evidently's infer_column_type, on the current data as its Report does: floats are numerical;
 * integers are categorical up to 10 distinct values, else numerical; booleans and strings are
 * categorical (Evidently calls a string column with more distinct values than half its rows "text"
 * and runs a text-drift classifier instead: here it stays categorical, and data quality says so).
 * Dates and other types are not drift-tested (undefined).
 */
export function featureTypeOf(physical: Physical, currentDistinct: number): FeatureType | undefined {
  switch (physical) {
    case "float":
      return "numerical";
    case "int":
      return currentDistinct <= INTEGER_CARDINALITY_LIMIT ? "categorical" : "numerical";
    case "bool":
    case "string":
      return "categorical";
    default:
      return undefined;
  }
}

/**
 * Evidently's default test: references of at most 1000 rows get KS (numerical, more than 5 distinct
 * values), else chi-square (more than 2 values) or Z (2 or fewer); larger references get the normed
 * Wasserstein distance (numerical, more than 5 values), else Jensen-Shannon. `nValues` counts the
 * distinct non-missing values of reference and current together.
 */
export function defaultMethod(referenceRows: number, type: FeatureType, nValues: number): Method {
  const few = type === "categorical" || nValues <= FEW_VALUES;
  if (referenceRows <= SMALL_REFERENCE_ROWS) {
    if (!few) return "ks";
    return nValues > 2 ? "chisquare" : "z";
  }
  return few ? "jensenshannon" : "wasserstein";
}

/** The method asked for (by name) checked against the column's type, as Evidently's registry checks it. */
export function checkMethod(method: Method, type: FeatureType, column: string): void {
  const rule = METHOD_RULES[method];
  if (!rule.allowed.includes(type)) {
    throw MlopsError.of(
      `--method (column ${JSON.stringify(column)})`,
      `${method} does not apply to a ${type} column`,
      method,
      `Use one of ${METHODS.filter((m) => METHOD_RULES[m].allowed.includes(type)).join(", ")} for it, or leave --method out for the default per column; --columns can leave the column out.`,
    );
  }
}

/** Parses `--method`. */
export function parseMethod(value: string | undefined): Method | undefined {
  if (value === undefined) return undefined;
  if ((METHODS as readonly string[]).includes(value)) return value as Method;
  throw MlopsError.of("--method", "is not a drift method", value, `Use one of: ${METHODS.join(", ")} (or leave it out for Evidently's default per column).`);
}
