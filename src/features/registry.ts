import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { MlopsError, NotFoundError } from "../errors.js";
import type { FeatureStoreSpec, FeatureViewSpec } from "../spec/features.js";
import { openStore, type ObjectStore } from "../store/index.js";

/**
 * The feature store's registry, on the spec's `registry` object store. Layout:
 *
 * - `views/<view>/<10 digits>.json`: one immutable record per version of a view's definition, created with
 *   `putIfAbsent`. The highest number is the view's latest version: a writer that loses the race for a
 *   number re-reads and either finds its own definition already recorded or takes the next number, so two
 *   concurrent applies never lose a write and never share a number (feast #6663, #2176).
 * - `training-sets/<name>/<10 digits>/`: a saved training set (see ./training-sets.ts).
 */

/** Version numbers are at most this (10 digits in the keys). */
export const MAX_VERSION = 9_999_999_999;
const MAX_COMMIT_ATTEMPTS = 1000;

export interface ViewVersion {
  readonly kind: "FeatureViewVersion";
  readonly name: string;
  readonly version: number;
  /** `sha256:<hex>` of the canonical JSON of {@link definition}. */
  readonly digest: string;
  /** The view as parsed (defaults applied), with the entities it uses. */
  readonly definition: ViewDefinition;
  readonly createdAt: string;
}

export interface ViewDefinition {
  readonly view: FeatureViewSpec;
  readonly entities: FeatureStoreSpec["entities"];
}

export interface ApplyResult {
  readonly view: string;
  readonly version: number;
  readonly changed: boolean;
  readonly digest: string;
}

/** JSON with object keys sorted at every level: equal data, equal bytes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

export const sha256 = (data: string | Buffer): string => `sha256:${createHash("sha256").update(data).digest("hex")}`;

/** `sha256:<hex>` of a file's bytes, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest("hex")}`;
}

/** What a view version records: the view and the entities whose join keys it uses, in the view's order. */
export function viewDefinition(view: FeatureViewSpec, spec: FeatureStoreSpec): ViewDefinition {
  return { view, entities: view.entities.flatMap((e) => spec.entities.filter((x) => x.name === e)) };
}

export function viewDigest(view: FeatureViewSpec, spec: FeatureStoreSpec): string {
  return sha256(canonicalJson(viewDefinition(view, spec)));
}

export const viewKey = (name: string, version: number): string => `views/${name}/${String(version).padStart(10, "0")}.json`;

export class FeatureRegistry {
  readonly uri: string;
  // Version records never change once written.
  private readonly cache = new Map<string, ViewVersion>();

  constructor(readonly store: ObjectStore) {
    this.uri = store.uri;
  }

  /** The registry named by a FeatureStore spec (`registry: file://… | s3://…`). */
  static open(uri: string): FeatureRegistry {
    return new FeatureRegistry(openStore(uri));
  }

  /** Version numbers of a view, ascending. */
  async viewVersionNumbers(name: string): Promise<number[]> {
    const keys = await this.store.list(`views/${name}/`);
    return keys
      .map((k) => /^views\/[^/]+\/(\d{10})\.json$/.exec(k)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  /** One version's record. @throws NotFoundError naming the versions that exist */
  async viewVersion(name: string, version: number): Promise<ViewVersion> {
    const id = `${name}:${version}`;
    const cached = this.cache.get(id);
    if (cached) return cached;
    const key = viewKey(name, version);
    const bytes = await this.store.get(key);
    if (!bytes) {
      const have = await this.viewVersionNumbers(name);
      throw new NotFoundError(`Feature view "${name}" has no version ${version} in ${this.uri}${have.length ? `; it has versions ${have.join(", ")}` : "; run mlops features apply --spec <file> to record it"}.`);
    }
    const record = parseViewVersion(bytes, this.store.uriOf(key), name, version);
    this.cache.set(id, record);
    return record;
  }

  /** The latest version of a view, or undefined when none was recorded. */
  async latestView(name: string): Promise<ViewVersion | undefined> {
    const numbers = await this.viewVersionNumbers(name);
    const last = numbers[numbers.length - 1];
    return last === undefined ? undefined : this.viewVersion(name, last);
  }

  /**
   * Records the view's definition as its next version unless the latest version already has it. Safe
   * against concurrent writers in any number of processes (compare-and-swap on the next number).
   */
  async recordView(view: FeatureViewSpec, spec: FeatureStoreSpec): Promise<ApplyResult> {
    const definition = viewDefinition(view, spec);
    const digest = sha256(canonicalJson(definition));
    for (let attempt = 1; attempt <= MAX_COMMIT_ATTEMPTS; attempt++) {
      const latest = await this.latestView(view.name);
      if (latest?.digest === digest) return { view: view.name, version: latest.version, changed: false, digest };
      const version = (latest?.version ?? 0) + 1;
      if (version > MAX_VERSION) throw new MlopsError(`Feature view "${view.name}" has reached the last version number ${MAX_VERSION}.`);
      const record: ViewVersion = { kind: "FeatureViewVersion", name: view.name, version, digest, definition, createdAt: new Date().toISOString() };
      if (await this.store.putIfAbsent(viewKey(view.name, version), JSON.stringify(record, null, 2) + "\n")) {
        this.cache.set(`${view.name}:${version}`, record);
        return { view: view.name, version, changed: true, digest };
      }
      // Another writer took this number: look again (it may have recorded this very definition).
    }
    throw new Error(`Could not record a version of feature view "${view.name}" in ${this.uri} after ${MAX_COMMIT_ATTEMPTS} attempts: too many concurrent applies.`);
  }

  /** Records every view of the spec (each view independently; see {@link recordView}). */
  async apply(spec: FeatureStoreSpec): Promise<ApplyResult[]> {
    return Promise.all(spec.views.map((v) => this.recordView(v, spec)));
  }
}

function parseViewVersion(bytes: Buffer, where: string, name: string, version: number): ViewVersion {
  const fix = `Restore it from the bucket's object versions or a backup; or delete it and run mlops features apply again.`;
  let record: ViewVersion;
  try {
    record = JSON.parse(bytes.toString("utf8")) as ViewVersion;
  } catch (err) {
    throw new MlopsError(`Feature view version ${where} is corrupt: not JSON (${(err as Error).message}). ${fix}`);
  }
  if (record?.kind !== "FeatureViewVersion" || record.name !== name || record.version !== version || !/^sha256:[0-9a-f]{64}$/.test(String(record.digest)) || typeof record.definition !== "object") {
    throw new MlopsError(`Feature view version ${where} is corrupt: it does not describe ${name}:${version} with a sha256 digest. ${fix}`);
  }
  return record;
}
