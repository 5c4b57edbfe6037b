// Issue 9 §2: `mlops train` with `dataset: { trainingSet: "<name>:<version>" | "<name>:latest" }`, a training
// set saved by `mlops features historical --save`, with its lineage recorded on the model version.
import { appendFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { runTraining } from "../../../runtime/train/index.js";
import { pinKey } from "../../../runtime/train/training-set.js";
import { MlopsError, NotFoundError } from "../../../src/errors.js";
import { sha256File } from "../../../src/features/registry.js";
import { resolveTrainingSet } from "../../../src/features/training-sets.js";
import { Registry } from "../../../src/registry/index.js";
import { parseTrainSpec, type TrainSpecInput } from "../../../src/spec/train.js";
import { openStore } from "../../../src/store/index.js";
import { mlops } from "../../helpers/cli.js";
import { captureLogger, PYTHON, tempDir, TRAINERS } from "./helpers.js";
import { saveTrainingSet, writeEntities, writeFeatureStore } from "./training-set-data.js";

let dir: string;
let cleanup: () => Promise<void>;
let featureSpec: string;
let featureRegistry: string;
let registryUri: string;
let entitiesV1: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  ({ spec: featureSpec, registry: featureRegistry } = await writeFeatureStore(dir));
  registryUri = `file://${join(dir, "models")}`;
  entitiesV1 = join(dir, "entities-1.csv");
  await writeEntities(entitiesV1, 600, 1);
  await saveTrainingSet(featureSpec, entitiesV1, "fraud-train", join(dir, "out-1.parquet"));
}, 60_000);
afterAll(() => cleanup());

function spec(dataset: Partial<Extract<TrainSpecInput["dataset"], { trainingSet: string }>>, extra: Partial<TrainSpecInput> = {}) {
  return parseTrainSpec({
    name: "fraud",
    registry: registryUri,
    model: "fraud",
    dataset: { trainingSet: "fraud-train:1", featureRegistry, label: "label", ...dataset },
    trainer: { builtin: "logistic-regression" },
    ...extra,
  });
}
const quiet = () => ({ logger: captureLogger().logger, progress: "none" as const });

describe("mlops train on a saved training set", () => {
  it("trains on fraud-train:1 and records the training set's lineage on the registered version", async () => {
    const file = join(dir, "train-ts.yaml");
    await writeFile(file, YAML.stringify({ name: "fraud", registry: registryUri, model: "fraud-cli", dataset: { trainingSet: "fraud-train:1", featureRegistry, label: "label" }, trainer: { builtin: "logistic-regression" } }));
    const r = await mlops(["train", "--spec", file], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).status).toBe("registered");

    const { manifest } = await resolveTrainingSet("fraud-train:1", { registry: featureRegistry, scratchDir: dir });
    const mv = await (await Registry.open(registryUri)).get("fraud-cli", 1);
    expect(mv.lineage.trainingSet).toEqual({
      name: "fraud-train",
      version: 1,
      digest: manifest.digest,
      registry: featureRegistry,
      views: { txn_stats: 1 },
      entitiesDigest: await sha256File(entitiesV1),
      features: ["txn_stats:spend_7d", "txn_stats:txn_count_7d"],
    });
    // The dataset fields name the same bytes.
    expect(mv.lineage.datasetUri).toBe(manifest.uri);
    expect(mv.lineage.datasetDigest).toBe(manifest.digest);
    expect(mv.metrics.auc).toBeGreaterThan(0.8);
  });

  it("trains on the feature columns only: the entity key and event_timestamp are left out", async () => {
    const r = await runTraining(spec({}, { model: "fraud-cols" }), quiet());
    expect(r.status).toBe("registered");
    // Two inputs (spend_7d, txn_count_7d): customer_id is not a feature, event_timestamp not either.
    expect(r.version!.signature.inputs[0]!.shape).toEqual([-1, 2]);
  });

  it("takes the features and exclusions it is given instead", async () => {
    const only = await runTraining(spec({ features: ["spend_7d", "customer_id"] }, { model: "fraud-listed" }), quiet());
    expect(only.version!.signature.inputs[0]!.shape).toEqual([-1, 2]);
    const fewer = await runTraining(spec({ exclude: ["txn_count_7d"] }, { model: "fraud-excluded" }), quiet());
    expect(fewer.version!.signature.inputs[0]!.shape).toEqual([-1, 1]);
  });

  it("resolves :latest once, to the newest version, and records that version", async () => {
    const entities = join(dir, "entities-2.csv");
    await writeEntities(entities, 700, 2);
    const saved = await saveTrainingSet(featureSpec, entities, "fraud-latest", join(dir, "out-latest-1.parquet"));
    await saveTrainingSet(featureSpec, entitiesV1, "fraud-latest", join(dir, "out-latest-2.parquet"));
    const { logger, records } = captureLogger();
    const r = await runTraining(spec({ trainingSet: "fraud-latest:latest" }, { model: "fraud-latest" }), { logger, progress: "none" });
    expect(saved.trainingSet.version).toBe(1);
    expect(r.version!.lineage.trainingSet).toMatchObject({ name: "fraud-latest", version: 2, entitiesDigest: await sha256File(entitiesV1) });
    expect(records().filter((l) => l.msg === "training set resolved")).toEqual([expect.objectContaining({ trainingSet: "fraud-latest:2", requested: "fraud-latest:latest" })]);
  });

  it("keeps the version :latest resolved to for every attempt of one run id", async () => {
    const entities = join(dir, "entities-pin.csv");
    await writeEntities(entities, 500, 3);
    await saveTrainingSet(featureSpec, entities, "pinned", join(dir, "out-pin-1.parquet"));
    const impossible = spec({ trainingSet: "pinned:latest" }, { model: "fraud-pinned", runId: "pin-run", gate: { minimum: { auc: 0.99999 } } });
    expect((await runTraining(impossible, quiet())).status).toBe("gate-failed");
    expect(await openStore(`${registryUri}/checkpoints/fraud/pin-run`).exists(pinKey("pin-run"))).toBe(true);
    await saveTrainingSet(featureSpec, entitiesV1, "pinned", join(dir, "out-pin-2.parquet"));

    const again = await runTraining(spec({ trainingSet: "pinned:latest" }, { model: "fraud-pinned", runId: "pin-run" }), quiet());
    expect(again.version!.lineage.trainingSet!.version).toBe(1);
    const fresh = await runTraining(spec({ trainingSet: "pinned:latest" }, { model: "fraud-pinned", runId: "pin-run-2" }), quiet());
    expect(fresh.version!.lineage.trainingSet!.version).toBe(2);
  });

  it("hands a command trainer the training set, its label and its feature columns", async () => {
    const r = await runTraining(
      spec({}, { model: "fraud-command", trainer: { command: [PYTHON, join(TRAINERS, "numpy_logreg.py")], params: { epochs: "100" } } }),
      quiet(),
    );
    expect(r.status).toBe("registered");
    expect(r.version!.lineage.trainingSet!.name).toBe("fraud-train");
    expect(r.version!.signature.inputs[0]!.shape.at(-1)).toBe(2);
  });
});

describe("mlops train on a saved training set fails clearly", () => {
  it("fails when the data no longer matches the manifest's digest, naming the training set", async () => {
    const saved = await saveTrainingSet(featureSpec, entitiesV1, "tampered", join(dir, "out-tampered.csv"));
    await appendFile(fileURLToPath(saved.trainingSet.uri), "1,2024-01-02T06:00:00.000Z,1,9.9,3\n");
    const err = await runTraining(spec({ trainingSet: "tampered:1" }, { model: "fraud-tampered" }), quiet()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlopsError);
    expect((err as Error).message).toMatch(/^Training set tampered:1: the data .*data\.csv has digest sha256:[0-9a-f]{64}, not the manifest's sha256:[0-9a-f]{64}\. .*save the training set again/);
    expect(await (await Registry.open(registryUri)).list("fraud-tampered").catch(() => [])).toEqual([]);
  });

  it("fails when the training set does not exist, naming it and the training sets that do", async () => {
    const err = await runTraining(spec({ trainingSet: "fraud-trian:1" }), quiet()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toMatch(/^dataset\.trainingSet: Training set fraud-trian:1 is not in file:\/\/.*feature-registry: there is no training set "fraud-trian"/);
    expect((err as Error).message).toMatch(/Training sets in file:\/\/.*: .*fraud-train[,.]/);
  });

  it("fails when the version does not exist, naming the versions that do", async () => {
    const err = await runTraining(spec({ trainingSet: "fraud-train:7" }), quiet()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toMatch(/Training set fraud-train:7 is not in .*: fraud-train has versions 1\./);
  });

  it("fails when entity rows got no feature value (no history within the TTL), saying why and the fix", async () => {
    const entities = join(dir, "entities-gaps.csv");
    await writeEntities(entities, 300, 4);
    // Customer 999 has no history: its features come back empty from the join.
    await appendFile(entities, "999,2024-01-05T06:00:00.000Z,1\n999,2024-01-06T06:00:00.000Z,0\n");
    await saveTrainingSet(featureSpec, entities, "gaps", join(dir, "out-gaps.parquet"));
    const err = await runTraining(spec({ trainingSet: "gaps:1" }, { model: "fraud-gaps" }), quiet()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlopsError);
    expect((err as Error).message).toMatch(/^dataset: has empty values in; received "spend_7d \(2 empty\), txn_count_7d \(2 empty\)"\. A feature is empty where its view had no row for the entity within its TTL/);
  });

  it("fails when the label is not a column of the training set, naming the column and the columns", async () => {
    const err = await runTraining(spec({ label: "is_fraud" }), quiet()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlopsError);
    expect((err as Error).message).toBe(
      'dataset.label: is not a column of training set fraud-train:1, which has customer_id, event_timestamp, label, spend_7d, txn_count_7d; received "is_fraud". Set dataset.label to one of them, or save a training set whose entity file carries the label column (its columns are kept).',
    );
  });
});

describe("the TrainSpec's trainingSet dataset", () => {
  const base = { name: "fraud", registry: "file:///r", model: "fraud", trainer: { builtin: "logistic-regression" } };
  const problems = (dataset: unknown): string => {
    try {
      parseTrainSpec({ ...base, dataset });
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error("expected a spec error");
  };

  it("parses { trainingSet, featureRegistry, label } with the default exclusions", () => {
    expect(parseTrainSpec({ ...base, dataset: { trainingSet: "fraud-train:latest", featureRegistry: "s3://features/registry", label: "y" } }).dataset).toEqual({
      trainingSet: "fraud-train:latest",
      featureRegistry: "s3://features/registry",
      label: "y",
      exclude: [],
    });
  });

  it("fails when featureRegistry is missing, naming it", () => {
    expect(problems({ trainingSet: "fraud-train:1", label: "y" })).toMatch(/dataset\.featureRegistry: must name the FeatureStore registry the training set was saved in/);
  });

  it("fails when the reference is not <name>:<version>, naming it", () => {
    for (const ref of ["fraud-train", "fraud-train:0", "Fraud:1", "fraud-train:v2"]) {
      expect(problems({ trainingSet: ref, featureRegistry: "file:///f", label: "y" }), ref).toMatch(/dataset\.trainingSet: must be "<name>:<version>" or "<name>:latest"/);
    }
  });

  it("fails when the block is both a file and a training set, or neither, naming the two shapes", () => {
    const both = problems({ uri: "file:///d.csv", trainingSet: "fraud-train:1", featureRegistry: "file:///f", label: "y" });
    expect(both).toMatch(/dataset: must be a file, \{ uri: .* \}, or a saved training set, \{ trainingSet: .* \}, not both/);
    expect(problems("s3://data/train.csv")).toMatch(/dataset: must be a file, .* or a saved training set/);
  });
});
