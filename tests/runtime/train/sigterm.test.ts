import { createInterface } from "node:readline";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa, type ResultPromise } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NotFoundError } from "../../../src/errors.js";
import { Registry } from "../../../src/registry/index.js";
import { parseTrainSpec, type TrainSpecInput } from "../../../src/spec/train.js";
import { runTraining } from "../../../runtime/train/index.js";
import { captureLogger, tempDir } from "./helpers.js";
import { wideTable, writeTableCsv } from "./wide-data.js";

const MLOPS = fileURLToPath(new URL("../../../bin/mlops.js", import.meta.url));
/** How long `mlops train` may take to exit after SIGTERM: a correctness bound (it must not finish the fit), not a speed claim. */
const STOP_BOUND_MS = 15_000;
const N = 300;
const D = 500;

/**
 * A fit that is still running whenever the signal comes, whatever the machine: a tolerance no float64
 * fit reaches keeps the solver stepping until maxIterations (100,000 steps: tens of minutes here with
 * the wide-data solver, days with the d×d Hessian).
 */
const ENDLESS = { builtin: "logistic-regression" as const, maxIterations: 100_000, tolerance: 1e-300 };

/** Resolves with the first line of `stream` that `match` accepts. */
function firstLine(stream: NodeJS.ReadableStream, match: (line: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    lines.on("line", (line) => {
      if (match(line)) {
        lines.removeAllListeners("line");
        resolve(line);
      }
    });
    lines.on("close", () => reject(new Error("the stream ended before the line came")));
  });
}

const isProgress = (line: string): boolean => {
  try {
    return (JSON.parse(line) as { msg?: string }).msg === "progress";
  } catch {
    return false;
  }
};

describe("the built-in trainer stopped by SIGTERM", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let child: ResultPromise | undefined;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    await writeTableCsv(join(dir, "wide.csv"), wideTable(N, D, 17));
  });
  afterEach(async () => {
    child?.kill("SIGKILL");
    await child?.catch(() => undefined);
    child = undefined;
    await cleanup();
  });

  const input = (trainer: TrainSpecInput["trainer"]): TrainSpecInput => ({
    name: "wide",
    runId: "wide-1",
    registry: `file://${join(dir, "registry")}`,
    model: "wide",
    dataset: { uri: `file://${join(dir, "wide.csv")}`, label: "label" },
    trainer,
  });
  const checkpointFile = () => join(dir, "registry", "checkpoints", "wide", "wide-1", "logistic-regression.json");

  /** Runs `mlops train` on the endless fit, sends SIGTERM once it reports progress, and waits for it to exit (bounded). */
  async function stopWithSigterm(): Promise<{ exitCode?: number; stdout: string; stderr: string; afterSignalMs: number } | "still running"> {
    const specFile = join(dir, "spec.json");
    await writeFile(specFile, JSON.stringify(input(ENDLESS)));
    child = execa(process.execPath, [MLOPS, "train", "--spec", specFile], {
      cwd: dir,
      reject: false,
      stdin: "ignore",
      // execa's own SIGKILL 5 s after a kill() would end a process that ignores SIGTERM, hiding the defect.
      forceKillAfterDelay: false,
    });
    await firstLine(child.stderr!, isProgress);
    const sent = Date.now();
    child.kill("SIGTERM");
    const bound = new Promise<"still running">((r) => setTimeout(() => r("still running"), STOP_BOUND_MS).unref());
    const exited = await Promise.race([child, bound]);
    if (exited === "still running") return exited;
    return { exitCode: exited.exitCode, stdout: String(exited.stdout), stderr: String(exited.stderr), afterSignalMs: Date.now() - sent };
  }

  it("checkpoints and exits 143 within seconds of `mlops train` getting SIGTERM, registering nothing", async () => {
    const exited = await stopWithSigterm();
    expect(exited, `mlops train was still fitting ${STOP_BOUND_MS / 1000} s after SIGTERM`).not.toBe("still running");
    if (exited === "still running") return;
    expect(exited.afterSignalMs).toBeLessThan(STOP_BOUND_MS);
    expect(exited.exitCode, exited.stderr).toBe(143);
    expect(exited.stderr).toMatch(/stopped: training was stopped \(abort\/SIGTERM\) before the trainer finished; its checkpoint is kept/);
    expect(exited.stdout).toBe(""); // no result: nothing registered

    const registry = await Registry.open(`file://${join(dir, "registry")}`);
    await expect(registry.list("wide")).rejects.toBeInstanceOf(NotFoundError);
    await expect(registry.aliases("wide")).rejects.toBeInstanceOf(NotFoundError);
    const saved = JSON.parse(await readFile(checkpointFile(), "utf8")) as { iteration: number; theta: number[] };
    expect(saved.iteration).toBeGreaterThanOrEqual(0);
    expect(saved.theta).toHaveLength(D + 1);
  }, 120_000);

  it("resumes a stopped run from its checkpoint on a re-run with the same runId", async () => {
    expect(await stopWithSigterm()).toMatchObject({ exitCode: 143 });
    const saved = JSON.parse(await readFile(checkpointFile(), "utf8")) as { iteration: number };

    const { logger, records } = captureLogger();
    const resumed = await runTraining(parseTrainSpec(input({ builtin: "logistic-regression" })), { logger, progress: "none" });
    expect(resumed.resumedFromStep).toBe(saved.iteration);
    expect(records().map((r) => r.msg)).toContain(`resuming the built-in trainer at iteration ${saved.iteration}`);
    expect(resumed.status).toBe("registered");
  }, 120_000);
});
