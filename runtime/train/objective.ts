/**
 * The objective every logistic-regression solver minimizes, and the two products with the standardized
 * design matrix Z (zᵢⱼ = (xᵢⱼ − meanⱼ)·invⱼ) that the wide-data solvers need. Z is never stored: each
 * pass standardizes X on the fly, so a solver's memory is O(n + d) beyond X itself.
 */

/**
 * One fit's data and penalty. The parameter vector θ holds d coefficients (on standardized features)
 * then the intercept; the objective is Σᵢ logloss(yᵢ, σ(zᵢ·w + b)) + λ/2·‖w‖².
 */
export interface Problem {
  /** Row-major n×d features, as given (not standardized). */
  readonly X: Float64Array;
  readonly y: Float64Array | Uint8Array;
  readonly n: number;
  readonly d: number;
  readonly mean: Float64Array;
  /** 1 / scale per column. */
  readonly inv: Float64Array;
  /** λ; sklearn's C = 1/λ. */
  readonly l2: number;
}

/** Where a solver starts: the point, its objective, gradient and Hessian weights pᵢ(1 − pᵢ). */
export interface SolverStart {
  readonly theta: Float64Array;
  readonly f: number;
  readonly grad: Float64Array;
  readonly weights: Float64Array;
  /** Iterations already taken (non-zero when resuming from a checkpoint). */
  readonly iteration: number;
}

/** What a solver is told besides the problem. */
export interface SolverOptions {
  readonly maxIterations: number;
  readonly tolerance: number;
  /** Called once per iteration with the point the iteration starts from (the solver's own array: copy to keep). */
  readonly onIterate?: (iteration: number, f: number, gradNorm: number, theta: Float64Array) => void;
}

/** Where a solver stopped. */
export interface SolverResult {
  readonly theta: Float64Array;
  readonly f: number;
  readonly iterations: number;
  readonly converged: boolean;
}

/** Armijo sufficient-decrease constant and the most step halvings before giving up on a direction. */
export const ARMIJO = 1e-4;
export const MAX_HALVINGS = 40;

/**
 * Objective Σ logloss + λ/2‖w‖² at `theta`; writes its gradient into `grad` and pᵢ(1 − pᵢ) into
 * `weights` (`v` is scratch of length d). Four rows at a time: four independent dot products keep the
 * CPU busy where one row's dot product is a single dependency chain, and the gradient is loaded and
 * stored once per four rows.
 */
export function objective(p: Problem, theta: Float64Array, grad: Float64Array, weights: Float64Array, v: Float64Array): number {
  const { X, y, n, d, mean, inv, l2 } = p;
  const b = theta[d]!;
  for (let j = 0; j < d; j++) v[j] = theta[j]! * inv[j]!;
  grad.fill(0);
  let loss = 0;
  let gb = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const o0 = i * d, o1 = o0 + d, o2 = o1 + d, o3 = o2 + d;
    let z0 = b, z1 = b, z2 = b, z3 = b;
    for (let j = 0; j < d; j++) {
      const vj = v[j]!, mj = mean[j]!;
      z0 += vj * (X[o0 + j]! - mj);
      z1 += vj * (X[o1 + j]! - mj);
      z2 += vj * (X[o2 + j]! - mj);
      z3 += vj * (X[o3 + j]! - mj);
    }
    const r0 = residual(z0, y[i]!, weights, i);
    const r1 = residual(z1, y[i + 1]!, weights, i + 1);
    const r2 = residual(z2, y[i + 2]!, weights, i + 2);
    const r3 = residual(z3, y[i + 3]!, weights, i + 3);
    loss += rowLoss(z0, y[i]!) + rowLoss(z1, y[i + 1]!) + rowLoss(z2, y[i + 2]!) + rowLoss(z3, y[i + 3]!);
    gb += r0 + r1 + r2 + r3;
    for (let j = 0; j < d; j++) {
      const mj = mean[j]!;
      grad[j] += r0 * (X[o0 + j]! - mj) + r1 * (X[o1 + j]! - mj) + r2 * (X[o2 + j]! - mj) + r3 * (X[o3 + j]! - mj);
    }
  }
  for (; i < n; i++) {
    const o = i * d;
    let z = b;
    for (let j = 0; j < d; j++) z += v[j]! * (X[o + j]! - mean[j]!);
    const r = residual(z, y[i]!, weights, i);
    loss += rowLoss(z, y[i]!);
    gb += r;
    for (let j = 0; j < d; j++) grad[j] += r * (X[o + j]! - mean[j]!);
  }
  let ww = 0;
  for (let j = 0; j < d; j++) {
    grad[j] = grad[j]! * inv[j]! + l2 * theta[j]!;
    ww += theta[j]! * theta[j]!;
  }
  grad[d] = gb;
  return loss + 0.5 * l2 * ww;
}

/** p − y for one row, storing p(1 − p) for the Hessian. */
function residual(z: number, y: number, weights: Float64Array, i: number): number {
  const p = 1 / (1 + Math.exp(-z));
  weights[i] = p * (1 - p);
  return p - y;
}

/** log(1 + e^{−|z|}) + max(0, ∓z): the log loss without overflow for any z. */
function rowLoss(z: number, y: number): number {
  const margin = y === 1 ? -z : z;
  return Math.log1p(Math.exp(-Math.abs(z))) + (margin > 0 ? margin : 0);
}

/**
 * out = Z·w for the first d entries of `w` (n values; no intercept). `v` is scratch of length d. Each
 * entry is centred before the product: X·v − mean·v would cancel away digits on a column whose offset
 * dwarfs its spread.
 */
export function multiplyZ(p: Problem, w: Float64Array, out: Float64Array, v: Float64Array): void {
  const { X, n, d, mean, inv } = p;
  for (let j = 0; j < d; j++) v[j] = w[j]! * inv[j]!;
  for (let i = 0; i < n; i++) {
    const o = i * d;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    let j = 0;
    for (; j + 3 < d; j += 4) {
      s0 += (X[o + j]! - mean[j]!) * v[j]!;
      s1 += (X[o + j + 1]! - mean[j + 1]!) * v[j + 1]!;
      s2 += (X[o + j + 2]! - mean[j + 2]!) * v[j + 2]!;
      s3 += (X[o + j + 3]! - mean[j + 3]!) * v[j + 3]!;
    }
    for (; j < d; j++) s0 += (X[o + j]! - mean[j]!) * v[j]!;
    out[i] = s0 + s1 + s2 + s3;
  }
}

/** out = Zᵀ·u (d values). */
export function multiplyZt(p: Problem, u: Float64Array, out: Float64Array): void {
  const { X, n, d, mean, inv } = p;
  out.fill(0);
  for (let i = 0; i < n; i++) {
    const ui = u[i]!;
    if (ui === 0) continue;
    const o = i * d;
    for (let j = 0; j < d; j++) out[j] += ui * (X[o + j]! - mean[j]!);
  }
  for (let j = 0; j < d; j++) out[j] *= inv[j]!;
}
