import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { ifNotFound } from "../../src/errors.js";
import { createLogger, type Logger } from "../../src/log.js";
import { freePort } from "../../src/net.js";
import { Registry, type ModelVersion } from "../../src/registry/index.js";
import type { TrainSpec } from "../../src/spec/train.js";
import { openStore } from "../../src/store/index.js";
import { trainBuiltin, type TrainerOutput } from "./builtin.js";
import { CheckpointSync, defaultCheckpointUri } from "./checkpoint.js";
import { describeTail, runTrainerProcesses, TrainerError, TrainingAbortedError, trainerEnv } from "./command.js";
import { loadDataset, type Dataset } from "./dataset.js";
import { scoreModel } from "./evaluate.js";
import { checkGate, defaultCompareOn } from "./gate.js";
import { defaultProgressMode, ProgressReporter, type ProgressMode } from "./progress.js";

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
  readonly worker?: { readonly rank: number; readonly masterAddr: string; readonly masterPort?: number };
}

export interface TrainResult {
  readonly runId: string;
  /** The gate passed and the model is registered (or was, by an earlier run with this runId). */
  readonly passed: boolean;
  /** Why the gate failed (or, on a non-zero rank, why nothing was evaluated here). */
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

/** `<name>-<UTC yyyymmddhhmmss>-<6 hex>`: sortable and unique enough per job. */
export function newRunId(name: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  return `${name}-${stamp}-${randomBytes(3).toString("hex")}`;
}

/**
 * Runs one training job end to end: stage and split the dataset, train (built-in or command, locally
 * distributed when `workers > 1`), score the model on the holdout, apply the gate, and on a pass register
 * the version with its lineage and move `spec.alias`. A failed gate resolves with `passed: false` and
 * registers nothing; a failed trainer rejects with a {@link TrainerError}. A run id already registered
 * returns that version without training again.
 */
export async function runTraining(spec: TrainSpec, opts: TrainOptions = {}): Promise<TrainResult> {
  const runId = spec.runId ?? newRunId(spec.name);
  const cwd = opts.cwd ?? process.cwd();
  const log = (opts.logger ?? createLogger()).child({ job: spec.name, runId });
  // Opened against `cwd`: its normalized uri (`file:///abs/…`) is what every later store of this run uses.
  const registry = new Registry(openStore(spec.registry, { cwd }));
  // Every rank checks: a rank that trained again alone would wait for peers that never come.
  const existing = await findRun(registry, spec.model, runId);
  if (existing) {
    log.info("run already registered; not training again", { model: spec.model, version: existing.version });
    return { runId, passed: true, metrics: { ...existing.metrics }, version: existing, reason: `already registered as ${spec.model}:${existing.version} by this runId` };
  }

  const work = await mkdtemp(join(tmpdir(), "mlops-train-"));
  try {
    checkAborted(opts.signal);
    const command = "command" in spec.trainer;
    const data = await loadDataset(spec, { dir: join(work, "data"), stage: command, cwd });
    log.info("dataset ready", { uri: data.uri, digest: data.digest, rows: data.rows, features: data.features.length, train: data.train.n, holdout: data.holdout.n });
    checkAborted(opts.signal);

    const reporter = new ProgressReporter({ mode: opts.progress ?? defaultProgressMode(), logger: log });
    let output: TrainerOutput;
    let resumedFromStep: number | undefined;
    try {
      if ("builtin" in spec.trainer) {
        if (spec.workers > 1) log.warn("the built-in trainer runs in one process; workers is ignored", { workers: spec.workers });
        output = trainBuiltin(spec.trainer, spec.task, data, log, (p) => reporter.update(p));
      } else {
        const r = await trainCommand(spec, spec.trainer, data, work, runId, registry.uri, log, reporter, opts);
        if (!r) return { runId, passed: true, metrics: {}, reason: `rank ${opts.worker?.rank}: rank 0 evaluates and registers` };
        output = r.output;
        resumedFromStep = r.restored ? reporter.firstStep : undefined;
      }
    } finally {
      reporter.done();
    }
    return await gateAndRegister(spec, registry, data, output, runId, resumedFromStep, cwd, log);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function trainCommand(
  spec: TrainSpec,
  trainer: Extract<TrainSpec["trainer"], { command: string[] }>,
  data: Dataset,
  work: string,
  runId: string,
  registryUri: string,
  log: Logger,
  reporter: ProgressReporter,
  opts: TrainOptions,
): Promise<{ output: TrainerOutput; restored: boolean } | undefined> {
  const cwd = opts.cwd ?? process.cwd();
  const staged = data.staged!;
  const checkpointDir = join(work, "checkpoint");
  const outputRoot = join(work, "output");
  const ranks = opts.worker ? [opts.worker.rank] : Array.from({ length: spec.workers }, (_, r) => r);
  const outputDir = (rank: number) => (ranks.length > 1 ? join(outputRoot, `rank-${rank}`) : outputRoot);
  for (const r of ranks) await mkdir(outputDir(r), { recursive: true });
  await mkdir(checkpointDir, { recursive: true });

  const checkpointStore = openStore(spec.checkpoint.uri ?? defaultCheckpointUri(registryUri, spec.name, runId), { cwd });
  const checkpointUri = checkpointStore.uri;
  const sync = new CheckpointSync(checkpointStore, checkpointDir, log);
  const restored = (await sync.restore()) > 0;
  if (!restored) log.info("no checkpoint for this run; starting fresh", { checkpoint: checkpointUri });
  // One writer per location: rank 0 uploads, every rank restores.
  const isRank0 = ranks.includes(0);
  if (isRank0) sync.start(spec.checkpoint.intervalSeconds);

  const masterAddr = opts.worker?.masterAddr ?? "127.0.0.1";
  const masterPort = opts.worker ? (opts.worker.masterPort ?? spec.masterPort) : await freePort();
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
      cwd,
      env: trainerEnv({ runId, label: data.label, features: data.features, format: data.format, params: trainer.params, paths }),
      workers: spec.workers,
      gpusPerWorker: spec.gpusPerWorker,
      ranks,
      masterAddr,
      masterPort,
      outputDir,
      signal: opts.signal,
      logger: log,
      onProgress: (p) => reporter.update(p),
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
      `trainer exited with code 0 but wrote no model: expected ${join(dir, "model.onnx")}. Write the ONNX model to $MLOPS_OUTPUT_DIR/model.onnx${describeTail(lastLines)}`,
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

async function gateAndRegister(
  spec: TrainSpec,
  registry: Registry,
  data: Dataset,
  output: TrainerOutput,
  runId: string,
  resumedFromStep: number | undefined,
  cwd: string,
  log: Logger,
): Promise<TrainResult> {
  const scored = await scoreModel(output.model, data.holdout, spec.task);
  const metrics: Record<string, number> = { ...scored };
  for (const [k, v] of Object.entries(output.trainerMetrics)) metrics[`trainer_${k}`] = v;
  log.info("model scored on the holdout", scored);

  let baseline: TrainResult["baseline"];
  if (spec.gate.mustBeat) {
    const holder = await resolveAlias(registry, spec.model, spec.gate.mustBeat);
    if (!holder) {
      log.info(`no ${spec.model}@${spec.gate.mustBeat} yet: mustBeat passes (first model)`, { alias: spec.gate.mustBeat });
    } else {
      let theirs: Record<string, number>;
      try {
        theirs = await scoreModel(await registry.readArtifact(holder), data.holdout, spec.task);
      } catch (err) {
        const reason = `gate.mustBeat: ${spec.model}@${spec.gate.mustBeat} (version ${holder.version}) cannot be scored on this holdout (${(err as Error).message})`;
        log.warn("gate failed", { reason });
        return { runId, passed: false, reason, metrics, resumedFromStep };
      }
      baseline = { alias: spec.gate.mustBeat, version: holder.version, metrics: theirs };
      log.info(`${spec.gate.mustBeat} scored on the same holdout`, { version: holder.version, ...theirs });
    }
  }

  const decision = checkGate({ task: spec.task, gate: spec.gate, metrics, baseline });
  if (!decision.passed) {
    const reason = `gate failed: ${decision.failures.join("; ")}`;
    log.warn("gate failed; nothing registered, no alias moved", { reason });
    return { runId, passed: false, reason, metrics, baseline, resumedFromStep };
  }

  // Registered once per runId, even when two attempts of the same run race to this point.
  const again = await findRun(registry, spec.model, runId);
  if (again) return { runId, passed: true, metrics: { ...again.metrics }, baseline, version: again, resumedFromStep };

  const parentVersion = (await resolveAlias(registry, spec.model, spec.alias))?.version;
  const codeRevision = spec.lineage.codeRevision ?? (await gitRevision("command" in spec.trainer ? resolve(cwd, spec.trainer.cwd ?? ".") : cwd));
  const imageDigest = spec.lineage.imageDigest ?? process.env.MLOPS_IMAGE_DIGEST;
  const version = await registry.register(spec.model, output.model, {
    metrics: Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v))),
    params: registeredParams(spec),
    lineage: {
      datasetUri: data.uri,
      datasetDigest: data.digest,
      trainer: "builtin" in spec.trainer ? `builtin:${spec.trainer.builtin}` : spec.trainer.command.join(" "),
      runId,
      ...(codeRevision ? { codeRevision } : {}),
      ...(imageDigest ? { imageDigest } : {}),
      ...(parentVersion !== undefined ? { parentVersion } : {}),
    },
    alias: spec.alias,
  });
  log.info("model registered", { model: spec.model, version: version.version, alias: spec.alias, ...(parentVersion !== undefined ? { parentVersion } : {}), compareOn: spec.gate.mustBeat ? (spec.gate.compareOn ?? defaultCompareOn(spec.task)) : undefined });
  return { runId, passed: true, metrics, baseline, version, alias: spec.alias, resumedFromStep };
}

/** What reproduces the run: the trainer's params and the split. */
function registeredParams(spec: TrainSpec): Record<string, string> {
  const split = { holdoutFraction: String(spec.split.holdoutFraction), seed: String(spec.split.seed), workers: String(spec.workers) };
  if ("builtin" in spec.trainer) {
    return { l2: String(spec.trainer.l2), maxIterations: String(spec.trainer.maxIterations), tolerance: String(spec.trainer.tolerance), ...split };
  }
  return { ...spec.trainer.params, ...split };
}

/** The version registered by `runId`, if any. */
export async function findRun(registry: Registry, model: string, runId: string): Promise<ModelVersion | undefined> {
  return (await registry.list(model).catch(ifNotFound(undefined)))?.find((v) => v.lineage.runId === runId);
}

function resolveAlias(registry: Registry, model: string, alias: string): Promise<ModelVersion | undefined> {
  // A model or alias that does not exist yet is an answer here (first run, first model), not an error.
  return registry.resolve(`${model}@${alias}`).catch(ifNotFound(undefined));
}


async function gitRevision(cwd: string): Promise<string | undefined> {
  const r = await execa("git", ["rev-parse", "HEAD"], { cwd, reject: false, timeout: 5000, stdin: "ignore" });
  return r.exitCode === 0 && /^[0-9a-f]{40}$/.test(String(r.stdout).trim()) ? String(r.stdout).trim() : undefined;
}

function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new TrainingAbortedError("training was stopped (abort/SIGTERM) before the trainer started.");
}

