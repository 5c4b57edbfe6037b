import { describe, expect, it } from "vitest";
import { MlopsError } from "../../../src/errors.js";
import { buildOnnxModel } from "../../../src/onnx/build.js";
import { predict, scoreModel } from "../../../runtime/train/evaluate.js";

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const split = (rows: number[][], y: number[]) => ({ X: Float64Array.from(rows.flat()), y: Float64Array.from(y), n: rows.length, d: rows[0]!.length });

describe("predict", () => {
  it("feeds a DOUBLE input and takes column 1 of an [N, 2] output", async () => {
    const model = buildOnnxModel({
      graphName: "both-classes",
      inputs: [{ name: "x", elemType: "double", shape: ["batch", 2] }],
      outputs: [{ name: "p", elemType: "double", shape: ["batch", 2] }],
      nodes: [{ opType: "Sigmoid", inputs: ["x"], outputs: ["p"] }],
    });
    const p = await predict(model, split([[0, 0], [5, 2]], [0, 1]), "classification");
    expect(Array.from(p)).toEqual([0.5, sigmoid(2)]);
  });

  it("skips a non-float first output (a label) for the float probability", async () => {
    const model = buildOnnxModel({
      graphName: "label-then-prob",
      inputs: [{ name: "x", elemType: "float", shape: ["batch", 1] }],
      outputs: [
        { name: "label", elemType: "int64", shape: ["batch", 1] },
        { name: "probability", elemType: "float", shape: ["batch", 1] },
      ],
      nodes: [
        { opType: "Sigmoid", inputs: ["x"], outputs: ["probability"] },
        { opType: "Cast", inputs: ["x"], outputs: ["label"], attributes: { to: 7 } },
      ],
    });
    const p = await predict(model, split([[0], [1]], [0, 1]), "classification");
    expect(p[0]).toBeCloseTo(0.5, 6);
    expect(p[1]).toBeCloseTo(sigmoid(1), 6);
  });

  const identity = buildOnnxModel({
    graphName: "identity",
    inputs: [{ name: "x", elemType: "float", shape: ["batch", 1] }],
    outputs: [{ name: "y", elemType: "float", shape: ["batch", 1] }],
    nodes: [{ opType: "Identity", inputs: ["x"], outputs: ["y"] }],
  });

  it("scores regression with rmse and mae", async () => {
    const metrics = await scoreModel(identity, split([[1], [2], [4]], [1, 2, 1]), "regression");
    expect(metrics).toEqual({ rmse: Math.sqrt(3), mae: 1 });
  });

  it("fails when a classifier's output is not a probability", async () => {
    const err = await predict(identity, split([[3], [0]], [1, 0]), "classification").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlopsError);
    expect((err as Error).message).toMatch(/must be probabilities in \[0, 1\]; received 3/);
  });

  it("fails when the model takes a different number of features", async () => {
    await expect(predict(identity, split([[1, 2]], [1]), "regression")).rejects.toThrow(/scoring 1×2 features failed.*2 feature columns in order/);
  });

  it("fails when the artifact is not ONNX", async () => {
    await expect(predict(Buffer.from("not onnx"), split([[1]], [1]), "regression")).rejects.toThrow(/onnxruntime cannot load it/);
  });
});
