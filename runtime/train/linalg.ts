/**
 * Small dense linear algebra for the Newton solvers: the systems are (d+1)² for narrow data and n² for
 * wide data, each at most a few thousand on a side, so a plain Cholesky beats anything clever.
 */

/**
 * Solves `A x = b` for a symmetric positive definite `A` (row-major `m×m`, only the upper triangle is
 * read). Returns `undefined` when `A` is not numerically positive definite, so the caller can add a ridge
 * and retry instead of taking a garbage step.
 */
export function choleskySolve(A: Float64Array, b: Float64Array, m: number): Float64Array | undefined {
  const L = A.slice();
  return choleskyInPlace(L, m) ? choleskySolveFactored(L, b, m) : undefined;
}

/**
 * Cholesky factorization A = L Lᵀ in place: reads the upper triangle and diagonal of row-major `A`,
 * writes L into its lower triangle and diagonal (the strict upper triangle is left as it was). Returns
 * false, with `A`'s lower triangle overwritten, when `A` is not numerically positive definite.
 */
export function choleskyInPlace(A: Float64Array, m: number): boolean {
  for (let j = 0; j < m; j++) {
    const ajj = A[j * m + j]!;
    let diag = ajj;
    for (let k = 0; k < j; k++) diag -= A[j * m + k]! * A[j * m + k]!;
    // Relative threshold: a pivot lost to rounding is as useless as a negative one.
    if (!(diag > 1e-13 * Math.abs(ajj)) || !(diag > 0)) return false;
    const ljj = Math.sqrt(diag);
    A[j * m + j] = ljj;
    for (let i = j + 1; i < m; i++) {
      let s = A[j * m + i]!; // upper triangle: A[j][i] == A[i][j]
      for (let k = 0; k < j; k++) s -= A[i * m + k]! * A[j * m + k]!;
      A[i * m + j] = s / ljj;
    }
  }
  return true;
}

/** Solves L Lᵀ x = b with L in the lower triangle and diagonal of row-major `L` (from {@link choleskyInPlace}). */
export function choleskySolveFactored(L: Float64Array, b: Float64Array, m: number): Float64Array {
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

/** Σ aᵢbᵢ. */
export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
