import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FeatureRegistry, sha256File } from "../../../src/features/registry.js";
import { resolveTrainingSet, saveTrainingSet, trainingSetVersions, type TrainingSetLineage } from "../../../src/features/training-sets.js";
import { BACKENDS, useBackend } from "../../helpers/stores.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-ts-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const LINEAGE: TrainingSetLineage = {
  store: "fraud",
  views: [{ name: "txn_stats", version: 2, digest: `sha256:${"a".repeat(64)}`, source: "file:///data/txn.csv" }],
  entities: { file: "/data/entities.csv", digest: `sha256:${"b".repeat(64)}`, rows: 2 },
  features: ["txn_stats:spend_7d"],
  fullFeatureNames: false,
  createdTimestampCutoff: true,
  columns: ["customer_id", "event_timestamp", "spend_7d"],
  rows: 2,
};

async function dataFile(name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, body);
  return path;
}

describe.each(BACKENDS)("training sets on %s", (kind) => {
  const backend = useBackend(kind);
  const open = () => new FeatureRegistry(backend().store);
  const resolveOpts = () => ({ registry: backend().uri, scratchDir: join(dir, "scratch", kind), storeOptions: { env: backend().env } });

  it("saves a version with its lineage and resolves it to a local file with the same bytes", async () => {
    const file = await dataFile("a.csv", "customer_id,event_timestamp,spend_7d\n1,2024-01-01 00:00:00+00,1.5\n");
    const saved = await saveTrainingSet(open(), "fraud-train", file, LINEAGE);
    expect(saved).toMatchObject({ kind: "TrainingSet", name: "fraud-train", version: 1, changed: true, format: "csv", digest: await sha256File(file), ...LINEAGE });
    const { path, manifest } = await resolveTrainingSet("fraud-train:1", resolveOpts());
    expect(await sha256File(path)).toBe(saved.digest);
    expect(manifest.views).toEqual(LINEAGE.views);
    expect((await resolveTrainingSet("fraud-train:latest", resolveOpts())).manifest.version).toBe(1);
  });

  it("returns the latest version unchanged for the same bytes and lineage; new bytes make a new version", async () => {
    const file = await dataFile("b.csv", "x\n1\n");
    expect((await saveTrainingSet(open(), "t", file, LINEAGE)).version).toBe(1);
    expect(await saveTrainingSet(open(), "t", file, LINEAGE)).toMatchObject({ version: 1, changed: false });
    expect(await saveTrainingSet(open(), "t", await dataFile("c.csv", "x\n2\n"), LINEAGE)).toMatchObject({ version: 2, changed: true });
    expect(await trainingSetVersions(open(), "t")).toEqual([1, 2]);
  });

  it("gives concurrent saves distinct versions", async () => {
    const files = await Promise.all(Array.from({ length: 8 }, (_, i) => dataFile(`p${kind}${i}.csv`, `x\n${i}\n`)));
    const saved = await Promise.all(files.map((f) => saveTrainingSet(open(), "par", f, LINEAGE)));
    expect(saved.map((s) => s.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const digests = await Promise.all(saved.map(async (s) => (await resolveTrainingSet(`par:${s.version}`, resolveOpts())).manifest.digest));
    expect(digests).toEqual(saved.map((s) => s.digest));
  });

  it("fails naming the versions that exist, and on a malformed reference", async () => {
    await saveTrainingSet(open(), "known", await dataFile("k.csv", "x\n1\n"), LINEAGE);
    await expect(resolveTrainingSet("known:4", resolveOpts())).rejects.toThrow(/Training set known:4 is not in .*known has versions 1/);
    await expect(resolveTrainingSet("nothing:1", resolveOpts())).rejects.toThrow(/there is no training set "nothing"; save one with mlops features historical … --save nothing/);
    await expect(resolveTrainingSet("known", resolveOpts())).rejects.toThrow(/trainingSet: is not a training set reference; received "known"/);
  });

  it("fails when the data no longer matches the manifest's digest", async () => {
    const saved = await saveTrainingSet(open(), "tamper", await dataFile("t.csv", "x\n1\n"), LINEAGE);
    await backend().store.put(saved.dataKey, "x\n999\n");
    await expect(resolveTrainingSet("tamper:1", resolveOpts())).rejects.toThrow(/tamper:1: the data .* has digest sha256:[0-9a-f]{64}, not the manifest's/);
  });

  it("refuses a bad training set name", async () => {
    await expect(saveTrainingSet(open(), "Bad Name", await dataFile("n.csv", "x\n"), LINEAGE)).rejects.toThrow(/--save: is not a training set name; received "Bad Name"/);
  });
});
