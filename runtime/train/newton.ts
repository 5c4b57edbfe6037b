/**
 * Newton's method for the logistic-regression objective, with a backtracking line search, and the
 * narrow-data way to take its step: the (d+1)² Hessian, accumulated and solved by Cholesky. The wide-data
 * way to take the same step lives in woodbury.ts.
 */
import { choleskySolve, maxAbs } from "./linalg.js";
import { ARMIJO, MAX_HALVINGS, objective, type Problem, type SolverOptions, type SolverResult, type SolverStart } from "./objective.js";

/** The Newton step −H⁻¹g at the current point, from its gradient and weights pᵢ(1 − pᵢ). */
export type NewtonDirection = (grad: Float64Array, weights: Float64Array) => Float64Array;

/**
 * Iterates θ ← θ + t·step until the largest gradient entry of the mean objective is at most
 * `tolerance`, `maxIterations` is reached, or no step length decreases the objective (the limits of
 * float64: the point is reported as it is).
 */
export function newton(p: Problem, start: SolverStart, opts: SolverOptions, direction: NewtonDirection): SolverResult {
  const { n, d } = p;
  const D = d + 1;
  const grad = start.grad;
  const weights = start.weights;
  const xs = new Float64Array(d);
  let theta = start.theta;
  let f = start.f;
  let iterations = start.iteration;
  let converged = false;
  for (;;) {
    const gradNorm = maxAbs(grad) / n;
    opts.onIterate?.(iterations, f / n, gradNorm, theta);
    if (gradNorm <= opts.tolerance) {
      converged = true;
      break;
    }
    if (iterations >= opts.maxIterations) break;
    iterations++;

    const step = direction(grad, weights);
    let slope = 0;
    for (let j = 0; j < D; j++) slope += grad[j]! * step[j]!;

    // Backtracking: the full Newton step is almost always taken; rounding slack keeps a converging run
    // from rejecting a good step whose decrease is below the objective's summation error.
    const slack = 1e-12 * Math.abs(f);
    const trial = new Float64Array(D);
    let t = 1;
    let accepted = false;
    for (let h = 0; h <= MAX_HALVINGS; h++, t /= 2) {
      for (let j = 0; j < D; j++) trial[j] = theta[j]! + t * step[j]!;
      const fTrial = objective(p, trial, grad, weights, xs);
      if (fTrial <= f + ARMIJO * t * slope + slack) {
        theta = trial;
        f = fTrial;
        accepted = true;
        break;
      }
    }
    if (!accepted) {
      // No decrease along a descent direction: at the limits of float64. Report where we are.
      f = objective(p, theta, grad, weights, xs);
      converged = maxAbs(grad) / n <= opts.tolerance;
      break;
    }
  }
  return { theta, f, iterations, converged };
}

/** Rows per block of the Hessian accumulation: the column-major block stays in L1/L2 cache. */
const BLOCK_ROWS = 256;

/**
 * Rows the Hessian is estimated from, at least. The gradient always uses every row, so the optimum is
 * exact; a Hessian from a systematic sample only slows the final convergence from quadratic to linear
 * with a rate near its relative error (≈ √(D/rows)), which costs an iteration or two of cheap gradient
 * passes and saves most of the (D²/2 per row) Hessian work on big tables.
 */
export const HESSIAN_SAMPLE_ROWS = 65_536;

/** Every k-th row for the Hessian: 1 (all rows) until n exceeds twice the sample, scaled by D² beyond. */
export function hessianStride(n: number, D: number, sampleRows: number): number {
  const want = Math.max(sampleRows, 100 * D * D);
  return n < 2 * want ? 1 : Math.floor(n / want);
}

/** The narrow-data Newton step: accumulate the (d+1)² Hessian (from every `stride`-th row) and solve it. */
export function hessianDirection(p: Problem, stride: number): NewtonDirection {
  const D = p.d + 1;
  const hessian = new Float64Array(D * D);
  const block = { x: new Float64Array(p.d * BLOCK_ROWS), wx: new Float64Array(p.d * BLOCK_ROWS) };
  return (grad, weights) => {
    accumulateHessian(p, weights, hessian, block, stride);
    for (let j = 0; j < p.d; j++) hessian[j * D + j] += p.l2;
    return newtonStep(hessian, grad, D);
  };
}

/**
 * Hessian of the log-loss sum, Xᵀ W X with the intercept column, upper triangle only (row-major D×D).
 * Rows go through a column-major block so each entry is a dot product over contiguous memory with the
 * running sum in a register, four columns at a time.
 */
function accumulateHessian(
  p: Problem, weights: Float64Array, H: Float64Array, block: { x: Float64Array; wx: Float64Array }, stride: number,
): void {
  const { X, n, d, mean, inv } = p;
  const D = d + 1;
  const B = BLOCK_ROWS;
  const xb = block.x;
  const wxb = block.wx;
  const rows = Math.ceil(n / stride);
  H.fill(0);
  let sw = 0;
  for (let start = 0; start < rows; start += B) {
    const m = Math.min(B, rows - start);
    for (let t = 0; t < m; t++) {
      const i = (start + t) * stride;
      const o = i * d;
      const w = weights[i]!;
      sw += w;
      for (let j = 0; j < d; j++) {
        const v = (X[o + j]! - mean[j]!) * inv[j]!;
        xb[j * B + t] = v;
        wxb[j * B + t] = w * v;
      }
    }
    for (let j = 0; j < d; j++) {
      const oj = j * B;
      let s = 0;
      for (let t = 0; t < m; t++) s += wxb[oj + t]!;
      H[j * D + d] += s;
      let k = j;
      for (; k + 3 < d; k += 4) {
        const o0 = k * B, o1 = o0 + B, o2 = o1 + B, o3 = o2 + B;
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (let t = 0; t < m; t++) {
          const w = wxb[oj + t]!;
          a0 += w * xb[o0 + t]!;
          a1 += w * xb[o1 + t]!;
          a2 += w * xb[o2 + t]!;
          a3 += w * xb[o3 + t]!;
        }
        H[j * D + k] += a0;
        H[j * D + k + 1] += a1;
        H[j * D + k + 2] += a2;
        H[j * D + k + 3] += a3;
      }
      for (; k < d; k++) {
        const ok = k * B;
        let a = 0;
        for (let t = 0; t < m; t++) a += wxb[oj + t]! * xb[ok + t]!;
        H[j * D + k] += a;
      }
    }
  }
  H[d * D + d] = sw;
  if (stride > 1) {
    const factor = n / rows;
    for (let k = 0; k < H.length; k++) H[k] *= factor;
  }
}

/** −H⁻¹g; with λ = 0 on (nearly) separable data H can be singular, so retry with a growing ridge. */
function newtonStep(H: Float64Array, grad: Float64Array, D: number): Float64Array {
  const neg = new Float64Array(D);
  for (let j = 0; j < D; j++) neg[j] = -grad[j]!;
  let trace = 0;
  for (let j = 0; j < D; j++) trace += H[j * D + j]!;
  let ridge = 0;
  for (let attempt = 0; attempt < 12; attempt++) {
    const A = ridge === 0 ? H : H.slice();
    if (ridge > 0) for (let j = 0; j < D; j++) A[j * D + j] += ridge;
    const step = choleskySolve(A, neg, D);
    if (step) return step;
    ridge = ridge === 0 ? 1e-10 * (trace / D || 1) : ridge * 10;
  }
  throw new Error("logistic regression: Newton system stayed singular after ridge retries");
}
