import { MlopsError } from "../../src/errors.js";
import { buildOnnxModel, ONNX_ELEM_TYPE } from "../../src/onnx/build.js";
import { lbfgs } from "./lbfgs.js";
import { hessianDirection, hessianStride, HESSIAN_SAMPLE_ROWS, newton } from "./newton.js";
import { objective, type Problem, type SolverOptions, type SolverResult, type SolverStart } from "./objective.js";
import { chooseSolver, type SolverName } from "./solver.js";
import { scanTable } from "./standardize.js";
import { woodburyDirection } from "./woodbury.js";

export { HESSIAN_SAMPLE_ROWS } from "./newton.js";
export type { SolverName } from "./solver.js";

/** Options of {@link fitLogisticRegression}. */
export interface LogRegOptions {
  /** L2 penalty λ on the standardized coefficients (λ/2·‖w‖²; the intercept is not penalized). sklearn: C = 1/λ. */
  readonly l2: number;
  /** Solver iterations at most (Newton steps, or L-BFGS steps on tables both wide and tall). */
  readonly maxIterations: number;
  /** Converged when the largest entry of the gradient of the mean objective (objective / n) is at most this. */
  readonly tolerance: number;
  /**
   * Rows the Newton Hessian is estimated from on big tables (every k-th row; at least 100·(d+1)², all
   * rows below twice that). The gradient always uses every row, so this changes the speed, not the optimum.
   * @default {@link HESSIAN_SAMPLE_ROWS}
   */
  readonly hessianSampleRows?: number;
  /**
   * The solver; all reach the same optimum. `auto` picks by the table's shape (see solver.ts): Newton
   * on the (d+1)² Hessian for narrow tables, Newton through the n×n Gram matrix when d > n, L-BFGS when
   * the table is both wide and tall.
   * @default "auto"
   */
  readonly solver?: SolverName | "auto";
  /**
   * Start from this point (d standardized coefficients then the intercept, as {@link LogRegProgress.theta}
   * reports it) with `iteration` iterations already counted against `maxIterations`: a resumed fit.
   * @default - zero coefficients and the class-prior intercept
   */
  readonly start?: { readonly theta: ArrayLike<number>; readonly iteration: number };
  /** Called once per iteration, at the point the iteration starts from. */
  readonly onProgress?: (p: LogRegProgress) => void;
}

/** One solver iteration: `loss` is the objective / n, `gradNorm` the max-norm of its gradient. */
export interface LogRegProgress {
  readonly iteration: number;
  readonly loss: number;
  readonly gradNorm: number;
  /** The point the iteration starts from: d standardized coefficients then the intercept (a copy). */
  readonly theta: Float64Array;
}

/**
 * A fitted model: probability = sigmoid(intercept + Σ coef[j]·(x[j] − mean[j]) / scale[j]).
 */
export interface LogRegModel {
  readonly mean: Float64Array;
  /** Population standard deviation per column; 1 for a constant column. */
  readonly scale: Float64Array;
  /** Coefficients on the standardized features. */
  readonly coef: Float64Array;
  readonly intercept: number;
  /** Solver iterations taken (counting those before a resume). */
  readonly iterations: number;
  /** Whether the gradient criterion of {@link LogRegOptions.tolerance} was met. */
  readonly converged: boolean;
  /** Final objective / n: mean log loss plus λ/(2n)·‖w‖². */
  readonly loss: number;
  /** The solver that ran. */
  readonly solver: SolverName;
}

/**
 * Fits L2-regularized logistic regression, minimizing Σᵢ logloss(yᵢ, pᵢ) + λ/2·‖w‖² on standardized
 * features: the same optimum as scikit-learn's `StandardScaler` + `LogisticRegression(C=1/λ)`. The
 * solver is chosen by the table's shape (see {@link LogRegOptions.solver}).
 *
 * @param X row-major n×d features
 * @param y labels, each 0 or 1
 * @throws MlopsError on n < 2, non-finite features, labels other than 0/1, a single class, bad options
 */
export function fitLogisticRegression(
  X: Float64Array,
  y: Float64Array | Uint8Array,
  n: number,
  d: number,
  opts: LogRegOptions,
): LogRegModel {
  validate(X, y, n, d, opts);
  const { mean, scale, positives, positiveCentered } = scanTable(X, y, n, d);
  const inv = new Float64Array(d);
  for (let j = 0; j < d; j++) inv[j] = 1 / scale[j]!;
  const problem: Problem = { X, y, n, d, mean, inv, l2: opts.l2 };
  const sampleRows = opts.hessianSampleRows ?? HESSIAN_SAMPLE_ROWS;
  const solver = !opts.solver || opts.solver === "auto" ? chooseSolver(n, d, opts.l2, sampleRows) : opts.solver;
  if (solver === "newton-woodbury" && !(opts.l2 > 0)) {
    throw MlopsError.of("solver", "newton-woodbury needs l2 > 0", opts.l2, 'Set l2 > 0, or use solver "lbfgs" or "newton".');
  }

  const start = opts.start ? resumeAt(problem, opts.start) : priorStart(problem, positives, positiveCentered);
  const solverOpts: SolverOptions = {
    maxIterations: opts.maxIterations,
    tolerance: opts.tolerance,
    onIterate: opts.onProgress && ((iteration, loss, gradNorm, theta) => opts.onProgress!({ iteration, loss, gradNorm, theta: theta.slice() })),
  };
  let result: SolverResult;
  if (solver === "lbfgs") result = lbfgs(problem, start, solverOpts);
  else if (solver === "newton-woodbury") result = newton(problem, start, solverOpts, woodburyDirection(problem));
  else result = newton(problem, start, solverOpts, hessianDirection(problem, hessianStride(n, d + 1, sampleRows)));
  const { theta, f, iterations, converged } = result;
  return { mean, scale, coef: theta.slice(0, d), intercept: theta[d]!, iterations, converged, loss: f / n, solver };
}

/**
 * Zero coefficients and the class-prior intercept, where p is the same for every row: the loss,
 * gradient and weights follow from the scan's sums without another pass over X.
 */
function priorStart(p: Problem, positives: number, positiveCentered: Float64Array): SolverStart {
  const { n, d, inv } = p;
  const theta = new Float64Array(d + 1);
  const grad = new Float64Array(d + 1);
  const p0 = positives / n;
  theta[d] = Math.log(positives / (n - positives));
  const f = -(positives * Math.log(p0) + (n - positives) * Math.log1p(-p0));
  for (let j = 0; j < d; j++) grad[j] = -positiveCentered[j]! * inv[j]!;
  grad[d] = 0;
  return { theta, f, grad, weights: new Float64Array(n).fill(p0 * (1 - p0)), iteration: 0 };
}

/** A given point (a checkpoint's), evaluated by one pass over X. */
function resumeAt(p: Problem, start: NonNullable<LogRegOptions["start"]>): SolverStart {
  const theta = Float64Array.from(start.theta);
  const grad = new Float64Array(p.d + 1);
  const weights = new Float64Array(p.n);
  const f = objective(p, theta, grad, weights, new Float64Array(p.d));
  return { theta, f, grad, weights, iteration: start.iteration };
}

/** P(y = 1) for each row of the row-major n×d `X`. */
export function predictProba(model: LogRegModel, X: Float64Array, n: number, d: number): Float64Array {
  if (d !== model.coef.length) {
    throw MlopsError.of("features", "the model was trained on a different number of features", d, `Pass ${model.coef.length} columns per row.`);
  }
  if (X.length !== n * d) throw MlopsError.of("X", `must hold n×d = ${n * d} values`, X.length, "Pass a row-major n×d array.");
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let z = model.intercept;
    const o = i * d;
    for (let j = 0; j < d; j++) z += (model.coef[j]! * (X[o + j]! - model.mean[j]!)) / model.scale[j]!;
    out[i] = 1 / (1 + Math.exp(-z));
  }
  return out;
}

/** Options of {@link logRegToOnnx}. */
export interface LogRegOnnxOptions {
  /** @default "input" */
  readonly inputName?: string;
  /** Column names, in order; stored in the model's metadata (`mlops.features`). @default - not stored */
  readonly featureNames?: readonly string[];
}

/**
 * Exports the model as ONNX with the standardization inside the graph:
 * `input` FLOAT [batch, d] → Sub(mean) → Div(scale) → MatMul(coef) → Add(intercept) → Sigmoid →
 * `probability` FLOAT [batch, 1]. The arithmetic runs in double between two Casts: a float32 mean of
 * 900.01 is off by 3e-5, which a scale of 0.1 turns into a visible probability error; in double the only
 * rounding left is the caller's float32 input and output.
 */
export function logRegToOnnx(model: LogRegModel, opts: LogRegOnnxOptions = {}): Buffer {
  const d = model.coef.length;
  const input = opts.inputName ?? "input";
  if (opts.featureNames && opts.featureNames.length !== d) {
    throw MlopsError.of("featureNames", `must name each of the model's ${d} features`, opts.featureNames, `Give ${d} names, in column order.`);
  }
  const metadata: Record<string, string> = { "mlops.trainer": "logistic-regression", "mlops.output": "probability" };
  if (opts.featureNames) metadata["mlops.features"] = JSON.stringify(opts.featureNames);
  return buildOnnxModel({
    graphName: "logistic_regression",
    docString: "L2-regularized logistic regression; standardization is part of the graph.",
    metadata,
    inputs: [{ name: input, elemType: "float", shape: ["batch", d] }],
    outputs: [{ name: "probability", elemType: "float", shape: ["batch", 1] }],
    initializers: [
      { name: "mean", elemType: "double", dims: [d], data: model.mean },
      { name: "scale", elemType: "double", dims: [d], data: model.scale },
      { name: "coef", elemType: "double", dims: [d, 1], data: model.coef },
      { name: "intercept", elemType: "double", dims: [1], data: [model.intercept] },
    ],
    nodes: [
      { opType: "Cast", inputs: [input], outputs: ["input_double"], attributes: { to: ONNX_ELEM_TYPE.double } },
      { opType: "Sub", inputs: ["input_double", "mean"], outputs: ["centered"] },
      { opType: "Div", inputs: ["centered", "scale"], outputs: ["standardized"] },
      { opType: "MatMul", inputs: ["standardized", "coef"], outputs: ["linear"] },
      { opType: "Add", inputs: ["linear", "intercept"], outputs: ["logit"] },
      { opType: "Sigmoid", inputs: ["logit"], outputs: ["probability_double"] },
      { opType: "Cast", inputs: ["probability_double"], outputs: ["probability"], attributes: { to: ONNX_ELEM_TYPE.float } },
    ],
  });
}

function validate(X: Float64Array, y: Float64Array | Uint8Array, n: number, d: number, opts: LogRegOptions): void {
  if (!Number.isInteger(n) || n < 2) throw MlopsError.of("rows", "logistic regression needs at least 2 rows", n, "Train on a larger dataset.");
  if (!Number.isInteger(d) || d < 1) throw MlopsError.of("features", "logistic regression needs at least 1 feature column", d, "Select at least one feature column.");
  if (X.length !== n * d) throw MlopsError.of("X", `must hold n×d = ${n}×${d} = ${n * d} values`, X.length, "Pass a row-major n×d array.");
  if (y.length !== n) throw MlopsError.of("labels", `must hold one label per row (${n})`, y.length, "Pass one label per row.");
  if (!(opts.l2 >= 0) || !Number.isFinite(opts.l2)) throw MlopsError.of("l2", "must be a finite number ≥ 0", opts.l2, "Use e.g. 1.");
  if (!Number.isInteger(opts.maxIterations) || opts.maxIterations < 1) {
    throw MlopsError.of("maxIterations", "must be an integer ≥ 1", opts.maxIterations, "Use e.g. 200.");
  }
  if (opts.hessianSampleRows !== undefined && !(opts.hessianSampleRows >= 1)) {
    throw MlopsError.of("hessianSampleRows", "must be a number ≥ 1", opts.hessianSampleRows, "Leave it unset for the default.");
  }
  if (!(opts.tolerance > 0)) throw MlopsError.of("tolerance", "must be a number > 0", opts.tolerance, "Use e.g. 1e-8.");
  const solvers = ["auto", "newton", "newton-woodbury", "lbfgs"];
  if (opts.solver !== undefined && !solvers.includes(opts.solver)) {
    throw MlopsError.of("solver", `must be one of ${solvers.join(", ")}`, opts.solver, 'Leave it unset for "auto".');
  }
  if (opts.start) {
    const { theta, iteration } = opts.start;
    if (theta.length !== d + 1) throw MlopsError.of("start.theta", `must hold d + 1 = ${d + 1} values (coefficients then intercept)`, theta.length, "Resume from a checkpoint of the same table.");
    for (let j = 0; j < theta.length; j++) {
      if (!Number.isFinite(theta[j]!)) throw MlopsError.of(`start.theta[${j}]`, "must be a finite number", String(theta[j]), "Resume from a checkpoint of the same table.");
    }
    if (!Number.isInteger(iteration) || iteration < 0) throw MlopsError.of("start.iteration", "must be an integer ≥ 0", iteration, "Resume from a checkpoint of the same table.");
  }
}
