/**
 * `dataset: { trainingSet: "<name>:<version>" | "<name>:latest", featureRegistry, label, … }`: a training set
 * saved by `mlops features historical … --save <name>`, resolved to a local file whose digest matches its
 * manifest, with the columns to train on and the lineage the model version records.
 */
import { join } from "node:path";
import { MlopsError, NotFoundError } from "../../src/errors.js";
import { resolveTrainingSet, type ResolvedTrainingSet, type TrainingSetManifest } from "../../src/features/training-sets.js";
import type { Logger } from "../../src/log.js";
import type { ModelTrainingSet } from "../../src/registry/index.js";
import type { TrainingSetDatasetSpec } from "../../src/spec/train.js";
import { openStore, type ObjectStore } from "../../src/store/index.js";
import type { DatasetSource } from "./dataset.js";

/**
 * Where a run keeps what `:latest` resolved to, in its checkpoint location (CheckpointSync leaves
 * `.mlops/` alone): every rank and every retry of one run id trains on the version the first one saw,
 * even when a newer version is saved meanwhile. One key per run id, as a `checkpoint.uri` may be shared.
 */
export const pinKey = (runId: string): string => `.mlops/training-sets/${runId}.json`;

interface Pin {
  readonly ref: string;
  readonly registry: string;
  readonly version: number;
  readonly pinnedAt: string;
}

export interface TrainingSetSourceOptions {
  readonly runId: string;
  /** The run's scratch folder: an `s3://` training set is copied (and verified) under it. */
  readonly scratchDir: string;
  /** Resolves a relative `file://` feature registry. */
  readonly cwd: string;
  /** The run's checkpoint location, where a `:latest` resolution is pinned for the run id. */
  readonly pins: ObjectStore;
  readonly log: Logger;
}

/**
 * Resolves the training set named by the spec, checks that it holds the label, and returns it as the
 * source to load. Without `features`, the features are the training set's feature columns: the entity
 * file's columns (join keys, `event_timestamp`, the label and anything else it carried) are left out.
 *
 * @throws NotFoundError naming the training set, with the versions or the training sets that exist
 * @throws MlopsError when the data's digest differs from the manifest's, or the label is not a column
 */
export async function trainingSetSource(dataset: TrainingSetDatasetSpec, opts: TrainingSetSourceOptions): Promise<DatasetSource> {
  const registry = openStore(dataset.featureRegistry, { cwd: opts.cwd });
  const requested = dataset.trainingSet;
  const name = requested.slice(0, requested.lastIndexOf(":"));
  const resolve = (ref: string) =>
    resolveTrainingSet(ref, { registry: registry.uri, scratchDir: join(opts.scratchDir, "training-set"), field: FIELD, storeOptions: { cwd: opts.cwd } }).catch(async (err: unknown) => {
      throw err instanceof NotFoundError ? new NotFoundError(`${FIELD}: ${err.message}${await othersNote(registry, name)}`) : err;
    });

  let resolved: ResolvedTrainingSet;
  if (requested.endsWith(":latest")) {
    const earlier = await readPin(opts.pins, opts.runId, requested, registry.uri);
    resolved = await resolve(earlier ? `${name}:${earlier.version}` : requested);
    const version = earlier?.version ?? (await pin(opts, { ref: requested, registry: registry.uri, version: resolved.manifest.version, pinnedAt: new Date().toISOString() }));
    // Another rank pinned a version first (a save landed between the two resolutions): use that one.
    if (version !== resolved.manifest.version) resolved = await resolve(`${name}:${version}`);
    if (earlier) opts.log.info("training set pinned by an earlier attempt of this run", { trainingSet: `${name}:${version}`, requested, pinnedAt: earlier.pinnedAt });
  } else {
    resolved = await resolve(requested);
  }
  const m = resolved.manifest;
  const id = `${m.name}:${m.version}`;
  if (!m.columns.includes(dataset.label)) {
    throw MlopsError.of(
      "dataset.label",
      `is not a column of training set ${id}, which has ${m.columns.join(", ")}`,
      dataset.label,
      "Set dataset.label to one of them, or save a training set whose entity file carries the label column (its columns are kept).",
    );
  }
  const features = trainingSetFeatureColumns(m);
  const entityColumns = m.columns.filter((c) => !features.includes(c));
  opts.log.info("training set resolved", { trainingSet: id, requested, digest: m.digest, rows: m.rows, uri: m.uri });
  return {
    uri: m.uri,
    format: m.format,
    field: FIELD,
    localPath: resolved.path,
    digest: m.digest,
    columns: {
      label: dataset.label,
      ...(dataset.features ? { features: dataset.features } : {}),
      exclude: dataset.features ? dataset.exclude : [...new Set([...entityColumns, ...dataset.exclude])],
    },
    trainingSet: trainingSetLineage(m, registry.uri),
  };
}

const FIELD = "dataset.trainingSet";

/** What the model version records of the training set it was trained on. */
export function trainingSetLineage(m: TrainingSetManifest, registry: string): ModelTrainingSet {
  return {
    name: m.name,
    version: m.version,
    digest: m.digest,
    registry,
    views: Object.fromEntries(m.views.map((v) => [v.name, v.version])),
    entitiesDigest: m.entities.digest,
    features: [...m.features],
  };
}

/**
 * The training set's feature columns, in order: `feature`, or `view__feature` when it was saved with
 * full feature names (the rule of `mlops features historical`, runtime/features/historical.ts).
 */
export function trainingSetFeatureColumns(m: Pick<TrainingSetManifest, "features" | "fullFeatureNames">): string[] {
  return m.features.map((ref) => {
    const colon = ref.indexOf(":");
    return m.fullFeatureNames ? `${ref.slice(0, colon)}__${ref.slice(colon + 1)}` : ref.slice(colon + 1);
  });
}

/** The version this run id pinned for `ref` in `registry`, if an earlier rank or attempt did. */
async function readPin(store: ObjectStore, runId: string, ref: string, registry: string): Promise<Pin | undefined> {
  const bytes = await store.get(pinKey(runId));
  if (!bytes) return undefined;
  try {
    const p = JSON.parse(bytes.toString("utf8")) as Pin;
    return p.ref === ref && p.registry === registry && Number.isInteger(p.version) && p.version > 0 ? p : undefined;
  } catch {
    return undefined;
  }
}

/** Records what `:latest` resolved to, unless another rank did first; returns the version pinned. */
async function pin(opts: TrainingSetSourceOptions, record: Pin): Promise<number> {
  if (await opts.pins.putIfAbsent(pinKey(opts.runId), JSON.stringify(record, null, 2) + "\n")) return record.version;
  const other = await readPin(opts.pins, opts.runId, record.ref, record.registry);
  if (other) return other.version;
  // A pin for another reference (the spec changed under the same run id): this run's resolution wins.
  await opts.pins.put(pinKey(opts.runId), JSON.stringify(record, null, 2) + "\n");
  return record.version;
}

/** For a name with no versions: the training sets the registry does hold. */
async function othersNote(registry: ObjectStore, name: string): Promise<string> {
  const keys = await registry.list("training-sets/").catch(() => undefined);
  if (!keys) return "";
  const names = [...new Set(keys.flatMap((k) => /^training-sets\/([^/]+)\/\d{10}\/manifest\.json$/.exec(k)?.[1] ?? []))].sort();
  if (names.includes(name)) return "";
  return names.length ? ` Training sets in ${registry.uri}: ${names.join(", ")}.` : ` ${registry.uri} holds no training sets.`;
}
