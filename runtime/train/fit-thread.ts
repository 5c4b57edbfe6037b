/**
 * Runs {@link fitLogisticRegression} on a worker thread, so the job's event loop stays free while it
 * fits: SIGTERM is heard, checkpoints are written, progress is logged. Aborting terminates the worker
 * at once (V8 stops it mid-loop) and rejects with the abort's reason.
 */
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { MlopsError } from "../../src/errors.js";
import type { LogRegModel, LogRegOptions, LogRegProgress } from "./logreg.js";

/** What the worker is sent: the table and the fit's options (no callbacks: they cannot cross threads). */
export interface FitRequest {
  readonly X: Float64Array;
  readonly y: Float64Array | Uint8Array;
  readonly n: number;
  readonly d: number;
  readonly options: Omit<LogRegOptions, "onProgress">;
}

/** What the worker posts back. */
export type FitMessage =
  | { readonly type: "progress"; readonly progress: LogRegProgress }
  | { readonly type: "done"; readonly model: LogRegModel }
  | { readonly type: "error"; readonly message: string; readonly userError: boolean; readonly stack?: string };

export interface FitInWorkerOptions {
  /** Each iteration's progress, as the worker reports it. */
  readonly onProgress?: (p: LogRegProgress) => void;
  /** Aborting stops the fit: the worker is terminated and the promise rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
}

/**
 * The worker module next to this one, with this module's extension: `fit-worker.js` in the compiled
 * package, `fit-worker.ts` in a checkout run through tsx (bin/mlops.js) or vitest. A `.ts` worker
 * registers tsx's loader in its own thread first: loaders are per thread, and a worker does not inherit
 * the one its parent registered through the API.
 */
function spawnFitWorker(): Worker {
  const here = fileURLToPath(import.meta.url);
  const url = new URL(`./fit-worker${extname(here)}`, import.meta.url);
  if (extname(here) !== ".ts") return new Worker(url);
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(boot, { eval: true });
}

/** Fits on a worker thread; resolves with the model, rejects with the fit's error or the abort's reason. */
export function fitInWorker(request: FitRequest, opts: FitInWorkerOptions = {}): Promise<LogRegModel> {
  const { signal } = opts;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<LogRegModel>((resolve, reject) => {
    const worker = spawnFitWorker();
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      void worker.terminate();
      fn();
    };
    const onAbort = () => finish(() => reject(signal!.reason));
    signal?.addEventListener("abort", onAbort, { once: true });
    worker.on("message", (m: FitMessage) => {
      if (settled) return;
      if (m.type === "progress") opts.onProgress?.(m.progress);
      else if (m.type === "done") finish(() => resolve(m.model));
      else finish(() => reject(m.userError ? new MlopsError(m.message) : Object.assign(new Error(m.message), { stack: m.stack })));
    });
    worker.on("error", (err) => finish(() => reject(err)));
    worker.on("exit", (code) => finish(() => reject(new Error(`the logistic-regression worker exited with code ${code} before it finished`))));
    worker.postMessage(request);
  });
}

