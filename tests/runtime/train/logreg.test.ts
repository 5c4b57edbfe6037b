import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-node";
import onnxProto from "onnx-proto";
import { beforeAll, describe, expect, it } from "vitest";
import { fitLogisticRegression, logRegToOnnx, predictProba, type LogRegModel } from "../../../runtime/train/logreg.js";
import { auc } from "../../../runtime/train/metrics.js";
import { gaussian, rng, sklearn } from "./sklearn-oracle.js";

/** A row-major table with 0/1 labels, split every 5th row into the holdout. */
interface Table { X: Float64Array; y: Float64Array; n: number; d: number }
interface Split { train: Table; holdout: Table }

interface Reference { coef: number[]; intercept: number; mean: number[]; scale: number[]; holdoutAuc: number; nIter: number }

const L2 = 1; // sklearn C = 1 / L2
const TOLERANCE = 1e-10;

/** Correlated features on mixed scales and offsets, labels drawn from a logistic model (not separable). */
function synthetic(n: number, d: number, seed: number): Table {
  const u = rng(seed);
  const z = gaussian(u);
  const X = new Float64Array(n * d);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const common = z();
    let logit = -0.4;
    for (let j = 0; j < d; j++) {
      const v = 0.7 * common + z();
      X[i * d + j] = v * 10 ** ((j % 4) - 1) + 100 * j;
      logit += ((j % 3) - 1) * 0.6 * v;
    }
    y[i] = u() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  return { X, y, n, d };
}

function csvTable(path: string, label: string): Table {
  const lines = readFileSync(path, "utf8").trim().split("\n");
  const header = lines[0]!.split(",");
  const li = header.indexOf(label);
  const n = lines.length - 1;
  const d = header.length - 1;
  const X = new Float64Array(n * d);
  const y = new Float64Array(n);
  lines.slice(1).forEach((line, i) => {
    const cells = line.split(",").map(Number);
    let k = 0;
    cells.forEach((v, j) => (j === li ? (y[i] = v) : (X[i * d + k++] = v)));
  });
  return { X, y, n, d };
}

function split(t: Table): Split {
  const pick = (keep: (i: number) => boolean): Table => {
    const rows = Array.from({ length: t.n }, (_, i) => i).filter(keep);
    const X = new Float64Array(rows.length * t.d);
    const y = new Float64Array(rows.length);
    rows.forEach((r, i) => {
      X.set(t.X.subarray(r * t.d, (r + 1) * t.d), i * t.d);
      y[i] = t.y[r]!;
    });
    return { X, y, n: rows.length, d: t.d };
  };
  return { train: pick((i) => i % 5 !== 0), holdout: pick((i) => i % 5 === 0) };
}

/** scikit-learn: StandardScaler then LogisticRegression(C=1/λ, newton-cholesky, tol=1e-10). */
function reference(s: Split): Promise<Reference> {
  return sklearn<Reference>(
    `
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler
Xt, yt, Xh, yh = load("Xt"), load("yt"), load("Xh"), load("yh")
sc = StandardScaler().fit(Xt)
m = LogisticRegression(C=${1 / L2}, solver="newton-cholesky", tol=1e-10, max_iter=10000).fit(sc.transform(Xt), yt)
print(json.dumps({"coef": m.coef_[0].tolist(), "intercept": float(m.intercept_[0]), "mean": sc.mean_.tolist(),
  "scale": sc.scale_.tolist(), "holdoutAuc": roc_auc_score(yh, m.predict_proba(sc.transform(Xh))[:, 1]), "nIter": int(m.n_iter_[0])}))`,
    {
      Xt: { data: s.train.X, shape: [s.train.n, s.train.d] },
      yt: { data: s.train.y, shape: [s.train.n] },
      Xh: { data: s.holdout.X, shape: [s.holdout.n, s.holdout.d] },
      yh: { data: s.holdout.y, shape: [s.holdout.n] },
    },
  );
}

function fit(t: Table): LogRegModel {
  return fitLogisticRegression(t.X, t.y, t.n, t.d, { l2: L2, maxIterations: 100, tolerance: TOLERANCE });
}

/**
 * The coefficient check, on standardized features: ‖ours − sklearn‖₂ ≤ 1e-3·‖sklearn‖₂, and for each j
 * |ours_j − sklearn_j| ≤ 1e-3·max(|sklearn_j|, 0.01·‖sklearn‖∞) (the floor keeps near-zero coefficients
 * from demanding absolute agreement to 1e-3 of almost nothing). Same for the intercept.
 */
function expectCoefficientsClose(model: LogRegModel, ref: Reference): void {
  const diff = Math.hypot(...ref.coef.map((c, j) => model.coef[j]! - c));
  expect(diff).toBeLessThanOrEqual(1e-3 * Math.hypot(...ref.coef));
  const floor = 0.01 * Math.max(...ref.coef.map(Math.abs));
  ref.coef.forEach((c, j) => expect(Math.abs(model.coef[j]! - c), `coef[${j}]`).toBeLessThanOrEqual(1e-3 * Math.max(Math.abs(c), floor)));
  expect(Math.abs(model.intercept - ref.intercept)).toBeLessThanOrEqual(1e-3 * Math.max(Math.abs(ref.intercept), floor));
}

async function onnxProbabilities(model: Buffer, t: Table): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model);
  try {
    const out = await session.run({ input: new ort.Tensor("float32", Float32Array.from(t.X), [t.n, t.d]) });
    expect(out.probability!.dims).toEqual([t.n, 1]);
    return out.probability!.data as Float32Array;
  } finally {
    await session.release();
  }
}

describe.each([
  { name: "synthetic 5,000 × 10", load: () => synthetic(5000, 10, 11) },
  { name: "breast cancer (examples/breast-cancer/data.csv)", load: () => csvTable("examples/breast-cancer/data.csv", "label") },
])("fitLogisticRegression vs scikit-learn on $name", ({ load }) => {
  let data: Split;
  let model: LogRegModel;
  let ref: Reference;
  beforeAll(async () => {
    data = split(load());
    model = fit(data.train);
    ref = await reference(data);
  });

  it("converges", () => {
    expect(model.converged).toBe(true);
  });

  it("standardizes with sklearn StandardScaler's mean and scale", () => {
    model.mean.forEach((m, j) => expect(m).toBeCloseTo(ref.mean[j]!, 9));
    model.scale.forEach((s, j) => expect(Math.abs(s - ref.scale[j]!) / ref.scale[j]!).toBeLessThan(1e-12));
  });

  it("finds sklearn's coefficients within 1e-3 relative", () => {
    expectCoefficientsClose(model, ref);
  });

  it("scores the holdout with sklearn's AUC within 0.002", () => {
    const ours = auc(data.holdout.y, predictProba(model, data.holdout.X, data.holdout.n, data.holdout.d));
    expect(Math.abs(ours - ref.holdoutAuc)).toBeLessThanOrEqual(0.002);
  });

  it("exports ONNX that gives the trainer's probabilities within 1e-5", async () => {
    // The model's input is FLOAT: score the same float32-rounded rows on both sides.
    const asFed = Float64Array.from(Float32Array.from(data.holdout.X));
    const expected = predictProba(model, asFed, data.holdout.n, data.holdout.d);
    const got = await onnxProbabilities(logRegToOnnx(model), data.holdout);
    let worst = 0;
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[i]!));
    expect(worst).toBeLessThanOrEqual(1e-5);
  });
});

describe("fitLogisticRegression", () => {
  const small = synthetic(400, 3, 5);

  it("reports each iteration with a decreasing loss", () => {
    const seen: { iteration: number; loss: number }[] = [];
    fitLogisticRegression(small.X, small.y, small.n, small.d, { l2: 1, maxIterations: 50, tolerance: 1e-9, onProgress: (p) => seen.push(p) });
    expect(seen.map((p) => p.iteration)).toEqual(seen.map((_, i) => i));
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.loss).toBeLessThanOrEqual(seen[i - 1]!.loss);
  });

  it("stops unconverged at maxIterations", () => {
    const m = fitLogisticRegression(small.X, small.y, small.n, small.d, { l2: 1, maxIterations: 1, tolerance: 1e-12 });
    expect([m.iterations, m.converged]).toEqual([1, false]);
  });

  it("gives a constant column scale 1 and a zero coefficient", () => {
    const X = new Float64Array(small.n * 2);
    for (let i = 0; i < small.n; i++) X.set([small.X[i * 3]!, 7.3], i * 2);
    const m = fitLogisticRegression(X, small.y, small.n, 2, { l2: 1, maxIterations: 50, tolerance: 1e-9 });
    expect(m.scale[1]).toBe(1);
    expect(Math.abs(m.coef[1]!)).toBeLessThan(1e-9);
  });

  it("reaches the same optimum with the Hessian estimated from a sample of rows", () => {
    const big = synthetic(20_000, 5, 9);
    const opts = { l2: 1, maxIterations: 100, tolerance: 1e-10 };
    const exact = fitLogisticRegression(big.X, big.y, big.n, big.d, { ...opts, hessianSampleRows: 1e9 });
    // 100·(d+1)² = 3,600 rows: every 5th row feeds the Hessian.
    const sampled = fitLogisticRegression(big.X, big.y, big.n, big.d, { ...opts, hessianSampleRows: 1000 });
    expect(sampled.converged).toBe(true);
    const gap = Math.hypot(...exact.coef.map((c, j) => sampled.coef[j]! - c)) / Math.hypot(...exact.coef);
    expect(gap).toBeLessThan(1e-7);
    // A mis-scaled sample Hessian still converges, through line-search halvings: bound the cost.
    expect(sampled.iterations).toBeLessThanOrEqual(exact.iterations + 3);
  });

  it("accepts Uint8Array labels", () => {
    const m = fitLogisticRegression(small.X, Uint8Array.from(small.y), small.n, small.d, { l2: 1, maxIterations: 50, tolerance: 1e-9 });
    expect(Array.from(m.coef)).toEqual(Array.from(fit(small).coef));
  });

  it("fails when a feature is NaN, naming the row and column", () => {
    const X = small.X.slice();
    X[5 * 3 + 2] = Number.NaN;
    expect(() => fit({ ...small, X })).toThrow(/features\[row 5, column 2\]: must be a finite number; received NaN/);
  });

  it("fails when a label is not 0 or 1", () => {
    const y = small.y.slice();
    y[9] = 2;
    expect(() => fit({ ...small, y })).toThrow(/labels\[row 9\]: must be 0 or 1/);
  });

  it("fails when there is a single row", () => {
    expect(() => fit({ X: small.X.slice(0, 3), y: small.y.slice(0, 1), n: 1, d: 3 })).toThrow(/at least 2 rows; received 1/);
  });

  it("fails when the labels hold a single class", () => {
    expect(() => fit({ ...small, y: new Float64Array(small.n).fill(1) })).toThrow(/single class/);
  });
});

describe("logRegToOnnx", () => {
  const t = synthetic(200, 4, 3);
  const model = fit(t);

  it("names the input input and stores feature names in the metadata by request", () => {
    const decoded = onnxProto.onnx.ModelProto.decode(logRegToOnnx(model, { featureNames: ["a", "b", "c", "d"] }));
    expect(decoded.graph!.input!.map((i) => i.name)).toEqual(["input"]);
    expect(decoded.metadataProps.find((p) => p.key === "mlops.features")?.value).toBe('["a","b","c","d"]');
  });

  it("uses a custom input name", async () => {
    const session = await ort.InferenceSession.create(logRegToOnnx(model, { inputName: "features" }));
    expect([session.inputNames, session.outputNames]).toEqual([["features"], ["probability"]]);
    await session.release();
  });

  it("fails when featureNames does not match the number of features", () => {
    expect(() => logRegToOnnx(model, { featureNames: ["a"] })).toThrow(/featureNames: must name each of the model's 4 features/);
  });
});
