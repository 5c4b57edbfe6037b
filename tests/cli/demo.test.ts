import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { Registry } from "../../src/registry/index.js";
import { mlops } from "../helpers/cli.js";
import { generateFraud } from "../../cli/demo-features.js";

it("the main job trains, gates, registers, serves, promotes, runs the features phase and exits with --exit", async () => {
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
    // The drift phase retrained on drift and registered breast-cancer:3 as challenger; the champion stayed.
    expect(await registry.aliases("breast-cancer")).toEqual({ champion: 2, challenger: 3 });
    const trained = await registry.get("breast-cancer", 2);
    expect(trained.lineage.datasetDigest).toMatch(/^sha256:|^[0-9a-f]{64}$/);
    expect(trained.metrics.auc).toBeGreaterThan(0.95);

    // The features phase: generated example, spec applied, materialized, point-in-time training set, trained, served by entity id.
    expect(r.stdout).toMatch(/generated the fraud example\s+200 customers, 6000 txn_stats rows, 800 labelled events/);
    expect(r.stdout).toMatch(/applied the feature spec\s+txn_stats v1/);
    expect(r.stdout).toMatch(/materialized into the embedded store\s+txn_stats: 200 written/);
    expect(r.stdout).toMatch(/saved a point-in-time training set\s+fraud-train:1  800 rows, 800\/800 with features/);
    expect(r.stdout).toMatch(/trained on fraud-train:1\s+holdout auc 0\.\d{4}  \(gate: auc >= 0\.7: pass\)  registered fraud:1 as champion/);
    expect(r.stdout).toMatch(/serving fraud@champion by customer_id\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(r.stdout).toContain(`request: {"inputs":[{"name":"customer_id","datatype":"INT64","shape":[2],"data":[`);
    const answers = [...r.stdout.matchAll(/customer_id (\d+)  P\(fraud\) = ([01]\.\d{4})/g)];
    expect(answers).toHaveLength(2);
    // Two different customers, two different answers: the entity ids were looked up.
    expect(answers[0]![1]).not.toBe(answers[1]![1]);
    expect(answers[0]![2]).not.toBe(answers[1]![2]);
    expect(r.stdout).toMatch(/curl -s http:\/\/127\.0\.0\.1:\d+\/v2\/models\/fraud\/infer .*\n\s+-d '\{"inputs":\[\{"name":"customer_id"/);
    expect(await registry.aliases("fraud")).toEqual({ champion: 1 });
    const fraud = await registry.get("fraud", 1);
    expect(fraud.metrics.auc).toBeGreaterThanOrEqual(0.7);
    expect(fraud.lineage.trainingSet).toMatchObject({ name: "fraud-train", version: 1, features: ["txn_stats:spend_7d", "txn_stats:txn_count_7d"] });

    // The drift phase: payload logs of normal then shifted traffic, mlops drift over each window, a retrain on drift.
    expect(r.stdout).toMatch(/serving breast-cancer@champion \(payload log\)\s+http:\/\/127\.0\.0\.1:\d+\s+→ file:\/\/.*\/demo-drift\/payloads/);
    expect(r.stdout).toMatch(/mlops drift on the normal traffic\s+dataset drift no \([0-9]+ of 30 columns drifted, share 0\.[0-4]\d\d\), exit 0/);
    expect(r.stdout).toMatch(/mlops drift on the shifted traffic\s+dataset drift yes \(\d+ of 30 columns drifted, share (1\.000|0\.[5-9]\d\d)\), exit 3/);
    expect(r.stdout).toMatch(/current: 200 rows from 20 payload records/);
    expect(r.stdout).toMatch(/html: \/.*\/demo-drift\/report-shifted\/report\.html/);
    expect(r.stdout).toMatch(/retrained on drift \(--on-drift-train\)\s+trained \S+ \(holdout auc 0\.9\d+\), gate passed, registered breast-cancer:3 as challenger/);
    expect(r.stdout).toMatch(/champion stays breast-cancer:2; the challenger breast-cancer:3 waits for a promotion/);
    const { latestDriftResult } = await import("../../src/registry/drift-results.js");
    expect(await latestDriftResult(registry.store, "breast-cancer")).toMatchObject({ model: "breast-cancer", version: 2, alias: "champion", dataset_drift: true });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it("the fraud example generator is deterministic and labels from the features known at each event", () => {
  const a = generateFraud();
  const b = generateFraud();
  expect(a.txnStats).toBe(b.txnStats);
  expect(a.labels).toBe(b.labels);
  expect(a.txnStats.split("\n")[0]).toBe("customer_id,event_timestamp,created_at,spend_7d,txn_count_7d");
  expect(a.labels.split("\n")[0]).toBe("customer_id,event_timestamp,is_fraud");
  const labels = a.labels.trim().split("\n").slice(1).map((l) => l.split(","));
  const rate = labels.filter((l) => l[2] === "1").length / labels.length;
  // Both classes present in earnest, so an AUC means something.
  expect(rate).toBeGreaterThan(0.1);
  expect(rate).toBeLessThan(0.6);
});
