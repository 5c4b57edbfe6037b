import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Registry } from "../../../src/registry/index.js";
import { runTraining } from "../../../runtime/train/index.js";
import { captureLogger, dataDir, specIn } from "./helpers.js";

describe("runTraining with the built-in trainer", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await dataDir()));
  afterEach(() => cleanup());

  it("registers the model with holdout metrics and moves the challenger alias by default", async () => {
    const { logger } = captureLogger();
    const result = await runTraining(specIn(dir, { trainer: { builtin: "logistic-regression" } }), { logger, progress: "none" });
    expect(result.status).toBe("registered");
    expect(result.alias).toBe("challenger");
    expect(result.metrics.auc).toBeGreaterThan(0.75);
    const registry = await Registry.open(`file://${join(dir, "registry")}`);
    expect((await registry.resolve("fraud@challenger")).version).toBe(result.version!.version);
  });

  it("records lineage: dataset digest, trainer, run id and params", async () => {
    const result = await runTraining(specIn(dir, { trainer: { builtin: "logistic-regression", l2: 2 }, runId: "run-1" }), { logger: captureLogger().logger, progress: "none" });
    expect(result.version!.lineage).toMatchObject({
      datasetUri: `file://${join(dir, "data.csv")}`,
      trainer: "builtin:logistic-regression",
      runId: "run-1",
    });
    expect(result.version!.lineage.datasetDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(result.version!.params).toMatchObject({ l2: "2", holdoutFraction: "0.2", seed: "42" });
  });

  it("takes the code revision and image digest from spec.lineage", async () => {
    const spec = specIn(dir, { trainer: { builtin: "logistic-regression" }, lineage: { codeRevision: "abc123", imageDigest: "sha256:feed" } });
    const result = await runTraining(spec, { logger: captureLogger().logger, progress: "none" });
    expect(result.version!.lineage).toMatchObject({ codeRevision: "abc123", imageDigest: "sha256:feed" });
  });

  it("reads the code revision from git when the spec has none", async () => {
    const { execa } = await import("execa");
    await execa("git", ["init", "-q", dir]);
    await execa("git", ["-C", dir, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "x"]);
    const head = (await execa("git", ["-C", dir, "rev-parse", "HEAD"])).stdout.trim();
    const result = await runTraining(specIn(dir, { trainer: { builtin: "logistic-regression" } }), { logger: captureLogger().logger, progress: "none", cwd: dir });
    expect(result.version!.lineage.codeRevision).toBe(head);
  });

  it("sets parentVersion to the version the alias pointed to before", async () => {
    const opts = { logger: captureLogger().logger, progress: "none" as const };
    const first = await runTraining(specIn(dir, { trainer: { builtin: "logistic-regression" } }), opts);
    const second = await runTraining(specIn(dir, { trainer: { builtin: "logistic-regression", l2: 3 } }), opts);
    expect(second.version!.lineage.parentVersion).toBe(first.version!.version);
  });

  it("answers registered with the earlier version, without training again, for a runId already registered", async () => {
    const opts = { logger: captureLogger().logger, progress: "none" as const };
    const first = await runTraining(specIn(dir, { trainer: { builtin: "logistic-regression" }, runId: "run-1" }), opts);
    const again = await runTraining(specIn(dir, { trainer: { builtin: "logistic-regression" }, runId: "run-1" }), opts);
    expect(again).toMatchObject({ status: "registered", reason: "already registered as fraud:1 by this runId" });
    expect(again.version!.version).toBe(first.version!.version);
  });

  it("logs progress as JSON lines when not on a terminal", async () => {
    const { logger, records } = captureLogger();
    await runTraining(specIn(dir, { trainer: { builtin: "logistic-regression" } }), { logger, progress: "json" });
    expect(records().some((r) => r.msg === "progress" && typeof r.step === "number")).toBe(true);
  });

  it("fails when the built-in classifier is asked for regression", async () => {
    const spec = specIn(dir, { trainer: { builtin: "logistic-regression" }, task: "regression" });
    await expect(runTraining(spec, { logger: captureLogger().logger, progress: "none" })).rejects.toThrow(/cannot fit task "regression"/);
  });
});
