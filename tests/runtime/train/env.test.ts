import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MlopsError } from "../../../src/errors.js";
import { silentLogger } from "../../../src/log.js";
import { renderTrainSpec, TRAIN_SPEC_ENV, type TrainSpecInput } from "../../../src/spec/train.js";
import { freePort } from "../../../src/net.js";
import { trainFromEnv } from "../../../runtime/train/index.js";
import { captureLogger, dataDir, PYTHON, TRAINERS } from "./helpers.js";

describe("trainFromEnv", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let base: TrainSpecInput;
  beforeEach(async () => {
    ({ dir, cleanup } = await dataDir({ rows: 600 }));
    base = {
      name: "fraud",
      registry: `file://${join(dir, "registry")}`,
      model: "fraud",
      dataset: { uri: `file://${join(dir, "data.csv")}`, label: "label", exclude: ["id"] },
      trainer: { builtin: "logistic-regression" },
    };
  });
  afterEach(() => cleanup());

  it("trains the spec rendered into MLOPS_TRAIN_SPEC, with MLOPS_RUN_ID as the run id", async () => {
    const result = await trainFromEnv({ [TRAIN_SPEC_ENV]: renderTrainSpec(base), MLOPS_RUN_ID: "nightly-42" }, { logger: silentLogger, progress: "none" });
    expect(result.runId).toBe("nightly-42");
    expect(result.version!.lineage.runId).toBe("nightly-42");
  });

  it("fails when MLOPS_TRAIN_SPEC is not set", async () => {
    await expect(trainFromEnv({}, { logger: silentLogger })).rejects.toThrow(/MLOPS_TRAIN_SPEC: is not set/);
  });

  it("fails naming the bad field of the spec", async () => {
    const err = await trainFromEnv({ [TRAIN_SPEC_ENV]: JSON.stringify({ ...base, workers: 0 }) }, { logger: silentLogger }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlopsError);
    expect((err as Error).message).toMatch(/MLOPS_TRAIN_SPEC: 1 invalid value[\s\S]*workers/);
  });

  it("fails when MLOPS_TRAIN_SPEC is not JSON", async () => {
    await expect(trainFromEnv({ [TRAIN_SPEC_ENV]: "name: fraud" }, { logger: silentLogger })).rejects.toThrow(/MLOPS_TRAIN_SPEC: is not JSON/);
  });

  it("runs one rank per pod as an Indexed Job does; rank 0 registers", async () => {
    const spec = renderTrainSpec({ ...base, workers: 2, trainer: { command: [PYTHON, join(TRAINERS, "ddp.py")], params: { epochs: "50" }, timeoutSeconds: 120 } });
    const port = String(await freePort());
    const pod = (index: number) => {
      const capture = captureLogger();
      const env = { [TRAIN_SPEC_ENV]: spec, MLOPS_RUN_ID: "job-7", JOB_COMPLETION_INDEX: String(index), MASTER_ADDR: "127.0.0.1", MASTER_PORT: port };
      return { capture, done: trainFromEnv(env, { logger: capture.logger, progress: "none" }) };
    };
    const [rank0, rank1] = [pod(0), pod(1)];
    const [r0, r1] = await Promise.all([rank0.done, rank1.done]);
    expect(rank1.capture.records().map((r) => r.msg)).toContain("rank 1 all_reduce sum=3 ok");
    expect(r1).toMatchObject({ status: "worker-done", reason: "rank 1: rank 0 evaluates and registers" });
    expect(r1.version).toBeUndefined();
    expect(r0.version!.lineage.runId).toBe("job-7");
  }, 120_000);
});
