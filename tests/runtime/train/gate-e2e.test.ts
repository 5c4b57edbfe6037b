import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NotFoundError } from "../../../src/errors.js";
import { Registry } from "../../../src/registry/index.js";
import { runTraining } from "../../../runtime/train/index.js";
import { captureLogger, dataDir, specIn } from "./helpers.js";

/** A heavily regularized model is worse on log loss than a lightly regularized one, on the same data. */
const WEAK = { builtin: "logistic-regression" as const, l2: 1e5 };
const GOOD = { builtin: "logistic-regression" as const, l2: 1 };

describe("evaluation gate, end to end", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let registry: Registry;
  const opts = () => ({ logger: captureLogger().logger, progress: "none" as const });
  beforeEach(async () => {
    ({ dir, cleanup } = await dataDir());
    registry = await Registry.open(`file://${join(dir, "registry")}`);
  });
  afterEach(() => cleanup());

  it("registers nothing and moves no alias when a metric is below the minimum", async () => {
    const result = await runTraining(specIn(dir, { trainer: GOOD, gate: { minimum: { auc: 0.999 } } }), opts());
    expect(result.status).toBe("gate-failed");
    expect(result.reason).toMatch(/auc 0\.\d+ is below the minimum 0\.999/);
    expect(result.version).toBeUndefined();
    await expect(registry.list("fraud")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("passes mustBeat for the first model, saying so in the log", async () => {
    const { logger, records } = captureLogger();
    const result = await runTraining(specIn(dir, { trainer: GOOD, gate: { mustBeat: "champion" }, alias: "champion" }), { logger, progress: "none" });
    expect(result.status).toBe("registered");
    expect(records().some((r) => /no fraud@champion yet: mustBeat passes \(first model\)/.test(String(r.msg)))).toBe(true);
  });

  it("moves no alias when the model is worse than the champion on the same holdout", async () => {
    const champion = await runTraining(specIn(dir, { trainer: GOOD, alias: "champion" }), opts());
    const result = await runTraining(specIn(dir, { trainer: WEAK, gate: { mustBeat: "champion", compareOn: "logLoss" } }), opts());
    expect(result.status).toBe("gate-failed");
    expect(result.reason).toMatch(/logLoss .* does not beat champion \(version 1\)/);
    expect(result.baseline).toMatchObject({ alias: "champion", version: champion.version!.version });
    expect(await registry.aliases("fraud")).toEqual({ champion: 1 });
    expect(await registry.list("fraud")).toHaveLength(1);
  });

  it("registers and moves the alias when the model beats the champion", async () => {
    await runTraining(specIn(dir, { trainer: WEAK, alias: "champion" }), opts());
    const result = await runTraining(specIn(dir, { trainer: GOOD, gate: { mustBeat: "champion", compareOn: "logLoss" }, alias: "champion" }), opts());
    expect(result.status).toBe("registered");
    expect(result.metrics.logLoss).toBeLessThan(result.baseline!.metrics.logLoss!);
    expect(await registry.aliases("fraud")).toEqual({ champion: 2 });
    expect(result.version!.lineage.parentVersion).toBe(1);
  });
});
