import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { Registry } from "../../src/registry/index.js";
import { mlops } from "../helpers/cli.js";
import { generateFraud } from "../../cli/demo-features.js";

it("the main job trains, gates, registers, serves, promotes, runs the features, drift and release phases and exits with --exit", async () => {
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
    // The drift phase retrained on drift and registered breast-cancer:3 as challenger; the release phase's
    // canary analysis promoted it to champion, then the broken breast-cancer:4 became challenger (rolled back).
    expect(await registry.aliases("breast-cancer")).toEqual({ champion: 3, challenger: 4 });
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

    // The release phase: two stages, the challenger as a release, a canary promoted by its analysis and then to
    // prod by mlops promote, a broken canary rolled back with no failed client request, both training runs listed.
    expect(r.stdout).toMatch(/two local stages\s+staging file:\/\/\S+\/registry  prod file:\/\/\S+\/registry-prod\n/);
    const digest = /mlops release create breast-cancer\s+(sha256:[0-9a-f]{64})\n/.exec(r.stdout)?.[1];
    expect(digest, r.stdout).toBeDefined();
    const { resolveRelease } = await import("../../src/release/index.js");
    const release = await resolveRelease(registry.store, `breast-cancer@${digest}`);
    expect(release.release.model).toMatchObject({ name: "breast-cancer", version: 3 });
    expect(release.release.run).toMatchObject({ recorded: true, status: "registered", gate: { passed: true } });
    expect(release.release.profile).toBeDefined();
    expect(r.stdout).toMatch(/model breast-cancer:3 \(alias challenger\), run run-\S+ \(gate passed\), drift reference profile sha256:/);
    expect(r.stdout).toMatch(/serving breast-cancer@champion \+ canary\s+http:\/\/127\.0\.0\.1:\d+  canary breast-cancer@challenger at 10%/);
    expect(r.stdout).toMatch(/canary breast-cancer:3 promoted\s+staging breast-cancer@champion: 2 → 3 after [\d.]+ s, \d+ requests, 0 failed\n/);
    expect(r.stdout).toMatch(/analysis passed: canary error ratio 0 vs stable 0, p99 [\d.]+ ms vs [\d.]+ ms over \d+ canary requests/);
    expect(r.stdout).toContain(`mlops promote breast-cancer@${digest!.slice(7, 19)}`);
    expect(r.stdout).toMatch(/--from staging --to prod: promoted, prod breast-cancer@champion → 1\n/);
    expect(r.stdout).toMatch(/check gate: pass  run run-\S+ passed its gate: auc 0\.9\d+ >= 0\.95/);
    expect(r.stdout).toMatch(/check no-drift: pass  the latest drift result \(\S+\) is about version 2, not 3/);
    expect(r.stdout).toMatch(/copied: model copied, profile copied, run copied, release copied, alias moved/);
    const auditPath = /audit: (\/\S+\/registry-prod\/audit\/promotions\/\S+-breast-cancer-[0-9a-f]{12}\.json)\n/.exec(r.stdout)?.[1];
    expect(auditPath, r.stdout).toBeDefined();
    const audit = JSON.parse(await readFile(auditPath!, "utf8")) as { outcome: string; release: { digest: string }; alias: string; targetVersion: number; checks: { name: string; passed: boolean }[] };
    expect(audit).toMatchObject({ outcome: "promoted", release: { name: "breast-cancer", digest }, alias: "champion", targetVersion: 1 });
    expect(audit.checks.map((c) => [c.name, c.passed])).toEqual([["gate", true], ["no-drift", true]]);
    const prod = await Registry.open(`file://${dir}/registry-prod`);
    expect(await prod.aliases("breast-cancer")).toEqual({ champion: 1 });
    expect((await prod.get("breast-cancer", 1)).digest).toBe((await registry.get("breast-cancer", 3)).digest);
    expect(r.stdout).toMatch(/registered a broken challenger\s+breast-cancer:4  input \[batch, 31\]/);
    expect((await registry.get("breast-cancer", 4)).signature).toBeDefined();
    expect(r.stdout).toMatch(/canary breast-cancer:4 rolled back\s+automatically after [\d.]+ s: weight 0, champion stays breast-cancer:3\n/);
    // Every canary request fails; a fallback is counted once stable has answered it, so one still in flight
    // when the window is read is a request without its error yet (analysis.ts delta): at most a few.
    const judged = /analysis failed: canary error ratio (1|0\.\d+) \((\d+)\/(\d+)\) exceeds stable's 0/.exec(r.stdout);
    expect(judged, r.stdout).not.toBeNull();
    expect(Number(judged![3]) - Number(judged![2])).toBeLessThanOrEqual(4);
    expect(Number(judged![2]) / Number(judged![3])).toBeGreaterThan(0.5);
    const client = /client: (\d+) failed of (\d+) requests through the phase/.exec(r.stdout);
    expect(client, r.stdout).not.toBeNull();
    expect(Number(client![1])).toBe(0);
    expect(Number(client![2])).toBeGreaterThan(100);
    const { readRollout } = await import("../../src/registry/rollouts.js");
    expect((await readRollout(registry.store, "breast-cancer"))!.canary).toMatchObject({ version: 4, weight: 0, phase: "rolled-back" });
    expect(r.stdout).toMatch(/mlops runs list breast-cancer\s+2 runs in staging\n\s+RUN\s+STATUS\s+VERSION/);
    expect(r.stdout).toMatch(/\n\s+run-\d{8}T\d{6}Z-[0-9a-f]{6}\s+registered\s+2\s.*\n\s+run-\d{8}T\d{6}Z-[0-9a-f]{6}\s+registered\s+3\s/);
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
