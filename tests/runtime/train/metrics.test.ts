import { beforeAll, describe, expect, it } from "vitest";
import { accuracy, auc, logLoss, LOG_LOSS_EPS, mae, rmse } from "../../../runtime/train/metrics.js";
import { gaussian, rng, sklearn } from "./sklearn-oracle.js";

const N = 3000;

interface Oracle {
  aucTies: number;
  aucContinuous: number;
  accuracy: number;
  accuracyAt03: number;
  logLoss: number;
  rmse: number;
  mae: number;
}

// Labels correlated with the scores so the AUC is far from 0.5; scores rounded to one decimal give
// thousands of tied pairs, across and within classes.
const uniform = rng(7);
const normal = gaussian(uniform);
const y = new Float64Array(N);
const prob = new Float64Array(N);
const tied = new Float64Array(N);
const target = new Float64Array(N);
const pred = new Float64Array(N);
for (let i = 0; i < N; i++) {
  const z = normal();
  y[i] = uniform() < 1 / (1 + Math.exp(-1.5 * z)) ? 1 : 0;
  prob[i] = 1 / (1 + Math.exp(-(z + 0.5 * normal())));
  tied[i] = Math.round(prob[i]! * 10) / 10;
  target[i] = 3 * z + 10;
  pred[i] = target[i]! + normal() * 2;
}

let oracle: Oracle;
beforeAll(async () => {
  oracle = await sklearn<Oracle>(
    `
from sklearn import metrics as m
y, p, t, target, pred = load("y"), load("prob"), load("tied"), load("target"), load("pred")
print(json.dumps({
  "aucTies": m.roc_auc_score(y, t),
  "aucContinuous": m.roc_auc_score(y, p),
  "accuracy": m.accuracy_score(y, (p >= 0.5).astype(float)),
  "accuracyAt03": m.accuracy_score(y, (p >= 0.3).astype(float)),
  "logLoss": m.log_loss(y, p),
  "rmse": float(np.sqrt(m.mean_squared_error(target, pred))),
  "mae": m.mean_absolute_error(target, pred),
}))`,
    {
      y: { data: y, shape: [N] },
      prob: { data: prob, shape: [N] },
      tied: { data: tied, shape: [N] },
      target: { data: target, shape: [N] },
      pred: { data: pred, shape: [N] },
    },
  );
});

describe("auc", () => {
  it("matches sklearn roc_auc_score on tied scores", () => {
    expect(auc(y, tied)).toBeCloseTo(oracle.aucTies, 12);
  });

  it("matches sklearn roc_auc_score on continuous scores", () => {
    expect(auc(y, prob)).toBeCloseTo(oracle.aucContinuous, 12);
  });

  it("counts a tie between classes as one half", () => {
    expect(auc([0, 1, 0, 1], [0.2, 0.2, 0.1, 0.9])).toBe((1 + 0.5 + 1 + 1) / 4);
  });

  it("fails when the labels hold a single class", () => {
    expect(() => auc([1, 1, 1], [0.1, 0.5, 0.9])).toThrow(/single class.*received \{"positives":3,"negatives":0\}/);
  });

  it("fails when a score is NaN", () => {
    expect(() => auc([0, 1], [0.1, Number.NaN])).toThrow(/score\[1\]: must be a finite number/);
  });
});

describe("accuracy", () => {
  it("matches sklearn accuracy_score at the default threshold of 0.5", () => {
    expect(accuracy(y, prob)).toBeCloseTo(oracle.accuracy, 12);
  });

  it("matches sklearn accuracy_score at a custom threshold", () => {
    expect(accuracy(y, prob, 0.3)).toBeCloseTo(oracle.accuracyAt03, 12);
  });

  it("fails when a prediction is not a probability", () => {
    expect(() => accuracy([0, 1], [0.2, 1.5])).toThrow(/prediction\[1\]: must be a probability in \[0, 1\]; received 1.5/);
  });

  it("fails when a label is not 0 or 1", () => {
    expect(() => accuracy([0, 2], [0.2, 0.5])).toThrow(/label\[1\]: must be 0 or 1; received 2/);
  });
});

describe("logLoss", () => {
  it("matches sklearn log_loss", () => {
    expect(logLoss(y, prob)).toBeCloseTo(oracle.logLoss, 12);
  });

  it("clips a confident miss at eps instead of returning Infinity", () => {
    // 1 − 1e-15 is not exact in float64, so the two rows differ in the fourth decimal.
    expect(logLoss([1, 0], [0, 1])).toBeCloseTo(-Math.log(LOG_LOSS_EPS), 2);
  });

  it("fails when the lengths differ", () => {
    expect(() => logLoss([0, 1, 1], [0.5, 0.5])).toThrow(/one prediction per label; received \{"labels":3,"predictions":2\}/);
  });
});

describe("regression metrics", () => {
  it("rmse matches sklearn mean_squared_error's square root", () => {
    expect(rmse(target, pred)).toBeCloseTo(oracle.rmse, 12);
  });

  it("mae matches sklearn mean_absolute_error", () => {
    expect(mae(target, pred)).toBeCloseTo(oracle.mae, 12);
  });

  it("fails when there are no rows", () => {
    expect(() => rmse([], [])).toThrow(/undefined on no rows/);
  });

  it("fails when a prediction is infinite", () => {
    expect(() => mae([1, 2], [1, Number.POSITIVE_INFINITY])).toThrow(/prediction\[1\]: must be a finite number/);
  });
});
