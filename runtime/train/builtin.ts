import { MlopsError } from "../../src/errors.js";
import type { Logger } from "../../src/log.js";
import type { TrainSpec } from "../../src/spec/train.js";
import type { Dataset } from "./dataset.js";
import { fitLogisticRegression, logRegToOnnx } from "./logreg.js";
import type { Progress } from "./progress.js";

type BuiltinTrainer = Extract<TrainSpec["trainer"], { builtin: string }>;

/** Output of a trainer run: the ONNX bytes and the trainer's own numbers (recorded, never trusted). */
export interface TrainerOutput {
  readonly model: Buffer;
  readonly trainerMetrics: Record<string, number>;
}

/** Fits the built-in L2 logistic regression on the training split and exports it to ONNX. */
export function trainBuiltin(
  trainer: BuiltinTrainer,
  task: TrainSpec["task"],
  data: Dataset,
  logger: Logger,
  onProgress?: (p: Progress) => void,
): TrainerOutput {
  if (task !== "classification") {
    throw MlopsError.of("trainer.builtin", 'is a classifier and cannot fit task "regression"', trainer.builtin, 'Set task: "classification", or use a command trainer for regression.');
  }
  const { X, y, n, d } = data.train;
  const started = Date.now();
  const model = fitLogisticRegression(X, y, n, d, {
    l2: trainer.l2,
    maxIterations: trainer.maxIterations,
    tolerance: trainer.tolerance,
    onProgress: (p) => onProgress?.({ step: p.iteration, total: trainer.maxIterations, loss: p.loss }),
  });
  logger.info("built-in trainer finished", {
    iterations: model.iterations,
    converged: model.converged,
    loss: model.loss,
    seconds: (Date.now() - started) / 1000,
  });
  if (!model.converged) {
    logger.warn("logistic regression did not converge", { maxIterations: trainer.maxIterations, fix: "raise trainer.maxIterations or trainer.tolerance" });
  }
  return {
    model: logRegToOnnx(model, { featureNames: data.features }),
    trainerMetrics: { loss: model.loss, iterations: model.iterations },
  };
}
