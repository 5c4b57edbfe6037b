import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTraining, type TrainResult } from "../../../runtime/train/index.js";
import { captureLogger, dataDir, PYTHON, specIn, TRAINERS } from "./helpers.js";

describe("distributed command trainer (torch.distributed, gloo on CPU)", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let result: TrainResult;
  let records: Array<Record<string, unknown>>;
  beforeAll(async () => {
    ({ dir, cleanup } = await dataDir());
    const capture = captureLogger();
    const spec = specIn(dir, {
      trainer: { command: [PYTHON, join(TRAINERS, "ddp.py")], params: { epochs: "100" }, timeoutSeconds: 120 },
      workers: 2,
    });
    result = await runTraining(spec, { logger: capture.logger, progress: "json" });
    records = capture.records();
  }, 150_000);
  afterAll(() => cleanup());

  const linesOf = (rank: number) => records.filter((r) => r.rank === rank).map((r) => String(r.msg));

  it("starts both ranks in one world through the env:// contract", () => {
    expect(linesOf(0).some((m) => /^rank 0 joined world_size=2 master=127\.0\.0\.1:\d+ local_rank=0$/.test(m))).toBe(true);
    expect(linesOf(1).some((m) => /^rank 1 joined world_size=2 master=127\.0\.0\.1:\d+ local_rank=0$/.test(m))).toBe(true);
  });

  it("all-reduces across both ranks", () => {
    expect(linesOf(0)).toContain("rank 0 all_reduce sum=3 ok");
    expect(linesOf(1)).toContain("rank 1 all_reduce sum=3 ok");
  });

  it("collects rank 0's model, scores it and registers it", () => {
    expect(linesOf(0)).toContain("rank 0 wrote model.onnx");
    expect(result.status).toBe("registered");
    expect(result.metrics.trainer_world_size).toBe(2);
    expect(result.metrics.auc).toBeGreaterThan(0.75);
    expect(result.version!.params.workers).toBe("2");
  });
});

describe("distributed command trainer failures", () => {
  it("fails when one rank fails, stopping the others and naming the rank", async () => {
    const { dir, cleanup } = await dataDir({ rows: 200 });
    try {
      // Rank 0 would wait forever for a peer that is gone: the runtime must stop it.
      const script = "import os, sys, time\nif os.environ['RANK'] == '1':\n    print('rank 1 cannot reach the data', flush=True); sys.exit(4)\ntime.sleep(60)";
      const spec = specIn(dir, { trainer: { command: [PYTHON, "-c", script] }, workers: 2 });
      const started = Date.now();
      await expect(runTraining(spec, { logger: captureLogger().logger, progress: "none" })).rejects.toThrow(/trainer rank 1 exited with code 4[\s\S]*rank 1 cannot reach the data/);
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      await cleanup();
    }
  });
});
