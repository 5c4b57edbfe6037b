import { mkdir } from "node:fs/promises";
import { basename, extname, join } from "node:path";
import { MlopsError, NotFoundError } from "../errors.js";
import { filePath, openStore, type ObjectStore, type OpenStoreOptions } from "../store/index.js";
import { FeatureRegistry, MAX_VERSION, sha256File } from "./registry.js";

/**
 * Saved training sets: `training-sets/<name>/<10 digits>/` holds `claim.json` (created with `putIfAbsent`:
 * the version number is taken), `data.<csv|parquet>`, then `manifest.json` (written last: a version exists
 * once its manifest does). Concurrent saves each get their own number; one that dies after its claim
 * leaves a numbered gap, never a half-written set.
 */

export const TRAINING_SET_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

export interface TrainingSetLineage {
  /** The FeatureStore spec's name. */
  readonly store: string;
  /** The view versions the join read. */
  readonly views: ReadonlyArray<{ readonly name: string; readonly version: number; readonly digest: string; readonly source: string }>;
  /** The entity file: where it was read from, its digest, its rows. */
  readonly entities: { readonly file: string; readonly digest: string; readonly rows: number };
  /** Requested features, `view:feature`, in column order. */
  readonly features: readonly string[];
  readonly fullFeatureNames: boolean;
  /** Rows created after an entity's timestamp were left out (the default). */
  readonly createdTimestampCutoff: boolean;
  readonly columns: readonly string[];
  readonly rows: number;
}

export interface TrainingSetManifest extends TrainingSetLineage {
  readonly kind: "TrainingSet";
  readonly name: string;
  readonly version: number;
  /** `sha256:<hex>` of the data file. */
  readonly digest: string;
  readonly format: "csv" | "parquet";
  /** The data object's key in the registry store, and its URI. */
  readonly dataKey: string;
  readonly uri: string;
  readonly createdAt: string;
}

const dirKey = (name: string, version: number) => `training-sets/${name}/${String(version).padStart(10, "0")}`;

function checkSetName(name: string, field = "--save"): string {
  if (!TRAINING_SET_NAME.test(name)) throw MlopsError.of(field, "is not a training set name", name, 'Use 1-63 lowercase letters, digits, ".", "_" and "-", e.g. "fraud-train".');
  return name;
}

/** Version numbers taken (claimed) under a training set name, ascending, and those complete. */
async function versions(store: ObjectStore, name: string): Promise<{ taken: number[]; complete: number[] }> {
  const keys = await store.list(`training-sets/${name}/`);
  const taken = new Set<number>();
  const complete = new Set<number>();
  for (const k of keys) {
    const m = /^training-sets\/[^/]+\/(\d{10})\/(claim|manifest)\.json$/.exec(k);
    if (!m) continue;
    taken.add(Number(m[1]));
    if (m[2] === "manifest") complete.add(Number(m[1]));
  }
  const asc = (s: Set<number>) => [...s].sort((a, b) => a - b);
  return { taken: asc(taken), complete: asc(complete) };
}

async function readManifest(store: ObjectStore, name: string, version: number): Promise<TrainingSetManifest | undefined> {
  const key = `${dirKey(name, version)}/manifest.json`;
  const bytes = await store.get(key);
  if (!bytes) return undefined;
  try {
    const m = JSON.parse(bytes.toString("utf8")) as TrainingSetManifest;
    if (m.kind !== "TrainingSet" || m.name !== name || m.version !== version) throw new Error("it does not describe this version");
    return m;
  } catch (err) {
    throw new MlopsError(`Training set manifest ${store.uriOf(key)} is corrupt (${(err as Error).message}). Restore it from a backup, or delete the folder to drop ${name}:${version}.`);
  }
}

/**
 * Saves `file` (the join's output) as the next version of training set `name`. When the latest version
 * already holds these exact bytes from the same views and entity file, it is returned (`changed: false`).
 */
export async function saveTrainingSet(
  registry: FeatureRegistry,
  name: string,
  file: string,
  lineage: TrainingSetLineage,
): Promise<TrainingSetManifest & { readonly changed: boolean }> {
  checkSetName(name);
  const store = registry.store;
  const digest = await sha256File(file);
  const format = extname(file).toLowerCase() === ".csv" ? "csv" : "parquet";
  const { taken, complete } = await versions(store, name);
  const last = complete.length ? await readManifest(store, name, complete[complete.length - 1]!) : undefined;
  if (last && last.digest === digest && JSON.stringify(last.views) === JSON.stringify(lineage.views) && last.entities.digest === lineage.entities.digest) {
    return { ...last, changed: false };
  }
  let version = (taken[taken.length - 1] ?? 0) + 1;
  for (let attempt = 1; ; attempt++) {
    if (version > MAX_VERSION) throw new MlopsError(`Training set "${name}" has reached the last version number ${MAX_VERSION}.`);
    if (await store.putIfAbsent(`${dirKey(name, version)}/claim.json`, JSON.stringify({ pid: process.pid, claimedAt: new Date().toISOString() }) + "\n")) break;
    if (attempt >= 1000) throw new Error(`Could not claim a version of training set "${name}" in ${registry.uri}: too many concurrent saves.`);
    version = Math.max(version + 1, ((await versions(store, name)).taken.pop() ?? 0) + 1);
  }
  const dataKey = `${dirKey(name, version)}/data.${format}`;
  await store.putFile(dataKey, file);
  const manifest: TrainingSetManifest = {
    kind: "TrainingSet",
    name,
    version,
    digest,
    format,
    dataKey,
    uri: store.uriOf(dataKey),
    ...lineage,
    createdAt: new Date().toISOString(),
  };
  await store.put(`${dirKey(name, version)}/manifest.json`, JSON.stringify(manifest, null, 2) + "\n");
  return { ...manifest, changed: true };
}

/** The complete versions of a training set, ascending. */
export async function trainingSetVersions(registry: FeatureRegistry, name: string): Promise<number[]> {
  return (await versions(registry.store, checkSetName(name, "training set"))).complete;
}

export interface ResolvedTrainingSet {
  /** A local file with the data (the registry's own file for file://, else a verified copy in `scratchDir`). */
  readonly path: string;
  readonly manifest: TrainingSetManifest;
}

/**
 * Resolves `"<name>:<version>"` (or `"<name>:latest"`) to a local data file and its manifest, for
 * `mlops train` (`dataset: { trainingSet }`). The data's digest is checked against the manifest.
 */
export async function resolveTrainingSet(
  ref: string,
  opts: { readonly registry: string; readonly scratchDir: string; readonly field?: string; readonly storeOptions?: OpenStoreOptions },
): Promise<ResolvedTrainingSet> {
  const field = opts.field ?? "trainingSet";
  const m = /^([^:]+):(latest|[1-9][0-9]{0,9})$/.exec(ref);
  if (!m) throw MlopsError.of(field, "is not a training set reference", ref, 'Write "<name>:<version>", e.g. "fraud-train:3", or "<name>:latest".');
  const name = checkSetName(m[1]!, field);
  const store = openStore(opts.registry, opts.storeOptions);
  const { complete } = await versions(store, name);
  const version = m[2] === "latest" ? complete[complete.length - 1] : Number(m[2]);
  const manifest = version === undefined ? undefined : await readManifest(store, name, version);
  if (!manifest) {
    throw new NotFoundError(
      `Training set ${ref} is not in ${store.uri}: ${complete.length ? `${name} has versions ${complete.join(", ")}` : `there is no training set "${name}"; save one with mlops features historical … --save ${name}`}.`,
    );
  }
  let path: string;
  if (store.uri.startsWith("file://")) {
    path = filePath(store.uriOf(manifest.dataKey));
  } else {
    const dir = join(opts.scratchDir, "training-sets", name, String(manifest.version));
    await mkdir(dir, { recursive: true });
    path = join(dir, basename(manifest.dataKey));
    await store.getFile(manifest.dataKey, path);
  }
  const digest = await sha256File(path).catch(() => undefined);
  if (digest !== manifest.digest) {
    throw new MlopsError(`Training set ${name}:${manifest.version}: the data ${store.uriOf(manifest.dataKey)} ${digest ? `has digest ${digest}, not the manifest's ${manifest.digest}` : "is missing"}. It was changed or removed after it was saved; save the training set again.`);
  }
  return { path, manifest };
}
