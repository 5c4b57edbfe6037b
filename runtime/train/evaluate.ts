import * as ort from "onnxruntime-node";
import { MlopsError } from "../../src/errors.js";
import type { TrainSpec } from "../../src/spec/train.js";
import type { Split } from "./dataset.js";
import { accuracy, auc, logLoss, mae, rmse } from "./metrics.js";

/**
 * Runs an ONNX model on `data.X` and returns one prediction per row: for classification the probability
 * of class 1, for regression the value. The model's first input gets the `[n, d]` features (FLOAT or
 * DOUBLE, as it declares); the first float tensor output is read, shaped `[n]`, `[n, 1]` or, for
 * classifiers that give both classes, `[n, 2]` (column 1 is taken).
 */
export async function predict(model: Buffer, data: Split, task: TrainSpec["task"]): Promise<Float64Array> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model);
  } catch (err) {
    throw new MlopsError(`model: onnxruntime cannot load it (${(err as Error).message.split("\n")[0]}). Export a valid ONNX model.`);
  }
  try {
    const inputMeta = session.inputMetadata[0];
    if (!inputMeta) throw new MlopsError("model: has no input. Export the model with one [batch, features] input.");
    const type = inputMeta.isTensor ? inputMeta.type : "float32";
    const tensor =
      type === "float64"
        ? new ort.Tensor("float64", data.X, [data.n, data.d])
        : type === "float32"
          ? new ort.Tensor("float32", Float32Array.from(data.X), [data.n, data.d])
          : undefined;
    if (!tensor) {
      throw MlopsError.of("model input", `${inputMeta.name} has a type the runtime cannot feed`, type, "Give the model a FLOAT or DOUBLE [batch, features] input.");
    }
    const outputIndex = session.outputMetadata.findIndex((m) => m.isTensor && (m.type === "float32" || m.type === "float64"));
    if (outputIndex < 0) {
      throw MlopsError.of("model outputs", "include no float tensor", session.outputNames, "Export the probability (or value) as a FLOAT tensor; for sklearn-onnx classifiers turn ZipMap off (options={'zipmap': False}).");
    }
    const outputName = session.outputNames[outputIndex]!;
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await session.run({ [inputMeta.name]: tensor }, [outputName]);
    } catch (err) {
      throw new MlopsError(`model: scoring ${data.n}×${data.d} features failed (${(err as Error).message.split("\n")[0]}). The model must take the dataset's ${data.d} feature columns in order.`);
    }
    return pickColumn(results[outputName]!.data as Float32Array | Float64Array, data.n, outputName, task);
  } finally {
    await session.release();
  }
}

function pickColumn(values: Float32Array | Float64Array, n: number, name: string, task: TrainSpec["task"]): Float64Array {
  const out = new Float64Array(n);
  if (values.length === n) {
    out.set(values);
  } else if (values.length === 2 * n && task === "classification") {
    for (let i = 0; i < n; i++) out[i] = values[2 * i + 1]!;
  } else {
    throw MlopsError.of(`model output ${name}`, `has ${values.length} values for ${n} rows`, values.length, task === "classification" ? "Output the probability of class 1 as [N] or [N, 1], or both classes as [N, 2]." : "Output one value per row, [N] or [N, 1].");
  }
  if (task === "classification") {
    const bad = out.findIndex((p) => !(p >= 0 && p <= 1));
    if (bad >= 0) throw MlopsError.of(`model output ${name}`, "must be probabilities in [0, 1]", out[bad], "Apply a sigmoid/softmax in the exported graph.");
  }
  return out;
}

/** Metrics the runtime computes from predictions: auc, accuracy, logLoss (classification); rmse, mae (regression). */
export function computeMetrics(y: Float64Array, predictions: Float64Array, task: TrainSpec["task"]): Record<string, number> {
  if (task === "classification") return { auc: auc(y, predictions), accuracy: accuracy(y, predictions), logLoss: logLoss(y, predictions) };
  return { rmse: rmse(y, predictions), mae: mae(y, predictions) };
}

/** Scores a model on the holdout: {@link predict} then {@link computeMetrics}. */
export async function scoreModel(model: Buffer, holdout: Split, task: TrainSpec["task"]): Promise<Record<string, number>> {
  return computeMetrics(holdout.y, await predict(model, holdout, task), task);
}
