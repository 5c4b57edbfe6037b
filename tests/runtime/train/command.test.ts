import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MlopsError, NotFoundError } from "../../../src/errors.js";
import { Registry } from "../../../src/registry/index.js";
import { runTraining, TrainerError } from "../../../runtime/train/index.js";
import { buildApp } from "../../../runtime/serve/app.js";
import { parseEndpointSpec } from "../../../src/spec/endpoint.js";
import { silentLogger } from "../../../src/log.js";
import { captureLogger, dataDir, PYTHON, specIn, TRAINERS } from "./helpers.js";

describe("command trainer", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await dataDir()));
  afterEach(() => cleanup());

  const numpyTrainer = { command: [PYTHON, join(TRAINERS, "numpy_logreg.py")], params: { epochs: "150", learning_rate: "0.5" } };

  it("trains a real Python program on the staged data, registers it and moves the alias", async () => {
    const { logger, records } = captureLogger();
    const result = await runTraining(specIn(dir, { trainer: numpyTrainer, alias: "champion" }), { logger, progress: "json" });
    expect(result.status).toBe("registered");
    const msgs = records().map((r) => String(r.msg));
    expect(msgs.some((m) => /^staged data: .*train\.csv rows=1600 features=x1,x2,x3,x4 label=label$/.test(m))).toBe(true);
    expect(msgs).toContain('params: {"epochs": "150", "learning_rate": "0.5"}');
    const registry = await Registry.open(`file://${join(dir, "registry")}`);
    const mv = await registry.resolve("fraud@champion");
    expect(mv.version).toBe(result.version!.version);
    expect(mv.lineage.trainer).toBe(`${PYTHON} ${join(TRAINERS, "numpy_logreg.py")}`);
  });

  it("scores the model itself and keeps the trainer's own numbers as trainer_*", async () => {
    const result = await runTraining(specIn(dir, { trainer: numpyTrainer }), { logger: captureLogger().logger, progress: "none" });
    // The fixture claims auc 0.999; the runtime's own holdout score is what the gate sees.
    expect(result.metrics.trainer_auc).toBe(0.999);
    expect(result.metrics.auc).toBeLessThan(0.95);
    expect(result.metrics.auc).toBeGreaterThan(0.75);
    expect(result.version!.metrics).toMatchObject({ auc: result.metrics.auc, trainer_loss: result.metrics.trainer_loss });
  });

  it("serves the registered model: mlops serve loads fraud@challenger and answers OIP infer", async () => {
    const result = await runTraining(specIn(dir, { trainer: numpyTrainer }), { logger: captureLogger().logger, progress: "none" });
    const registry = await Registry.open(`file://${join(dir, "registry")}`);
    expect(result.version!.signature.inputs[0]).toMatchObject({ name: "input", datatype: "FP32", shape: [-1, 4] });
    const spec = parseEndpointSpec({ name: "fraud", model: "fraud@challenger", registry: registry.uri });
    const app = await buildApp({ spec, registry, logger: silentLogger });
    try {
      const res = await app.inject({
        method: "POST",
        url: "/v2/models/fraud/infer",
        body: { inputs: [{ name: "input", datatype: "FP32", shape: [2, 4], data: [3, -2, 0, 0, -3, 2, 0, 0] }] },
      });
      expect(res.status, res.body).toBe(200);
      const body = res.json();
      expect(body.model_version).toBe(String(result.version!.version));
      const p = body.outputs[0].data as number[];
      expect(p[0]).toBeGreaterThan(0.9); // x1 pushes towards class 1, x2 away
      expect(p[1]).toBeLessThan(0.1);
    } finally {
      await app.close();
    }
  });

  it("fails when the trainer exits non-zero, with the exit code and its last lines", async () => {
    const script = "import sys\nfor i in range(30): print(f'line {i}')\nprint('boom: out of memory', file=sys.stderr)\nsys.exit(3)";
    const err = await runTraining(specIn(dir, { trainer: { command: [PYTHON, "-c", script] } }), { logger: captureLogger().logger, progress: "none" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainerError);
    expect((err as TrainerError).exitCode).toBe(3);
    expect((err as Error).message).toMatch(/trainer exited with code 3/);
    expect((err as Error).message).toContain("boom: out of memory");
    expect((err as TrainerError).lastLines).toHaveLength(20);
    expect((err as Error).message).not.toContain("line 5\n");
  });

  it("fails when the trainer writes no model.onnx, saying where it was expected", async () => {
    const err = await runTraining(specIn(dir, { trainer: { command: [PYTHON, "-c", "print('trained, forgot to save')"] } }), { logger: captureLogger().logger, progress: "none" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlopsError);
    expect((err as Error).message).toMatch(/exited with code 0 but wrote no model: expected .*model\.onnx.*\$MLOPS_OUTPUT_DIR\/model\.onnx/s);
    expect((err as Error).message).toContain("trained, forgot to save");
    const registry = await Registry.open(`file://${join(dir, "registry")}`);
    await expect(registry.list("fraud")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("fails when the trainer runs past timeoutSeconds", async () => {
    const spec = specIn(dir, { trainer: { command: [PYTHON, "-c", "import time; print('working', flush=True); time.sleep(30)"], timeoutSeconds: 1 } });
    await expect(runTraining(spec, { logger: captureLogger().logger, progress: "none" })).rejects.toThrow(/ran past trainer.timeoutSeconds \(1\)/);
  });

  it("fails when the program does not exist", async () => {
    const spec = specIn(dir, { trainer: { command: ["/nonexistent/train"] } });
    await expect(runTraining(spec, { logger: captureLogger().logger, progress: "none" })).rejects.toThrow(/could not start: "\/nonexistent\/train" was not found/);
  });

  it("fails when the label column does not exist, naming it", async () => {
    const spec = specIn(dir, { trainer: numpyTrainer, dataset: { uri: `file://${join(dir, "data.csv")}`, label: "fraud" } });
    await expect(runTraining(spec, { logger: captureLogger().logger, progress: "none" })).rejects.toThrow(/dataset.label: no column named "fraud"/);
  });
});
