/**
 * L-BFGS for the logistic-regression objective: for data both wide and tall, where neither the (d+1)²
 * Hessian nor the n×n Gram matrix fits the time or memory a fit should take. Each iteration is one
 * pass over X (objective and gradient together) and O(m·d) vector work, with m = {@link LBFGS_MEMORY}
 * correction pairs. The objective is strictly convex for λ > 0, so every accepted step has positive
 * curvature and a backtracking (Armijo) line search is enough.
 */
import { dot, maxAbs } from "./linalg.js";
import { ARMIJO, MAX_HALVINGS, objective, type Problem, type SolverOptions, type SolverResult, type SolverStart } from "./objective.js";

/** Correction pairs kept (scikit-learn's lbfgs keeps 10 as well). */
export const LBFGS_MEMORY = 10;

/** Minimizes from `start` until the gradient test of `opts.tolerance`, `maxIterations`, or no decrease. */
export function lbfgs(p: Problem, start: SolverStart, opts: SolverOptions): SolverResult {
  const { n, d, l2 } = p;
  const D = d + 1;
  const grad = start.grad;
  const weights = start.weights;
  const xs = new Float64Array(d);
  const previous = new Float64Array(D);
  const dir = new Float64Array(D);
  const alpha = new Float64Array(LBFGS_MEMORY);
  const pairs: Array<{ s: Float64Array; y: Float64Array; rho: number }> = [];
  // First scaling: the curvature along one standardized column at the start (Σ pᵢ(1 − pᵢ) + λ).
  let sw = 0;
  for (let i = 0; i < n; i++) sw += weights[i]!;
  const gamma0 = 1 / (sw + l2);
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

    twoLoop(grad, pairs, gamma0, alpha, dir);
    let slope = dot(grad, dir);
    if (!(slope < 0)) {
      // Rounding can spoil the approximation on a flat objective: restart from the scaled gradient.
      pairs.length = 0;
      for (let j = 0; j < D; j++) dir[j] = -gamma0 * grad[j]!;
      slope = dot(grad, dir);
    }
    previous.set(grad);
    const slack = 1e-12 * Math.abs(f);
    const trial = new Float64Array(D);
    let t = 1;
    let accepted = false;
    for (let h = 0; h <= MAX_HALVINGS; h++, t /= 2) {
      for (let j = 0; j < D; j++) trial[j] = theta[j]! + t * dir[j]!;
      const fTrial = objective(p, trial, grad, weights, xs);
      if (fTrial <= f + ARMIJO * t * slope + slack) {
        const s = new Float64Array(D);
        const y = new Float64Array(D);
        for (let j = 0; j < D; j++) {
          s[j] = t * dir[j]!;
          y[j] = grad[j]! - previous[j]!;
        }
        const sy = dot(s, y);
        if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
          if (pairs.length === LBFGS_MEMORY) pairs.shift();
          pairs.push({ s, y, rho: 1 / sy });
        }
        theta = trial;
        f = fTrial;
        accepted = true;
        break;
      }
    }
    if (!accepted) {
      f = objective(p, theta, grad, weights, xs);
      if (pairs.length > 0) {
        // A stale approximation can point nowhere useful: forget it and try the gradient once more.
        pairs.length = 0;
        continue;
      }
      converged = maxAbs(grad) / n <= opts.tolerance;
      break;
    }
  }
  return { theta, f, iterations, converged };
}

/** dir = −H̃·g by the two-loop recursion over the stored pairs (H̃₀ = γI, γ from the newest pair). */
function twoLoop(
  grad: Float64Array, pairs: ReadonlyArray<{ s: Float64Array; y: Float64Array; rho: number }>,
  gamma0: number, alpha: Float64Array, dir: Float64Array,
): void {
  const D = grad.length;
  for (let j = 0; j < D; j++) dir[j] = -grad[j]!;
  for (let k = pairs.length - 1; k >= 0; k--) {
    const { s, y, rho } = pairs[k]!;
    const a = rho * dot(s, dir);
    alpha[k] = a;
    for (let j = 0; j < D; j++) dir[j] -= a * y[j]!;
  }
  const newest = pairs[pairs.length - 1];
  const gamma = newest ? 1 / (newest.rho * dot(newest.y, newest.y)) : gamma0;
  for (let j = 0; j < D; j++) dir[j] *= gamma;
  for (let k = 0; k < pairs.length; k++) {
    const { s, y, rho } = pairs[k]!;
    const b = rho * dot(y, dir);
    const c = alpha[k]! - b;
    for (let j = 0; j < D; j++) dir[j] += c * s[j]!;
  }
}
