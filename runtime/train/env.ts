import { MlopsError } from "../../src/errors.js";
import { DISTRIBUTED_ENV, JOB_ENV, SPEC_ENV } from "../../src/spec/env.js";
import { parseTrainSpec } from "../../src/spec/train.js";
import { runTraining, type TrainOptions, type TrainResult } from "./job.js";

/**
 * The container boot path: reads the spec from `MLOPS_TRAIN_SPEC` ({@link SPEC_ENV}, JSON), fails fast
 * naming the bad field, and runs it. SIGTERM/SIGINT stop the trainer and save its checkpoint (a pod
 * being evicted).
 *
 * The names are the contract's ({@link JOB_ENV}, {@link DISTRIBUTED_ENV}):
 * - `MLOPS_RUN_ID` is the run id when the spec has none (every pod of one Job must agree on it).
 * - With `workers > 1` and `JOB_COMPLETION_INDEX` set (a Kubernetes Indexed Job), this pod runs only its
 *   rank and reaches rank 0 at `MASTER_ADDR`:`MASTER_PORT`; only rank 0 evaluates and registers.
 */
export async function trainFromEnv(env: NodeJS.ProcessEnv = process.env, opts: Omit<TrainOptions, "worker"> = {}): Promise<TrainResult> {
  const raw = env[SPEC_ENV.trainSpec];
  if (!raw) {
    throw MlopsError.of(SPEC_ENV.trainSpec, "is not set", raw, "Set it to the TrainSpec JSON (TrainingCluster renders it), or run `mlops train --spec <file>`.");
  }
  let input: unknown;
  try {
    input = JSON.parse(raw);
  } catch (err) {
    throw MlopsError.of(SPEC_ENV.trainSpec, `is not JSON (${(err as Error).message})`, raw, "Render it with renderTrainSpec().");
  }
  let spec = parseTrainSpec(input, SPEC_ENV.trainSpec);
  const runId = env[JOB_ENV.runId];
  if (!spec.runId && runId) spec = parseTrainSpec({ ...spec, runId }, JOB_ENV.runId);

  let worker: TrainOptions["worker"];
  const index = env[JOB_ENV.completionIndex];
  if (spec.workers > 1 && index !== undefined) {
    const rank = Number(index);
    if (!Number.isInteger(rank) || rank < 0 || rank >= spec.workers) {
      throw MlopsError.of(JOB_ENV.completionIndex, `must be a rank from 0 to ${spec.workers - 1}`, index, "Check the Job's completions against spec.workers.");
    }
    const masterAddr = env[DISTRIBUTED_ENV.masterAddr];
    const masterPort = env[DISTRIBUTED_ENV.masterPort];
    if (!masterAddr) throw MlopsError.of(DISTRIBUTED_ENV.masterAddr, "is not set", undefined, "Set it to rank 0's address (its pod through the headless Service).");
    worker = { rank, masterAddr, ...(masterPort ? { masterPort: Number(masterPort) } : {}) };
  }

  const controller = new AbortController();
  const stop = () => controller.abort();
  if (opts.signal?.aborted) stop();
  else opts.signal?.addEventListener("abort", stop, { once: true });
  // `on`, not `once`: execa's exit cleanup (signal-exit) re-raises a signal that no other listener
  // handles, and a `once` listener is already gone by the time it looks.
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  try {
    return await runTraining(spec, { ...opts, signal: controller.signal, ...(worker ? { worker } : {}) });
  } finally {
    process.off("SIGTERM", stop);
    process.off("SIGINT", stop);
    opts.signal?.removeEventListener("abort", stop);
  }
}
