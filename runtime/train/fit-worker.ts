/**
 * The worker thread of {@link fitInWorker} (fit-thread.ts): fits the logistic regression it is sent and
 * posts each iteration's progress, then the model or the error. Run only as a worker.
 */
import { parentPort } from "node:worker_threads";
import { MlopsError } from "../../src/errors.js";
import type { FitRequest, FitMessage } from "./fit-thread.js";
import { fitLogisticRegression } from "./logreg.js";

const port = parentPort;
if (!port) throw new Error("fit-worker.ts runs as a worker thread (see fit-thread.ts), not on its own");

port.once("message", (req: FitRequest) => {
  const post = (m: FitMessage) => port.postMessage(m);
  try {
    const model = fitLogisticRegression(req.X, req.y, req.n, req.d, {
      ...req.options,
      onProgress: (p) => post({ type: "progress", progress: p }),
    });
    post({ type: "done", model });
  } catch (err) {
    const e = err as Error;
    post({ type: "error", message: e.message, userError: err instanceof MlopsError, stack: e.stack });
  }
});
