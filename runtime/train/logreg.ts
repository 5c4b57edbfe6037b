import { MlopsError } from "../../src/errors.js";
import { buildOnnxModel, ONNX_ELEM_TYPE } from "../../src/onnx/build.js";
import { choleskySolve, maxAbs } from "./linalg.js";
import { scanTable } from "./standardize.js";

/** Options of {@link fitLogisticRegression}. */
export interface LogRegOptions {
  /** L2 penalty λ on the standardized coefficients (λ/2·‖w‖²; the intercept is not penalized). sklearn: C = 1/λ. */
  readonly l2: number;
  /** Newton iterations at most. */
  readonly maxIterations: number;
  /** Converged when the largest entry of the gradient of the mean objective (objective / n) is at most this. */
  readonly tolerance: number;
  /**
   * Rows the Hessian is estimated from on big tables (every k-th row; at least 100·(d+1)², all rows
   * below twice that). The gradient always uses every row, so this changes the speed, not the optimum.
   * @default {@link HESSIAN_SAMPLE_ROWS}
   */
  readonly hessianSampleRows?: number;
  /** Called once per iteration, at the point the iteration starts from. */
  readonly onProgress?: (p: LogRegProgress) => void;
}

/** One solver iteration: `loss` is the objective / n, `gradNorm` the max-norm of its gradient. */
export interface LogRegProgress {
  readonly iteration: number;
  readonly loss: number;
  readonly gradNorm: number;
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
  /** Newton iterations taken. */
  readonly iterations: number;
  /** Whether the gradient criterion of {@link LogRegOptions.tolerance} was met. */
  readonly converged: boolean;
  /** Final objective / n: mean log loss plus λ/(2n)·‖w‖². */
  readonly loss: number;
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
function hessianStride(n: number, D: number, sampleRows: number): number {
  const want = Math.max(sampleRows, 100 * D * D);
  return n < 2 * want ? 1 : Math.floor(n / want);
}

/** Armijo sufficient-decrease constant and the most step halvings before giving up on a direction. */
const ARMIJO = 1e-4;
const MAX_HALVINGS = 40;

/**
 * Fits L2-regularized logistic regression by Newton's method (Cholesky solve of the (d+1)² Hessian,
 * backtracking line search), minimizing Σᵢ logloss(yᵢ, pᵢ) + λ/2·‖w‖² on standardized features: the
 * same optimum as scikit-learn's `StandardScaler` + `LogisticRegression(C=1/λ)`.
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

  const D = d + 1; // parameters: d coefficients then the intercept
  const weights = new Float64Array(n); // pᵢ(1 − pᵢ) at the current point, reused by the Hessian pass
  const grad = new Float64Array(D);
  const xs = new Float64Array(d);
  const hessian = new Float64Array(D * D);
  const block = { x: new Float64Array(d * BLOCK_ROWS), wx: new Float64Array(d * BLOCK_ROWS) };
  const stride = hessianStride(n, D, opts.hessianSampleRows ?? HESSIAN_SAMPLE_ROWS);

  // Start at zero coefficients and the class-prior intercept, where p is the same for every row: the
  // loss, gradient and weights follow from the scan's sums without another pass over X.
  let theta = new Float64Array(D);
  const p0 = positives / n;
  theta[d] = Math.log(positives / (n - positives));
  let f = -(positives * Math.log(p0) + (n - positives) * Math.log1p(-p0));
  for (let j = 0; j < d; j++) grad[j] = -positiveCentered[j]! * inv[j]!;
  grad[d] = 0;
  weights.fill(p0 * (1 - p0));
  let iterations = 0;
  let converged = false;
  for (;;) {
    const gradNorm = maxAbs(grad) / n;
    opts.onProgress?.({ iteration: iterations, loss: f / n, gradNorm });
    if (gradNorm <= opts.tolerance) {
      converged = true;
      break;
    }
    if (iterations >= opts.maxIterations) break;
    iterations++;

    accumulateHessian(X, n, d, mean, inv, weights, hessian, block, stride);
    for (let j = 0; j < d; j++) hessian[j * D + j] += opts.l2;
    const step = newtonStep(hessian, grad, D);
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
      const fTrial = objective(X, y, n, d, mean, inv, trial, opts.l2, grad, weights, xs);
      if (fTrial <= f + ARMIJO * t * slope + slack) {
        theta = trial;
        f = fTrial;
        accepted = true;
        break;
      }
    }
    if (!accepted) {
      // No decrease along a descent direction: at the limits of float64. Report where we are.
      f = objective(X, y, n, d, mean, inv, theta, opts.l2, grad, weights, xs);
      converged = maxAbs(grad) / n <= opts.tolerance;
      break;
    }
  }
  return { mean, scale, coef: theta.slice(0, d), intercept: theta[d]!, iterations, converged, loss: f / n };
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

/**
 * Objective Σ logloss + λ/2‖w‖² at `theta`; writes its gradient into `grad` and pᵢ(1 − pᵢ) into
 * `weights`. Four rows at a time: four independent dot products keep the CPU busy where one row's
 * dot product is a single dependency chain, and the gradient is loaded and stored once per four rows.
 */
function objective(
  X: Float64Array, y: Float64Array | Uint8Array, n: number, d: number,
  mean: Float64Array, inv: Float64Array, theta: Float64Array, l2: number,
  grad: Float64Array, weights: Float64Array, v: Float64Array,
): number {
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
 * Hessian of the log-loss sum, Xᵀ W X with the intercept column, upper triangle only (row-major D×D).
 * Rows go through a column-major block so each entry is a dot product over contiguous memory with the
 * running sum in a register, four columns at a time.
 */
function accumulateHessian(
  X: Float64Array, n: number, d: number, mean: Float64Array, inv: Float64Array,
  weights: Float64Array, H: Float64Array, block: { x: Float64Array; wx: Float64Array }, stride: number,
): void {
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
}
