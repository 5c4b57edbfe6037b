import { MlopsError } from "../../src/errors.js";

/** What one pass over a training table gives the solver. */
export interface TableStats {
  /** Column means. */
  readonly mean: Float64Array;
  /** Population standard deviation per column (sklearn's StandardScaler); 1 for a constant column. */
  readonly scale: Float64Array;
  /** Rows labelled 1. */
  readonly positives: number;
  /** Σ over rows labelled 1 of (x − mean), per column: the gradient at the all-zero coefficients. */
  readonly positiveCentered: Float64Array;
}

/**
 * Validates labels (0/1, both classes) and features (finite) and computes the standardization, in one
 * pass over X: at a million rows each pass costs tens of milliseconds, and the fit is only a handful of
 * passes. Sums are taken around the first row (the shifted-data variance), which is as accurate as two
 * passes unless a column's spread is tiny next to its distance from that row.
 *
 * @throws MlopsError naming the first non-finite feature or bad label, or a single class
 */
export function scanTable(X: Float64Array, y: Float64Array | Uint8Array, n: number, d: number): TableStats {
  let positives = 0;
  for (let i = 0; i < n; i++) {
    const v = y[i]!;
    if (v !== 0 && v !== 1) {
      throw MlopsError.of(`labels[row ${i}]`, "must be 0 or 1 for logistic regression", v, "Encode the label column as 0/1.");
    }
    positives += v;
  }
  if (positives === 0 || positives === n) {
    throw MlopsError.of("labels", "contain a single class; logistic regression needs both 0 and 1", { rowsLabelled1: positives, rows: n }, "Use a dataset (or split) with both classes.");
  }

  const shift = X.slice(0, d);
  const s1 = new Float64Array(d);
  const s2 = new Float64Array(d);
  const sy = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    if (y[i] === 1) {
      for (let j = 0; j < d; j++) {
        const t = X[o + j]! - shift[j]!;
        s1[j] += t;
        s2[j] += t * t;
        sy[j] += t;
      }
    } else {
      for (let j = 0; j < d; j++) {
        const t = X[o + j]! - shift[j]!;
        s1[j] += t;
        s2[j] += t * t;
      }
    }
  }
  // NaN and ±Infinity survive into the sums; only then is it worth looking for the culprit.
  for (let j = 0; j < d; j++) if (!Number.isFinite(s2[j]!) || !Number.isFinite(shift[j]!)) throw nonFinite(X, d, j);

  const mean = new Float64Array(d);
  const scale = new Float64Array(d);
  const positiveCentered = new Float64Array(d);
  const eps = Number.EPSILON;
  for (let j = 0; j < d; j++) {
    const delta = s1[j]! / n;
    mean[j] = shift[j]! + delta;
    const variance = Math.max(0, s2[j]! / n - delta * delta);
    // Rounding leaves noise in a constant column's variance; sklearn's StandardScaler bound on it
    // (n·eps·var + (n·mean·eps)²) decides what counts as zero, and so do we.
    const noise = n * eps * variance + (n * mean[j]! * eps) ** 2;
    scale[j] = variance <= noise ? 1 : Math.sqrt(variance);
    positiveCentered[j] = sy[j]! - positives * delta;
  }
  return { mean, scale, positives, positiveCentered };
}

function nonFinite(X: Float64Array, d: number, column: number): MlopsError {
  for (let k = column; k < X.length; k += d) {
    if (!Number.isFinite(X[k]!)) {
      // Built by hand: the generic formatter renders NaN and Infinity as JSON null.
      return new MlopsError(
        `features[row ${(k - column) / d}, column ${column}]: must be a finite number; received ${X[k]}. ` +
          "Drop or impute rows with missing, NaN or infinite values before training.",
      );
    }
  }
  return new MlopsError(
    `features[column ${column}]: values too large to standardize (their squares overflow float64). ` +
      "Rescale the column (e.g. to other units or a log scale) before training.",
  );
}
