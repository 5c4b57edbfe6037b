import { createInterface } from "node:readline";
import { execa, type ResultPromise } from "execa";
import { MlopsError } from "../../src/errors.js";
import type { Logger } from "../../src/log.js";
import { paramEnvName, TRAINER_ENV } from "../../src/spec/env.js";
import type { TrainSpec } from "../../src/spec/train.js";
import { distributedEnv } from "./distributed.js";
import { parseProgressLine, type Progress } from "./progress.js";

/** How many of a failed trainer's last output lines the error carries. */
export const TAIL_LINES = 20;

/** `; its last N lines:` and the lines, or `; it printed nothing`: the end of a trainer error message. */
export function describeTail(tail: readonly string[]): string {
  return tail.length ? `; its last ${tail.length} lines:\n${tail.map((l) => `  | ${l}`).join("\n")}` : "; it printed nothing";
}

/** A trainer program failed: its exit code (or signal) and the last lines it printed. */
export class TrainerError extends MlopsError {
  constructor(
    message: string,
    readonly exitCode: number | undefined,
    readonly lastLines: readonly string[],
    readonly signal?: string,
  ) {
    super(message);
  }
}

/** The run was stopped from outside (abort signal, SIGTERM) before the trainer finished. */
export class TrainingAbortedError extends MlopsError {}

/** Paths the runtime hands a command trainer. */
export interface TrainerPaths {
  readonly dataDir: string;
  readonly trainData: string;
  readonly holdoutData: string;
  readonly outputDir: string;
  readonly checkpointDir: string;
}

/** `MLOPS_PARAM_<KEY>`, from the contract in src/spec/env.ts (the TrainingJob component renders the same names). */
export { paramEnvName };

/**
 * The environment contract of a command trainer (the same on the embedded default and in a Kubernetes
 * pod): where the data, output and checkpoint folders are, the label and features, the params.
 */
export function trainerEnv(opts: {
  readonly runId: string;
  readonly label: string;
  readonly features: readonly string[];
  readonly format: "csv" | "parquet";
  readonly params: Readonly<Record<string, string>>;
  readonly paths: TrainerPaths;
}): Record<string, string> {
  const env: Record<string, string> = {
    [TRAINER_ENV.runId]: opts.runId,
    [TRAINER_ENV.dataDir]: opts.paths.dataDir,
    [TRAINER_ENV.dataFormat]: opts.format,
    [TRAINER_ENV.trainData]: opts.paths.trainData,
    [TRAINER_ENV.holdoutData]: opts.paths.holdoutData,
    [TRAINER_ENV.outputDir]: opts.paths.outputDir,
    [TRAINER_ENV.checkpointDir]: opts.paths.checkpointDir,
    [TRAINER_ENV.label]: opts.label,
    [TRAINER_ENV.features]: opts.features.join(","),
    [TRAINER_ENV.params]: JSON.stringify(opts.params),
  };
  for (const [k, v] of Object.entries(opts.params)) env[paramEnvName(k)] = v;
  return env;
}

export interface RunTrainerOptions {
  readonly trainer: Extract<TrainSpec["trainer"], { command: string[] }>;
  /** Working directory when the spec names none. */
  readonly cwd: string;
  /** {@link trainerEnv} without the per-rank output folder. */
  readonly env: Record<string, string>;
  readonly workers: number;
  readonly gpusPerWorker: number;
  /** The ranks to start here: all of them locally, one per pod on Kubernetes. */
  readonly ranks: readonly number[];
  readonly masterAddr: string;
  readonly masterPort: number;
  /** Output folder of each rank (each gets its own: locally they share one file system). */
  readonly outputDir: (rank: number) => string;
  readonly signal?: AbortSignal;
  readonly logger: Logger;
  /** Progress reports parsed from the lowest rank's output. */
  readonly onProgress?: (p: Progress) => void;
  /** Grace period between SIGTERM and SIGKILL. @default 10000 */
  readonly killAfterMs?: number;
}

/**
 * Runs the trainer program once per rank with the env contract (plus the `torch.distributed` variables
 * when `workers > 1`), streams each line to the log, and resolves when every rank exited 0. The first
 * rank to fail stops the others (they would otherwise wait forever in a collective) and the error carries
 * its exit code and last lines. The spec's `timeoutSeconds` bounds each process.
 */
export async function runTrainerProcesses(opts: RunTrainerOptions): Promise<{ lastLines: readonly string[] }> {
  const [file, ...args] = opts.trainer.command as [string, ...string[]];
  const progressRank = Math.min(...opts.ranks);
  const tails = new Map<number, string[]>();
  const children: Array<{ rank: number; proc: ResultPromise }> = [];
  for (const rank of opts.ranks) {
    const env: Record<string, string> = {
      PYTHONUNBUFFERED: "1",
      ...opts.trainer.env,
      ...opts.env,
      [TRAINER_ENV.outputDir]: opts.outputDir(rank),
      ...(opts.workers > 1
        ? distributedEnv({ workers: opts.workers, rank, masterAddr: opts.masterAddr, masterPort: opts.masterPort, gpusPerWorker: opts.gpusPerWorker })
        : {}),
    };
    const proc = execa(file, args, {
      cwd: opts.trainer.cwd ?? opts.cwd,
      env,
      extendEnv: true,
      stdin: "ignore",
      buffer: false,
      reject: false,
      timeout: opts.trainer.timeoutSeconds * 1000,
      killSignal: "SIGTERM",
      forceKillAfterDelay: opts.killAfterMs ?? 10_000,
      cancelSignal: opts.signal,
    });
    const tail: string[] = [];
    tails.set(rank, tail);
    const log = opts.workers > 1 ? opts.logger.child({ rank }) : opts.logger;
    for (const [stream, readable] of [["stdout", proc.stdout], ["stderr", proc.stderr]] as const) {
      if (!readable) continue;
      createInterface({ input: readable, crlfDelay: Infinity }).on("line", (line) => {
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
        const progress = parseProgressLine(line);
        if (progress) {
          if (rank === progressRank) opts.onProgress?.(progress);
          return;
        }
        log.info(line, { stream });
      });
    }
    children.push({ rank, proc });
  }

  let firstFailure: TrainerError | undefined;
  await Promise.all(
    children.map(async ({ rank, proc }) => {
      const result = await proc;
      if (!result.failed || firstFailure) return;
      if (result.isCanceled) return;
      firstFailure = failure(opts, rank, result, tails.get(rank) ?? []);
      for (const other of children) if (other.proc !== proc) other.proc.kill("SIGTERM");
    }),
  );
  if (opts.signal?.aborted) throw new TrainingAbortedError("training was stopped (abort/SIGTERM) before the trainer finished; its checkpoint is kept for a re-run with the same runId.");
  if (firstFailure) throw firstFailure;
  return { lastLines: tails.get(progressRank) ?? [] };
}

interface Outcome {
  exitCode?: number;
  signal?: string;
  timedOut: boolean;
  code?: string;
  shortMessage?: string;
}

function failure(opts: RunTrainerOptions, rank: number, result: Outcome, tail: readonly string[]): TrainerError {
  const who = opts.workers > 1 ? `trainer rank ${rank}` : "trainer";
  const cmd = opts.trainer.command.join(" ");
  let what: string;
  if (result.code === "ENOENT") {
    what = `${who} could not start: ${JSON.stringify(opts.trainer.command[0])} was not found. Fix trainer.command (received ${JSON.stringify(cmd)})`;
  } else if (result.timedOut) {
    what = `${who} ran past trainer.timeoutSeconds (${opts.trainer.timeoutSeconds}) and was stopped. Raise the timeout or make the program faster`;
  } else if (result.exitCode !== undefined) {
    what = `${who} exited with code ${result.exitCode} (${cmd})`;
  } else {
    what = `${who} was killed by ${result.signal ?? "a signal"} (${cmd})`;
  }
  return new TrainerError(`${what}${describeTail(tail)}`, result.exitCode, tail, result.signal);
}
