import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { Registry } from "../../src/registry/index.js";
import { mlops } from "../helpers/cli.js";

it("the main job trains, gates, registers, serves, promotes and exits with --exit", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mlops-demo-"));
  try {
    const registryUri = `file://${dir}/registry`;
    const r = await mlops(["demo", "--exit", "--port", "0", "--registry", registryUri], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/registered the example model\s+breast-cancer:1/);
    expect(r.stdout).toMatch(/holdout: auc 0\.9\d+/);
    expect(r.stdout).toMatch(/predictions from version 1:/);
    expect(r.stdout).toMatch(/P\(malignant\) = [01]\.\d{4}/);
    expect(r.stdout).toMatch(/promoted breast-cancer:2 to champion/);
    expect(r.stdout).toMatch(/predictions from version 2:/);
    expect(r.stdout).toMatch(/curl -s http:\/\/127\.0\.0\.1:\d+\/v2\/models\/breast-cancer\/infer/);
    expect(r.stdout).toMatch(/\d+ requests ok, 0 failed/);
    const registry = await Registry.open(registryUri);
    expect(await registry.aliases("breast-cancer")).toEqual({ champion: 2, challenger: 2 });
    const trained = await registry.get("breast-cancer", 2);
    expect(trained.lineage.datasetDigest).toMatch(/^sha256:|^[0-9a-f]{64}$/);
    expect(trained.metrics.auc).toBeGreaterThan(0.95);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
