import { describe, expect, it } from "vitest";
import { checkGate, constantMetrics } from "../../../runtime/train/gate.js";

const gate = (g: Partial<Parameters<typeof checkGate>[0]["gate"]>) => ({ minimum: {}, maximum: {}, beatConstant: true, ...g });

describe("checkGate", () => {
  it("passes with no thresholds", () => {
    expect(checkGate({ task: "classification", gate: gate({}), metrics: { auc: 0.5 } }).passed).toBe(true);
  });

  it("fails when a metric is below its minimum", () => {
    const d = checkGate({ task: "classification", gate: gate({ minimum: { auc: 0.9 } }), metrics: { auc: 0.8 } });
    expect(d.passed).toBe(false);
    expect(d.failures[0]).toMatch(/auc 0\.8000 is below the minimum 0\.9/);
  });

  it("fails when a metric is above its maximum", () => {
    const d = checkGate({ task: "regression", gate: gate({ maximum: { rmse: 1 } }), metrics: { rmse: 1.5, mae: 1 } });
    expect(d.failures[0]).toMatch(/rmse 1\.5000 is above the maximum 1/);
  });

  it("fails when a bound names a metric the task does not compute", () => {
    const d = checkGate({ task: "regression", gate: gate({ minimum: { auc: 0.5 } }), metrics: { rmse: 1 } });
    expect(d.failures[0]).toMatch(/regression models have no auc/);
  });

  it("passes mustBeat when the alias has no holder", () => {
    expect(checkGate({ task: "classification", gate: gate({ mustBeat: "champion" }), metrics: { auc: 0.6 } }).passed).toBe(true);
  });

  it("fails when the candidate only ties the holder", () => {
    const baseline = { alias: "champion", version: 3, metrics: { auc: 0.8 } };
    const d = checkGate({ task: "classification", gate: gate({ mustBeat: "champion" }), metrics: { auc: 0.8 }, baseline });
    expect(d.failures[0]).toMatch(/does not beat champion \(version 3\)/);
  });

  it("compares lower-is-better metrics downwards", () => {
    const baseline = { alias: "champion", version: 1, metrics: { logLoss: 0.5 } };
    const d = checkGate({ task: "classification", gate: gate({ mustBeat: "champion", compareOn: "logLoss" }), metrics: { logLoss: 0.4 }, baseline });
    expect(d.passed).toBe(true);
  });

  it("compares rmse by default for regression", () => {
    const baseline = { alias: "champion", version: 1, metrics: { rmse: 1, mae: 5 } };
    const d = checkGate({ task: "regression", gate: gate({ mustBeat: "champion" }), metrics: { rmse: 0.9, mae: 9 }, baseline });
    expect(d.passed).toBe(true);
  });
});

describe("the constant-predictor check", () => {
  const constant = constantMetrics(new Float64Array([0, 1, 1, 0]), new Float64Array([0, 1, 0, 1]), "classification");

  it("scores the training mean on the holdout: AUC 0.5 for classification", () => {
    expect(constant.auc).toBe(0.5);
  });

  it("fails a model no better than predicting the training mean", () => {
    const d = checkGate({ task: "classification", gate: gate({}), metrics: { auc: 0.5 }, constant });
    expect(d.passed).toBe(false);
    expect(d.failures[0]).toMatch(/auc 0\.5000 is no better than predicting the training mean \(0\.5000\).*gate\.beatConstant: false/);
  });

  it("passes a model that beats it", () => {
    expect(checkGate({ task: "classification", gate: gate({}), metrics: { auc: 0.51 }, constant }).passed).toBe(true);
  });

  it("is off with beatConstant: false", () => {
    expect(checkGate({ task: "classification", gate: gate({ beatConstant: false }), metrics: { auc: 0.5 }, constant }).passed).toBe(true);
  });

  it("compares RMSE with the mean's for regression", () => {
    const c = constantMetrics(new Float64Array([1, 3]), new Float64Array([0, 4]), "regression");
    expect(c.rmse).toBe(2);
    expect(checkGate({ task: "regression", gate: gate({}), metrics: { rmse: 2.5, mae: 2 }, constant: c }).passed).toBe(false);
    expect(checkGate({ task: "regression", gate: gate({}), metrics: { rmse: 1.5, mae: 1 }, constant: c }).passed).toBe(true);
  });
});

