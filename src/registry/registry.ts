import { createHash } from "node:crypto";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { z } from "zod";
import { MlopsError, NotFoundError, parseOrThrow } from "../errors.js";
import { readOnnxSignature } from "../onnx/signature.js";
import { USER_ENV } from "../spec/env.js";
import { ALIAS_PATTERN, MODEL_NAME_PATTERN, parseModelRef, type ModelRef } from "../spec/model-ref.js";
import { openStore } from "../store/index.js";
import type { ObjectStore } from "../store/types.js";
import type { Aliases, ModelVersion, RegisterOptions } from "./types.js";

/** Where a registry lives when neither an argument nor `$MLOPS_REGISTRY` says. */
export const DEFAULT_REGISTRY_URI = "file://.mlops/registry";
/** Highest version number (`name:version` references allow 9 digits). */
const MAX_VERSION = 999_999_999;
/** Commit attempts before giving up; each lost race re-reads the latest version first. */
const MAX_COMMIT_ATTEMPTS = 50;

/**
 * The registry URI: `$MLOPS_REGISTRY`, else `file://.mlops/registry`, with a relative `file://` path
 * made absolute against the working directory.
 * @default "file://<cwd>/.mlops/registry"
 */
export function defaultRegistryUri(env: NodeJS.ProcessEnv = process.env): string {
  const uri = env[USER_ENV.registry] || DEFAULT_REGISTRY_URI;
  return uri.startsWith("file://") ? openStore(uri).uri : uri;
}

const registerOptionsSchema = z.strictObject({
  metrics: z.record(z.string().min(1), z.number().refine(Number.isFinite, "must be a finite number")).optional(),
  params: z.record(z.string().min(1), z.string()).optional(),
  lineage: z
    .strictObject({
      datasetUri: z.string().optional(),
      datasetDigest: z.string().optional(),
      codeRevision: z.string().optional(),
      imageDigest: z.string().optional(),
      trainer: z.string().optional(),
      parentVersion: z.number().int().positive().optional(),
      runId: z.string().optional(),
      promotedFrom: z.string().optional(),
      trainingSet: z
        .strictObject({
          name: z.string().min(1),
          version: z.number().int().positive(),
          digest: z.string().min(1),
          registry: z.string().min(1),
          views: z.record(z.string(), z.number().int().positive()),
          entitiesDigest: z.string().min(1),
          features: z.array(z.string()),
        })
        .optional(),
    })
    .optional(),
  alias: z.string().regex(ALIAS_PATTERN, "must be a lowercase name starting with a letter, e.g. \"champion\"").optional(),
  description: z.string().optional(),
});

/**
 * A model registry on an object store, with MLflow's model: immutable numbered versions, movable
 * aliases, lineage. Layout (the same on every backend):
 *
 * - `blobs/sha256/<hex>`: artifacts, content-addressed, written first (idempotent);
 * - `models/<name>/versions/<10 digits>.json`: one record per version, created with `putIfAbsent`,
 *   the single commit point: concurrent registrations each win a distinct number, and a process that
 *   dies before it leaves at most an unreferenced blob;
 * - `models/<name>/aliases/<alias>.json`: one object per alias, so moving one is one atomic write.
 */
/** The largest artifact accepted: a protobuf message (an ONNX model without external data) is at most 2 GiB. */
export const MAX_ARTIFACT_BYTES = 2 ** 31 - 1;

export class Registry {
  /** The store's normalized URI (`file:///abs/path`, `s3://bucket/prefix`). */
  readonly uri: string;
  // Version records are immutable once committed, so they are cached forever; aliases never are.
  private readonly versions = new Map<string, ModelVersion>();

  constructor(readonly store: ObjectStore) {
    this.uri = store.uri;
  }

  /** Opens the registry at `uri`. @default defaultRegistryUri() */
  static async open(uri: string = defaultRegistryUri()): Promise<Registry> {
    return new Registry(openStore(uri));
  }

  /**
   * Registers an ONNX artifact as the next version of `name` (creating the model at version 1), reading
   * its input/output signature from the graph. Moves `opts.alias` to it when given.
   */
  async register(name: string, artifact: Buffer, opts: RegisterOptions = {}): Promise<ModelVersion> {
    checkName(name);
    const o = parseOrThrow(registerOptionsSchema, opts, "options", `Cannot register model "${name}"`);
    const signature = readOnnxSignature(artifact, `Model "${name}" artifact`);
    const hex = createHash("sha256").update(artifact).digest("hex");
    // Content-addressed: an existing blob should already hold these exact bytes. Verify before trusting it:
    // a corrupt blob would otherwise be reused for ever, and "register the model again" would never repair it.
    if (!(await this.store.putIfAbsent(blobKey(hex), artifact))) {
      const existing = await this.store.get(blobKey(hex));
      if (!existing || createHash("sha256").update(existing).digest("hex") !== hex) await this.store.put(blobKey(hex), artifact);
    }

    const base = {
      name,
      digest: `sha256:${hex}`,
      uri: this.store.uriOf(blobKey(hex)),
      format: "onnx" as const,
      sizeBytes: artifact.length,
      metrics: o.metrics ?? {},
      params: o.params ?? {},
      lineage: o.lineage ?? {},
      signature,
      ...(o.description !== undefined ? { description: o.description } : {}),
    };
    let version = (await this.latestVersion(name)) + 1;
    for (let attempt = 1; ; attempt++) {
      if (version > MAX_VERSION) throw new MlopsError(`Model "${name}" has reached the last version number ${MAX_VERSION}.`);
      const record: ModelVersion = { ...base, version, createdAt: new Date().toISOString() };
      if (await this.store.putIfAbsent(versionKey(name, version), JSON.stringify(record, null, 2) + "\n")) {
        this.versions.set(`${name}:${version}`, record);
        if (o.alias) await this.setAlias(name, o.alias, version);
        return record;
      }
      if (attempt >= MAX_COMMIT_ATTEMPTS) {
        throw new Error(`Could not commit a version of model "${name}" in ${this.uri} after ${attempt} attempts: too many concurrent registrations.`);
      }
      // Lost the race for this number: jump past every version committed since.
      version = Math.max(version + 1, (await this.latestVersion(name)) + 1);
    }
  }

  /** Registers the ONNX file at `file` (see {@link register} and {@link readModelFile}). */
  async registerFile(name: string, file: string, opts: RegisterOptions = {}): Promise<ModelVersion> {
    return this.register(name, await readModelFile(file), opts);
  }

  /** One version's record. @throws NotFoundError listing the versions that exist */
  async get(name: string, version: number): Promise<ModelVersion> {
    checkName(name);
    if (!Number.isInteger(version) || version < 1 || version > MAX_VERSION) {
      throw MlopsError.of("version", "is not a version number", version, `Give an integer from 1 to ${MAX_VERSION}.`);
    }
    const cached = this.versions.get(`${name}:${version}`);
    if (cached) return cached;
    const bytes = await this.store.get(versionKey(name, version));
    if (!bytes) {
      const versions = await this.versionNumbers(name);
      if (versions.length === 0) throw await this.noModel(name);
      throw new NotFoundError(`Model "${name}" has no version ${version} in ${this.uri}; it has versions ${summarize(versions)}.`);
    }
    const record = parseRecord(bytes, this.store.uriOf(versionKey(name, version)), name, version);
    this.versions.set(`${name}:${version}`, record);
    return record;
  }

  /** Every version of `name`, ascending. @throws NotFoundError when the model has none */
  async list(name: string): Promise<ModelVersion[]> {
    const numbers = await this.versionNumbers(checkName(name));
    if (numbers.length === 0) throw await this.noModel(name);
    const out: ModelVersion[] = [];
    // Bounded parallelism: one round trip per uncached record on S3.
    for (let i = 0; i < numbers.length; i += 16) {
      out.push(...(await Promise.all(numbers.slice(i, i + 16).map((v) => this.get(name, v)))));
    }
    return out;
  }

  /**
   * Every version of `name` that can be read, and the ones that cannot (a corrupt record), so a listing
   * shows the good versions and marks the bad. @throws NotFoundError when the model has none
   */
  async survey(name: string): Promise<{ versions: ModelVersion[]; broken: { version: number; problem: string }[] }> {
    const numbers = await this.versionNumbers(checkName(name));
    if (numbers.length === 0) throw await this.noModel(name);
    const versions: ModelVersion[] = [];
    const broken: { version: number; problem: string }[] = [];
    for (let i = 0; i < numbers.length; i += 16) {
      const batch = numbers.slice(i, i + 16);
      const results = await Promise.allSettled(batch.map((v) => this.get(name, v)));
      results.forEach((r, j) => {
        if (r.status === "fulfilled") versions.push(r.value);
        else if (r.reason instanceof CorruptRecordError) broken.push({ version: batch[j]!, problem: r.reason.message });
        else throw r.reason;
      });
    }
    return { versions, broken };
  }

  /** Names of the models that have at least one version, sorted. */
  async models(): Promise<string[]> {
    const names = new Set<string>();
    for (const key of await this.store.list("models/")) {
      const m = /^models\/([^/]+)\/versions\/\d{10}\.json$/.exec(key);
      if (m) names.add(m[1]!);
    }
    return [...names].sort();
  }

  /** The aliases of `name` (alias → version). @throws NotFoundError when the model has no version */
  async aliases(name: string): Promise<Aliases> {
    checkName(name);
    const prefix = `models/${name}/aliases/`;
    const keys = (await this.store.list(prefix)).filter((k) => k.endsWith(".json"));
    if (keys.length === 0 && (await this.versionNumbers(name)).length === 0) throw await this.noModel(name);
    const out: Record<string, number> = {};
    for (const key of keys) {
      const alias = key.slice(prefix.length, -".json".length);
      const version = await this.readAlias(name, alias);
      if (version !== undefined) out[alias] = version;
    }
    return out;
  }

  /** Points `alias` of `name` at an existing `version` (one atomic write; readers see old or new). */
  async setAlias(name: string, alias: string, version: number): Promise<void> {
    checkAlias(alias);
    await this.get(name, version);
    const record = { name, alias, version, updatedAt: new Date().toISOString() };
    await this.store.put(aliasKey(name, alias), JSON.stringify(record, null, 2) + "\n");
  }

  /** Removes `alias` of `name`. @throws NotFoundError listing the aliases that exist */
  async removeAlias(name: string, alias: string): Promise<void> {
    checkName(name);
    checkAlias(alias);
    if (!(await this.store.exists(aliasKey(name, alias)))) throw await this.noAlias(name, alias);
    await this.store.delete(aliasKey(name, alias));
  }

  /**
   * The version a reference names: `name@alias` (read fresh on every call, so a server polling it sees
   * alias moves) or `name:version`. Costs one or two small reads.
   */
  async resolve(ref: string | ModelRef): Promise<ModelVersion> {
    const r = typeof ref === "string" ? parseModelRef(ref) : ref;
    if (r.alias === undefined) return this.get(r.name, r.version);
    checkName(r.name);
    const version = await this.readAlias(r.name, r.alias);
    if (version === undefined) throw await this.noAlias(r.name, r.alias);
    return this.get(r.name, version);
  }

  /** The artifact bytes of a version, checked against its digest. */
  async readArtifact(mv: ModelVersion): Promise<Buffer> {
    const hex = /^sha256:([0-9a-f]{64})$/.exec(mv.digest)?.[1];
    if (!hex) throw new Error(`Model "${mv.name}" version ${mv.version} has a malformed digest ${JSON.stringify(mv.digest)}.`);
    const bytes = await this.store.get(blobKey(hex));
    if (!bytes) {
      throw new NotFoundError(`Model "${mv.name}" version ${mv.version}: artifact ${mv.digest} is missing from ${this.uri}.`);
    }
    const actual = createHash("sha256").update(bytes).digest("hex");
    if (actual !== hex) {
      throw new MlopsError(
        `Model "${mv.name}" version ${mv.version}: artifact in ${this.uri} is corrupt (digest sha256:${actual}, expected ${mv.digest}). Register the model again.`,
      );
    }
    return bytes;
  }

  private async readAlias(name: string, alias: string): Promise<number | undefined> {
    const bytes = await this.store.get(aliasKey(name, checkAlias(alias)));
    if (!bytes) return undefined;
    let version: unknown;
    try {
      version = (JSON.parse(bytes.toString("utf8")) as { version?: unknown } | null)?.version;
    } catch {
      version = undefined;
    }
    if (typeof version !== "number" || !Number.isInteger(version) || version < 1) {
      throw new CorruptRecordError(
        `Alias record ${this.store.uriOf(aliasKey(name, alias))} is corrupt: it holds no version number. Set the alias again: mlops registry alias ${name} ${alias} <version>.`,
      );
    }
    return version;
  }

  private async versionNumbers(name: string): Promise<number[]> {
    const numbers: number[] = [];
    for (const key of await this.store.list(`models/${name}/versions/`)) {
      const m = /\/(\d{10})\.json$/.exec(key);
      if (m) numbers.push(Number(m[1]));
    }
    return numbers.sort((a, b) => a - b);
  }

  private async latestVersion(name: string): Promise<number> {
    const numbers = await this.versionNumbers(name);
    return numbers[numbers.length - 1] ?? 0;
  }

  private async noModel(name: string): Promise<NotFoundError> {
    const models = await this.models();
    return new NotFoundError(
      `Model "${name}" does not exist in ${this.uri}; ${models.length ? `it has models ${summarize(models)}` : "it has no models yet"}. Register it first (mlops registry register ${name} --file <model.onnx>).`,
    );
  }

  private async noAlias(name: string, alias: string): Promise<NotFoundError> {
    const aliases = await this.aliases(name);
    const listed = Object.entries(aliases).map(([a, v]) => `${a} → ${v}`);
    return new NotFoundError(
      `Model "${name}" has no alias "${alias}" in ${this.uri}; ${listed.length ? `its aliases are ${listed.join(", ")}` : "it has no aliases"}. Set one with: mlops registry alias ${name} ${alias} <version>.`,
    );
  }
}

/** The bytes of a model file to register: a regular file, readable, no larger than an ONNX model can be. */
export async function readModelFile(file: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) throw MlopsError.of("file", "is not a regular file", path.resolve(file), "Give the path of an .onnx file (not a folder, device or pipe).");
    if (st.size > MAX_ARTIFACT_BYTES) {
      throw MlopsError.of("file", `is ${st.size} bytes, more than an ONNX model can be (${MAX_ARTIFACT_BYTES}: protobuf's 2 GiB limit)`, path.resolve(file), "Export the model with external data, or make it smaller.");
    }
    bytes = await fs.readFile(file);
  } catch (err) {
    if (err instanceof MlopsError) throw err;
    throw MlopsError.of("file", `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, path.resolve(file), "Give the path of an existing .onnx file.");
  }
  return bytes;
}

function checkName(name: string): string {
  if (typeof name !== "string" || !MODEL_NAME_PATTERN.test(name)) {
    throw MlopsError.of("model name", "is not a valid model name", name, 'Use 1-63 lowercase letters, digits, ".", "_" and "-", starting with a letter or digit (e.g. "fraud-detector").');
  }
  return name;
}

function checkAlias(alias: string): string {
  if (typeof alias !== "string" || !ALIAS_PATTERN.test(alias)) {
    throw MlopsError.of("alias", "is not a valid alias", alias, 'Use 1-63 lowercase letters, digits, ".", "_" and "-", starting with a letter (e.g. "champion").');
  }
  return alias;
}

function blobKey(hex: string): string {
  return `blobs/sha256/${hex}`;
}

function versionKey(name: string, version: number): string {
  return `models/${name}/versions/${String(version).padStart(10, "0")}.json`;
}

function aliasKey(name: string, alias: string): string {
  return `models/${name}/aliases/${alias}.json`;
}

/** A version or alias record that cannot be read: names the object and how to recover. */
export class CorruptRecordError extends MlopsError {}

function parseRecord(bytes: Buffer, where: string, name: string, version: number): ModelVersion {
  const fix = `Restore it from the bucket's object versions or a backup, or delete it to drop ${name}:${version} (mlops registry list ${name} shows the good versions).`;
  let record: ModelVersion;
  try {
    record = JSON.parse(bytes.toString("utf8")) as ModelVersion;
  } catch (err) {
    throw new CorruptRecordError(`Version record ${where} is corrupt: not JSON (${(err as Error).message}). ${fix}`);
  }
  if (record?.name !== name || record.version !== version || typeof record.digest !== "string" || !/^sha256:[0-9a-f]{64}$/.test(record.digest)) {
    throw new CorruptRecordError(`Version record ${where} is corrupt: it does not describe ${name}:${version} with a sha256 digest. ${fix}`);
  }
  return record;
}

/** "1, 2, 3" or "1, 2, …, 40" (the first and the last few) so a message stays one line. */
function summarize(items: readonly (string | number)[]): string {
  if (items.length <= 12) return items.join(", ");
  return `${items.slice(0, 3).join(", ")}, …, ${items.slice(-5).join(", ")} (${items.length} in all)`;
}
