/**
 * Small dense linear algebra for the Newton solver: the systems are (d+1)×(d+1) with d at most a few
 * hundred, so a plain Cholesky beats anything clever.
 */

/**
 * Solves `A x = b` for a symmetric positive definite `A` (row-major `m×m`, only the upper triangle is
 * read). Returns `undefined` when `A` is not numerically positive definite, so the caller can add a ridge
 * and retry instead of taking a garbage step.
 */
export function choleskySolve(A: Float64Array, b: Float64Array, m: number): Float64Array | undefined {
  // L is lower-triangular, stored row-major; A = L Lᵀ.
  const L = new Float64Array(m * m);
  for (let j = 0; j < m; j++) {
    let diag = A[j * m + j]!;
    for (let k = 0; k < j; k++) diag -= L[j * m + k]! * L[j * m + k]!;
    // Relative threshold: a pivot lost to rounding is as useless as a negative one.
    if (!(diag > 1e-13 * Math.abs(A[j * m + j]!)) || !(diag > 0)) return undefined;
    const ljj = Math.sqrt(diag);
    L[j * m + j] = ljj;
    for (let i = j + 1; i < m; i++) {
      let s = A[j * m + i]!; // upper triangle: A[j][i] == A[i][j]
      for (let k = 0; k < j; k++) s -= L[i * m + k]! * L[j * m + k]!;
      L[i * m + j] = s / ljj;
    }
  }
  const x = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i * m + k]! * x[k]!;
    x[i] = s / L[i * m + i]!;
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = x[i]!;
    for (let k = i + 1; k < m; k++) s -= L[k * m + i]! * x[k]!;
    x[i] = s / L[i * m + i]!;
  }
  return x;
}

/** Largest absolute entry; 0 for an empty vector. */
export function maxAbs(v: Float64Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]!);
    if (a > m) m = a;
  }
  return m;
}
