import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, type Logger } from "../../src/log.js";
import { freePort } from "../../src/net.js";
import { Registry, type ModelVersion } from "../../src/registry/index.js";
import { newRunId as newRecordRunId } from "../../src/runs/store.js";
import { TRAINER_ENV } from "../../src/spec/env.js";
import type { TrainSpec } from "../../src/spec/train.js";
import { openStore } from "../../src/store/index.js";
import { trainBuiltin, type TrainerOutput } from "./builtin.js";
import { CheckpointSync, defaultCheckpointUri } from "./checkpoint.js";
import { describeTail, runTrainerProcesses, TrainerError, TrainingAbortedError, trainerEnv } from "./command.js";
import { fileSource, loadDataset, type Dataset } from "./dataset.js";
import { defaultProgressMode, ProgressReporter, type ProgressMode } from "./progress.js";
import { findRun, gateAndRegister } from "./register.js";
import { RunTracker } from "./runs.js";
import { trainingSetSource } from "./training-set.js";

export interface TrainOptions {
  /** @default createLogger() (JSON lines unless stderr is a terminal) */
  readonly logger?: Logger;
  /** Aborting stops the trainer (SIGTERM), saves its checkpoint and rejects with TrainingAbortedError. */
  readonly signal?: AbortSignal;
  /** @default "tty" when stderr is a terminal, else "json" */
  readonly progress?: ProgressMode;
  /** Resolves relative `file://` URIs and is the trainer's working directory. @default process.cwd() */
  readonly cwd?: string;
  /**
   * This process is one worker of a multi-pod run (a Kubernetes Indexed Job): start only `rank`, reach
   * rank 0 at `masterAddr`. Only rank 0 evaluates and registers. @default - all ranks run here
   */
  readonly worker?: WorkerPlacement;
  /** Pushgateway base URL for the run's gate verdict and holdout metrics. @default $MLOPS_PUSHGATEWAY, else none */
  readonly pushgateway?: string;
}

/** Where this process sits in a multi-pod run. */
export interface WorkerPlacement {
  readonly rank: number;
  readonly masterAddr: string;
  readonly masterPort?: number;
}

/**
 * How a run ended:
 * - `registered`: the gate passed and `version` is registered (or already was, by an earlier attempt of
 *   this runId: then `reason` says so);
 * - `gate-failed`: the gate failed (`reason` says why); nothing is registered and no alias moved;
 * - `worker-done`: this process is a non-zero rank of a multi-pod run; it trained and evaluated nothing,
 *   rank 0 evaluates and registers.
 */
export type TrainStatus = "registered" | "gate-failed" | "worker-done";

export interface TrainResult {
  readonly runId: string;
  readonly status: TrainStatus;
  /** Why the gate failed, why this run did not train again, or, on a non-zero rank, why nothing was evaluated here. */
  readonly reason?: string;
  /** Scored by the runtime on the holdout; the trainer's own numbers are prefixed `trainer_`. */
  readonly metrics: Record<string, number>;
  /** The `mustBeat` alias holder, scored on the same holdout. */
  readonly baseline?: { readonly alias: string; readonly version: number; readonly metrics: Record<string, number> };
  readonly version?: ModelVersion;
  /** The alias moved to `version`. */
  readonly alias?: string;
  /** The first step the trainer reported after its checkpoint was restored. */
  readonly resumedFromStep?: number;
}

/** One training run as each of its steps sees it: built once by {@link runTraining}. */
export interface RunContext {
  readonly spec: TrainSpec;
  readonly runId: string;
  /** Resolves relative `file://` URIs; the trainer's working directory when the spec names none. */
  readonly cwd: string;
  /** The job's logger, with `job` and `runId` on every line. */
  readonly log: Logger;
  /** Opened against `cwd`: its normalized uri (`file:///abs/…`) is what every later store of this run uses. */
  readonly registry: Registry;
  /** This run's scratch folder (staged data, trainer output, checkpoint), removed when the run ends. */
  readonly work: string;
  /** This run's checkpoint location: `spec.checkpoint.uri`, else `<registry>/checkpoints/<name>/<runId>`. */
  readonly checkpointUri: string;
  readonly signal?: AbortSignal;
  /** Set when this process runs one rank of a multi-pod run. */
  readonly worker?: WorkerPlacement;
  /** This run's record (src/runs): params, metrics with steps, outcome. */
  readonly run?: RunTracker;
}

/** `run-<UTC yyyymmddThhmmssZ>-<6 hex>` (the run record's id, src/runs): sortable and unique enough. */
export function newRunId(now = new Date()): string {
  return newRecordRunId(now);
}

/**
 * Runs one training job end to end: stage and split the dataset, train (built-in or command, locally
 * distributed when `workers > 1`), score the model on the holdout, apply the gate, and on a pass register
 * the version with its lineage and move `spec.alias`. A failed gate resolves with status `gate-failed`
 * and registers nothing; a failed trainer rejects with a {@link TrainerError}. A run id already
 * registered resolves with that version (status `registered`) without training again.
 */
export async function runTraining(spec: TrainSpec, opts: TrainOptions = {}): Promise<TrainResult> {
  const runId = spec.runId ?? newRunId();
  const cwd = opts.cwd ?? process.cwd();
  const log = (opts.logger ?? createLogger()).child({ job: spec.name, runId });
  const registry = new Registry(openStore(spec.registry, { cwd }));
  // Every rank checks: a rank that trained again alone would wait for peers that never come.
  const existing = await findRun(registry, spec.model, runId);
  if (existing) {
    log.info("run already registered; not training again", { model: spec.model, version: existing.version });
    return { runId, status: "registered", metrics: { ...existing.metrics }, version: existing, reason: `already registered as ${spec.model}:${existing.version} by this runId` };
  }

  const work = await mkdtemp(join(tmpdir(), "mlops-train-"));
  const checkpointUri = spec.checkpoint.uri ?? defaultCheckpointUri(registry.uri, spec.name, runId);
  const run = await RunTracker.start({ spec, runId, registry, cwd, work, log, worker: opts.worker, pushgateway: opts.pushgateway }).catch(async (err: unknown) => {
    await rm(work, { recursive: true, force: true });
    throw err;
  });
  const ctx: RunContext = { spec, runId, cwd, log, registry, work, checkpointUri, signal: opts.signal, worker: opts.worker, run };
  try {
    checkAborted(ctx.signal);
    const command = "command" in spec.trainer;
    const source =
      "trainingSet" in spec.dataset
        ? await trainingSetSource(spec.dataset, { runId, scratchDir: work, cwd, pins: openStore(checkpointUri, { cwd }), log })
        : fileSource(spec.dataset);
    const data = await loadDataset(spec, { dir: join(work, "data"), stage: command, cwd, source });
    run.dataset(data);
    log.info("dataset ready", {
      uri: data.uri,
      digest: data.digest,
      ...(data.trainingSet ? { trainingSet: `${data.trainingSet.name}:${data.trainingSet.version}` } : {}),
      rows: data.rows,
      features: data.features.length,
      train: data.train.n,
      holdout: data.holdout.n,
    });
    checkAborted(ctx.signal);

    const reporter = new ProgressReporter({ mode: opts.progress ?? defaultProgressMode(), logger: log });
    let output: TrainerOutput;
    let resumedFromStep: number | undefined;
    try {
      if ("builtin" in spec.trainer) {
        if (spec.workers > 1) log.warn("the built-in trainer runs in one process; workers is ignored", { workers: spec.workers });
        const store = openStore(checkpointUri, { cwd });
        const r = await trainBuiltin({
          trainer: spec.trainer, task: spec.task, split: spec.split, data, logger: log, signal: ctx.signal,
          checkpoint: { store, intervalSeconds: spec.checkpoint.intervalSeconds },
          onProgress: (p) => (reporter.update(p), run.progress(p)),
        });
        output = r.output;
        resumedFromStep = r.resumedFromStep;
      } else {
        const r = await trainCommand(ctx, spec.trainer, data, reporter);
        if (!r) return { runId, status: "worker-done", metrics: {}, reason: `rank ${ctx.worker?.rank}: rank 0 evaluates and registers` };
        output = r.output;
        resumedFromStep = r.restored ? reporter.firstStep : undefined;
      }
    } finally {
      reporter.done();
    }
    // A signal that came as the trainer finished still means stop: the checkpoint lets a re-run register.
    if (ctx.signal?.aborted) {
      throw new TrainingAbortedError("training was stopped (abort/SIGTERM) before the model was registered; nothing was registered, and a re-run with the same runId resumes from its checkpoint.");
    }
    const result = await run.ended(await gateAndRegister(ctx, { data, output, resumedFromStep }));
    // The drift reference of the version just registered (src/registry/profiles.ts), while its data is at hand.
    if (result.status === "registered" && result.version) await (await import("./profile.js")).saveReferenceProfile(ctx, result.version.version, data);
    return result;
  } catch (err) {
    await run.failed(err, ctx.signal);
    throw err;
  } finally {
    await run.close();
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Runs a command trainer: its ranks here (all of them, or this pod's one), the checkpoint restored before
 * and synced while it runs. Resolves with rank 0's model, or undefined on a process without rank 0.
 */
async function trainCommand(
  ctx: RunContext,
  trainer: Extract<TrainSpec["trainer"], { command: string[] }>,
  data: Dataset,
  reporter: ProgressReporter,
): Promise<{ output: TrainerOutput; restored: boolean } | undefined> {
  const { spec, runId, log, work } = ctx;
  const staged = data.staged!;
  const checkpointDir = join(work, "checkpoint");
  const outputRoot = join(work, "output");
  const ranks = ctx.worker ? [ctx.worker.rank] : Array.from({ length: spec.workers }, (_, r) => r);
  const outputDir = (rank: number) => (ranks.length > 1 ? join(outputRoot, `rank-${rank}`) : outputRoot);
  for (const r of ranks) await mkdir(outputDir(r), { recursive: true });
  await mkdir(checkpointDir, { recursive: true });

  const checkpointStore = openStore(ctx.checkpointUri, { cwd: ctx.cwd });
  const checkpointUri = checkpointStore.uri;
  const sync = new CheckpointSync(checkpointStore, checkpointDir, log);
  const restored = (await sync.restore()) > 0;
  if (!restored) log.info("no checkpoint for this run; starting fresh", { checkpoint: checkpointUri });
  // One writer per location: rank 0 uploads, every rank restores.
  const isRank0 = ranks.includes(0);
  if (isRank0) sync.start(spec.checkpoint.intervalSeconds);

  const masterAddr = ctx.worker?.masterAddr ?? "127.0.0.1";
  const masterPort = ctx.worker ? (ctx.worker.masterPort ?? spec.masterPort) : await freePort();
  const paths = {
    dataDir: staged.dir,
    trainData: data.format === "csv" ? staged.trainCsv : staged.trainParquet,
    holdoutData: data.format === "csv" ? staged.holdoutCsv : staged.holdoutParquet,
    outputDir: outputDir(ranks[0]!),
    checkpointDir,
  };
  log.info("starting trainer", { command: trainer.command, workers: spec.workers, ranks, ...(spec.workers > 1 ? { masterAddr, masterPort } : {}) });
  let lastLines: readonly string[];
  try {
    ({ lastLines } = await runTrainerProcesses({
      trainer,
      cwd: ctx.cwd,
      env: { ...trainerEnv({ runId, label: data.label, features: data.features, format: data.format, params: trainer.params, paths }), ...(await ctx.run?.trainerEnv(trainer.env)) },
      workers: spec.workers,
      gpusPerWorker: spec.gpusPerWorker,
      ranks,
      masterAddr,
      masterPort,
      outputDir,
      signal: ctx.signal,
      logger: log,
      onProgress: (p) => (reporter.update(p), ctx.run?.progress(p)),
    }));
  } finally {
    sync.stop();
    if (isRank0) {
      await sync.sync().catch((err: Error) => log.warn("final checkpoint sync failed", { error: err.message, checkpoint: checkpointUri }));
    }
  }
  if (!isRank0) return undefined;

  const dir = outputDir(0);
  let model: Buffer;
  try {
    model = await readFile(join(dir, "model.onnx"));
  } catch {
    throw new TrainerError(
      `trainer exited with code 0 but wrote no model: expected ${join(dir, "model.onnx")}. Write the ONNX model to $${TRAINER_ENV.outputDir}/model.onnx${describeTail(lastLines)}`,
      0,
      lastLines,
    );
  }
  return { output: { model, trainerMetrics: await readTrainerMetrics(join(dir, "metrics.json"), log) }, restored };
}

/** Numbers from the trainer's `metrics.json` (optional; a malformed file is logged and ignored). */
async function readTrainerMetrics(path: string, log: Logger): Promise<Record<string, number>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return {};
  }
  try {
    const parsed: unknown = JSON.parse(text);
    const out: Record<string, number> = {};
    if (parsed && typeof parsed === "object") {
      for (const [k, v] of Object.entries(parsed)) if (typeof v === "number" && Number.isFinite(v)) out[k] = v;
    }
    return out;
  } catch (err) {
    log.warn("trainer metrics.json is not JSON; ignored", { error: (err as Error).message });
    return {};
  }
}

function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new TrainingAbortedError("training was stopped (abort/SIGTERM) before the trainer started.");
}

