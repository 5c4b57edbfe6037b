/**
 * Which solver fits a table of a given shape. All three minimize the same objective to the same gradient
 * tolerance; they differ in what one iteration costs and how many they take:
 *
 * | solver | per fit | per iteration | iterations | memory |
 * | --- | --- | --- | --- | --- |
 * | `newton` ((d+1)² Hessian) | | 2·n·d + r·D²/2 + D³/6 | few (≈ 10) | D² |
 * | `newton-woodbury` (n×n Gram) | n²·d/2 | 4·n·d + n³/6 + 2n² | few | 2n² |
 * | `lbfgs` | | 2·n·d | many (hundreds) | 20·D |
 *
 * (D = d + 1 parameters, r rows in the Hessian sample.) Narrow tables go to Newton, wide and short ones
 * (d > n, few thousand rows) to Newton through the Gram matrix, and tables wide and tall at once to
 * L-BFGS. The choice depends on the shape and λ only, so a re-run on the same table takes the same path.
 */
import { HESSIAN_SAMPLE_ROWS, hessianStride } from "./newton.js";

/** The solvers of {@link chooseSolver}. */
export type SolverName = "newton" | "newton-woodbury" | "lbfgs";

/** Newton iterations assumed by the cost model (logistic regression typically takes 5–15). */
const NEWTON_ITERATIONS = 10;
/** L-BFGS iterations assumed: on purpose high, so that a close call goes to a Newton method. */
const LBFGS_ITERATIONS = 1000;
/** Largest (d+1) for the Hessian: D² doubles, twice (the matrix and its factor), 256 MiB at 4,096. */
export const NEWTON_MAX_PARAMETERS = 4096;
/** Most rows for the Gram route: n² doubles, twice (K and M), 256 MiB at 4,096. */
export const WOODBURY_MAX_ROWS = 4096;

/** Estimated multiply-adds of each solver that fits in memory, cheapest first. */
export function solverCosts(n: number, d: number, l2: number, hessianSampleRows = HESSIAN_SAMPLE_ROWS): Array<{ solver: SolverName; cost: number }> {
  const D = d + 1;
  const pass = n * d;
  const out: Array<{ solver: SolverName; cost: number }> = [];
  if (D <= NEWTON_MAX_PARAMETERS) {
    const rows = Math.ceil(n / hessianStride(n, D, hessianSampleRows));
    out.push({ solver: "newton", cost: NEWTON_ITERATIONS * (2 * pass + (rows * D * D) / 2 + (D * D * D) / 6) });
  }
  // The Gram route divides by λ, and pays off only where the rows are fewer than the columns.
  if (l2 > 0 && n <= WOODBURY_MAX_ROWS && n < d) {
    out.push({ solver: "newton-woodbury", cost: (n * n * d) / 2 + NEWTON_ITERATIONS * (4 * pass + (n * n * n) / 6 + 2 * n * n) });
  }
  out.push({ solver: "lbfgs", cost: LBFGS_ITERATIONS * 2 * pass });
  return out.sort((a, b) => a.cost - b.cost);
}

/** The cheapest solver for an n×d table at penalty λ by {@link solverCosts}. */
export function chooseSolver(n: number, d: number, l2: number, hessianSampleRows?: number): SolverName {
  return solverCosts(n, d, l2, hessianSampleRows)[0]!.solver;
}
