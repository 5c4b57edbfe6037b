import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/log.js";
import { Registry } from "../../../src/registry/index.js";
import { renderTrainSpec, TRAIN_SPEC_ENV } from "../../../src/spec/train.js";
import { openStore } from "../../../src/store/index.js";
import { CheckpointSync, runTraining, TrainingAbortedError } from "../../../runtime/train/index.js";
import { captureLogger, dataDir, PYTHON, specIn, tempDir, TRAINERS } from "./helpers.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** Polls the stored checkpoint until it reaches `atLeast` steps (bounded). */
async function waitForStoredStep(stateFile: string, atLeast: number, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const step = await storedStep(stateFile);
    if (step >= atLeast) return step;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`checkpoint ${stateFile} did not reach step ${atLeast} in ${timeoutMs} ms`);
}

async function storedStep(stateFile: string): Promise<number> {
  try {
    return (JSON.parse(await readFile(stateFile, "utf8")) as { step: number }).step;
  } catch {
    return 0;
  }
}

describe("checkpoint resume", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await dataDir({ rows: 500 })));
  afterEach(() => cleanup());

  const spec = (runId: string, steps = 30) =>
    specIn(dir, {
      runId,
      trainer: { command: [PYTHON, join(TRAINERS, "checkpointed.py")], params: { steps: String(steps) } },
      checkpoint: { intervalSeconds: 0.2 },
    });
  const stateFile = (runId: string) => join(dir, "registry", "checkpoints", "fraud", runId, "state.json");

  it("resumes an aborted run from its checkpoint and registers it once", async () => {
    const controller = new AbortController();
    const first = runTraining(spec("run-a"), { logger: silentLogger, progress: "none", signal: controller.signal });
    await waitForStoredStep(stateFile("run-a"), 5);
    controller.abort();
    await expect(first).rejects.toBeInstanceOf(TrainingAbortedError);
    const saved = await storedStep(stateFile("run-a"));
    expect(saved).toBeGreaterThanOrEqual(5);
    expect(saved).toBeLessThan(30);

    const { logger, records } = captureLogger();
    const second = await runTraining(spec("run-a"), { logger, progress: "none" });
    expect(second.resumedFromStep).toBe(saved);
    expect(records().map((r) => r.msg)).toContain(`resuming at step ${saved}`);
    expect(second.status).toBe("registered");

    const third = await runTraining(spec("run-a"), { logger: silentLogger, progress: "none" });
    expect(third.version!.version).toBe(second.version!.version);
    const registry = await Registry.open(`file://${join(dir, "registry")}`);
    const versions = await registry.list("fraud");
    expect(versions.map((v) => v.lineage.runId)).toEqual(["run-a"]);
  });

  it("resumes after the runtime process itself is sent SIGTERM", async () => {
    const child = execa(process.execPath, ["--import", "tsx", join(TRAINERS, "train_from_env.ts")], {
      cwd: ROOT,
      env: { [TRAIN_SPEC_ENV]: renderTrainSpec({ ...spec("run-b") }) },
      reject: false,
      timeout: 60_000,
    });
    await waitForStoredStep(stateFile("run-b"), 5, 30_000);
    child.kill("SIGTERM");
    const exited = await child;
    expect(exited.exitCode, exited.stderr).toBe(143);
    expect(exited.stderr).toMatch(/training was stopped \(abort\/SIGTERM\) before the trainer finished/);
    const saved = await storedStep(stateFile("run-b"));
    expect(saved).toBeGreaterThanOrEqual(5);

    const resumed = await runTraining(spec("run-b"), { logger: silentLogger, progress: "none" });
    expect(resumed.resumedFromStep).toBe(saved);
    const registry = await Registry.open(`file://${join(dir, "registry")}`);
    expect(await registry.list("fraud")).toHaveLength(1);
  });

  it("starts fresh when the run id has no checkpoint", async () => {
    const { logger, records } = captureLogger();
    const result = await runTraining(spec("run-c", 3), { logger, progress: "none" });
    expect(result.resumedFromStep).toBeUndefined();
    expect(records().map((r) => r.msg)).toContain("starting at step 0");
  });
});

describe("CheckpointSync", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it("uploads new and changed files and removes deleted ones", async () => {
    const store = openStore(`file://${join(dir, "store")}`);
    const local = join(dir, "ckpt");
    await mkdir(join(local, "shards"), { recursive: true });
    const sync = new CheckpointSync(store, local, silentLogger);
    await writeFile(join(local, "a.pt"), "one");
    await writeFile(join(local, "shards", "b.pt"), "two");
    expect(await sync.sync()).toBe(2);
    expect(await sync.sync()).toBe(0);
    await rm(join(local, "a.pt"));
    await writeFile(join(local, "shards", "b.pt"), "three!");
    expect(await sync.sync()).toBe(1);
    expect(await store.list("")).toEqual(["shards/b.pt"]);
    expect((await store.get("shards/b.pt"))!.toString()).toBe("three!");
  });

  it("restores every stored file into the folder", async () => {
    const store = openStore(`file://${join(dir, "store")}`);
    await store.put("state.json", '{"step":7}');
    await store.put("shards/0.pt", "x");
    const local = join(dir, "restored");
    expect(await new CheckpointSync(store, local, silentLogger).restore()).toBe(2);
    expect(await readFile(join(local, "state.json"), "utf8")).toBe('{"step":7}');
    expect(await readFile(join(local, "shards", "0.pt"), "utf8")).toBe("x");
  });

  it("leaves the runtime's own .mlops/ keys alone: never restored to the trainer, never overwritten or deleted", async () => {
    const store = openStore(`file://${join(dir, "store")}`);
    await store.put(".mlops/training-sets/run-1.json", '{"version":1}');
    await store.put("state.json", "{}");
    const local = join(dir, "restored");
    const sync = new CheckpointSync(store, local, silentLogger);
    expect(await sync.restore()).toBe(1);
    await mkdir(join(local, ".mlops", "training-sets"), { recursive: true });
    await writeFile(join(local, ".mlops", "training-sets", "run-1.json"), "the trainer's");
    await rm(join(local, "state.json"));
    await sync.sync();
    expect(await store.list("")).toEqual([".mlops/training-sets/run-1.json"]);
    expect((await store.get(".mlops/training-sets/run-1.json"))!.toString()).toBe('{"version":1}');
  });
});
