import { MlopsError } from "../../src/errors.js";
import type { Logger } from "../../src/log.js";
import type { TrainSpec } from "../../src/spec/train.js";
import type { ObjectStore } from "../../src/store/types.js";
import { TrainingAbortedError } from "./command.js";
import type { Dataset } from "./dataset.js";
import { fitInWorker } from "./fit-thread.js";
import { logRegToOnnx, type LogRegProgress } from "./logreg.js";
import type { Progress } from "./progress.js";

type BuiltinTrainer = Extract<TrainSpec["trainer"], { builtin: string }>;

/** Output of a trainer run: the ONNX bytes and the trainer's own numbers (recorded, never trusted). */
export interface TrainerOutput {
  readonly model: Buffer;
  readonly trainerMetrics: Record<string, number>;
}

/** One run of the built-in trainer, as the job hands it over. */
export interface BuiltinRun {
  readonly trainer: BuiltinTrainer;
  readonly task: TrainSpec["task"];
  readonly split: TrainSpec["split"];
  readonly data: Dataset;
  readonly logger: Logger;
  /** This run's checkpoint location and how often the fit's current point is written there. */
  readonly checkpoint: { readonly store: ObjectStore; readonly intervalSeconds: number };
  /** Aborting stops the fit, writes its checkpoint and rejects with {@link TrainingAbortedError}. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: Progress) => void;
}

/** The built-in trainer's checkpoint object, under the run's checkpoint location. */
export const BUILTIN_CHECKPOINT_KEY = "logistic-regression.json";

/**
 * The fit's current point and what it was fitted on: a re-run resumes from it only when the table,
 * columns, split and penalty are the same (else the point belongs to another problem).
 */
interface BuiltinCheckpoint {
  readonly format: "mlops.logistic-regression.checkpoint/1";
  readonly datasetDigest: string;
  readonly features: readonly string[];
  readonly split: { readonly holdoutFraction: number; readonly seed: number };
  readonly l2: number;
  readonly iteration: number;
  /** d standardized coefficients then the intercept. */
  readonly theta: readonly number[];
}

/**
 * Fits the built-in L2 logistic regression on the training split, off the event loop (a worker
 * thread), and exports it to ONNX. Resumes from this run's checkpoint when there is one for the same
 * problem; writes the current point every `checkpoint.intervalSeconds` and when aborted.
 */
export async function trainBuiltin(run: BuiltinRun): Promise<{ output: TrainerOutput; resumedFromStep?: number }> {
  const { trainer, data, logger, signal } = run;
  if (run.task !== "classification") {
    throw MlopsError.of("trainer.builtin", 'is a classifier and cannot fit task "regression"', trainer.builtin, 'Set task: "classification", or use a command trainer for regression.');
  }
  const store = run.checkpoint.store;
  const identity = {
    datasetDigest: data.digest,
    features: data.features,
    split: { holdoutFraction: run.split.holdoutFraction, seed: run.split.seed },
    l2: trainer.l2,
  };
  const saved = await readCheckpoint(store, identity, logger);
  if (saved) logger.info(`resuming the built-in trainer at iteration ${saved.iteration}`, { checkpoint: store.uri });

  let latest: LogRegProgress | undefined;
  let written = saved?.iteration ?? -1;
  let writing: Promise<void> = Promise.resolve();
  const write = (): Promise<void> => {
    writing = writing.then(async () => {
      const p = latest;
      if (!p || p.iteration === written) return;
      const state: BuiltinCheckpoint = { format: "mlops.logistic-regression.checkpoint/1", ...identity, iteration: p.iteration, theta: Array.from(p.theta) };
      await store.put(BUILTIN_CHECKPOINT_KEY, JSON.stringify(state));
      written = p.iteration;
    }).catch((err: Error) => logger.warn("checkpoint write failed", { error: err.message, checkpoint: store.uri }));
    return writing;
  };
  const timer = setInterval(() => void write(), run.checkpoint.intervalSeconds * 1000);
  timer.unref();

  const { X, y, n, d } = data.train;
  const started = Date.now();
  let model;
  try {
    model = await fitInWorker(
      {
        X, y, n, d,
        options: {
          l2: trainer.l2,
          maxIterations: trainer.maxIterations,
          tolerance: trainer.tolerance,
          ...(saved ? { start: { theta: saved.theta, iteration: saved.iteration } } : {}),
        },
      },
      {
        signal,
        onProgress: (p) => {
          latest = p;
          run.onProgress?.({ step: p.iteration, total: trainer.maxIterations, loss: p.loss });
        },
      },
    );
  } catch (err) {
    if (!signal?.aborted) throw err;
    await write();
    logger.info("built-in trainer stopped; its checkpoint is kept", { iteration: written, checkpoint: store.uri });
    throw new TrainingAbortedError("training was stopped (abort/SIGTERM) before the trainer finished; its checkpoint is kept for a re-run with the same runId.");
  } finally {
    clearInterval(timer);
  }
  await writing;
  logger.info("built-in trainer finished", {
    solver: model.solver,
    iterations: model.iterations,
    converged: model.converged,
    loss: model.loss,
    seconds: (Date.now() - started) / 1000,
  });
  if (!model.converged) {
    logger.warn("logistic regression did not converge", { solver: model.solver, maxIterations: trainer.maxIterations, fix: "raise trainer.maxIterations or trainer.tolerance" });
  }
  return {
    output: { model: logRegToOnnx(model, { featureNames: data.features }), trainerMetrics: { loss: model.loss, iterations: model.iterations } },
    ...(saved ? { resumedFromStep: saved.iteration } : {}),
  };
}

/** This run's checkpoint when it is for the same problem; a stale or unreadable one is logged and skipped. */
async function readCheckpoint(store: ObjectStore, identity: Omit<BuiltinCheckpoint, "format" | "iteration" | "theta">, logger: Logger): Promise<BuiltinCheckpoint | undefined> {
  const body = await store.get(BUILTIN_CHECKPOINT_KEY);
  if (!body) return undefined;
  let state: BuiltinCheckpoint;
  try {
    state = JSON.parse(body.toString("utf8")) as BuiltinCheckpoint;
  } catch (err) {
    logger.warn("checkpoint is not JSON; starting fresh", { checkpoint: store.uriOf(BUILTIN_CHECKPOINT_KEY), error: (err as Error).message });
    return undefined;
  }
  const same =
    state?.format === "mlops.logistic-regression.checkpoint/1" &&
    state.datasetDigest === identity.datasetDigest &&
    JSON.stringify(state.features) === JSON.stringify(identity.features) &&
    state.split?.holdoutFraction === identity.split.holdoutFraction &&
    state.split?.seed === identity.split.seed &&
    state.l2 === identity.l2 &&
    Number.isInteger(state.iteration) && state.iteration >= 0 &&
    Array.isArray(state.theta) && state.theta.length === identity.features.length + 1 &&
    state.theta.every((v) => typeof v === "number" && Number.isFinite(v));
  if (!same) {
    logger.warn("checkpoint is for another table, split or l2; starting fresh", { checkpoint: store.uriOf(BUILTIN_CHECKPOINT_KEY) });
    return undefined;
  }
  return state;
}
