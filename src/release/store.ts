import { MlopsError, NotFoundError } from "../errors.js";
import { MODEL_NAME_PATTERN } from "../spec/model-ref.js";
import type { ObjectStore } from "../store/types.js";
import { digestHex, releaseDigest } from "./digest.js";
import type { ReleaseBody, ReleaseRecord } from "./types.js";

/**
 * Releases in a registry's object store (contract 4): `releases/<name>/<hex>.json`, one immutable object
 * per release, named by the digest of its body. Writing is `putIfAbsent`: the same release created twice,
 * or promoted twice, keeps its first record.
 */

/** Shortest digest prefix accepted in a release reference (as git's short hashes). */
const MIN_PREFIX = 7;

export const releaseKey = (name: string, digest: string): string => `releases/${name}/${digestHex(digest)}.json`;

/** Checks a release name (the same rule as a model name). */
export function checkReleaseName(name: string, field = "release name"): string {
  if (typeof name !== "string" || !MODEL_NAME_PATTERN.test(name)) {
    throw MlopsError.of(field, "is not a valid release name", name, 'Use 1-63 lowercase letters, digits, ".", "_" and "-", starting with a letter or digit (e.g. "fraud").');
  }
  return name;
}

/** The stored bytes of a record: 2-space JSON, as every registry record. */
export function recordBytes(record: ReleaseRecord): string {
  return JSON.stringify(record, null, 2) + "\n";
}

/** Writes a release unless it exists; returns the stored record (the earlier one when it did) and whether it was new. */
export async function putRelease(store: ObjectStore, body: ReleaseBody, createdAt = new Date().toISOString()): Promise<{ record: ReleaseRecord; created: boolean }> {
  checkReleaseName(body.name);
  const record: ReleaseRecord = { digest: releaseDigest(body), createdAt, release: body };
  if (await store.putIfAbsent(releaseKey(body.name, record.digest), recordBytes(record))) return { record, created: true };
  return { record: await readRelease(store, body.name, record.digest), created: false };
}

/** Copies a record as it is (bytes and `createdAt` kept): what promotion does. Returns false when it was already there. */
export async function copyRelease(store: ObjectStore, record: ReleaseRecord): Promise<boolean> {
  if (await store.putIfAbsent(releaseKey(record.release.name, record.digest), recordBytes(record))) return true;
  await readRelease(store, record.release.name, record.digest);
  return false;
}

/** One release by its full digest. @throws NotFoundError; MlopsError when the stored record does not match its digest */
export async function readRelease(store: ObjectStore, name: string, digest: string): Promise<ReleaseRecord> {
  const key = releaseKey(checkReleaseName(name), digest);
  const bytes = await store.get(key);
  if (!bytes) throw new NotFoundError(`Release ${name}@${digest} is not in ${store.uri}. List the releases with: mlops release list ${name} --registry ${store.uri}.`);
  return parseRecord(bytes, store.uriOf(key), digest);
}

/** Releases of `name` (or of every name), oldest first by creation time. */
export async function listReleases(store: ObjectStore, name?: string): Promise<ReleaseRecord[]> {
  const prefix = name === undefined ? "releases/" : `releases/${checkReleaseName(name)}/`;
  const keys = (await store.list(prefix)).filter((k) => /^releases\/[^/]+\/[0-9a-f]{64}\.json$/.test(k));
  const records: ReleaseRecord[] = [];
  for (let i = 0; i < keys.length; i += 16) {
    const batch = keys.slice(i, i + 16);
    const loaded = await Promise.all(
      batch.map(async (k) => {
        const bytes = await store.get(k);
        return bytes ? parseRecord(bytes, store.uriOf(k), `sha256:${k.slice(-69, -5)}`) : undefined;
      }),
    );
    records.push(...loaded.filter((r): r is ReleaseRecord => r !== undefined));
  }
  return records.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.digest < b.digest ? -1 : 1));
}

/**
 * The release a reference names: `<name>` (the most recently created), `<name>@sha256:<hex>` or a prefix of
 * the hex of at least 7 digits (`<name>@3f2a9c1`). @throws NotFoundError listing what exists, MlopsError when ambiguous
 */
export async function resolveRelease(store: ObjectStore, ref: string, field = "release"): Promise<ReleaseRecord> {
  const m = /^([^@]+)(?:@(?:sha256:)?([0-9a-f]*))?$/.exec(ref);
  if (!m || (ref.includes("@") && (m[2] ?? "").length < MIN_PREFIX)) {
    throw MlopsError.of(field, "is not a release reference", ref, `Write "<name>" (the latest release), "<name>@sha256:<hex>" or "<name>@<first ${MIN_PREFIX}+ hex digits>".`);
  }
  const name = checkReleaseName(m[1]!, field);
  const prefix = m[2];
  if (prefix?.length === 64) return readRelease(store, name, `sha256:${prefix}`);
  const all = await listReleases(store, name);
  if (all.length === 0) throw new NotFoundError(`Release "${name}" does not exist in ${store.uri}. Create one with: mlops release create ${name} --model <name>@<alias> --registry ${store.uri}.`);
  if (prefix === undefined) return all[all.length - 1]!;
  const matches = all.filter((r) => digestHex(r.digest).startsWith(prefix));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) {
    throw new NotFoundError(`Release ${ref} is not in ${store.uri}; "${name}" has ${all.map((r) => r.digest.slice(0, 19)).join(", ")}.`);
  }
  throw MlopsError.of(field, `matches ${matches.length} releases (${matches.map((r) => r.digest.slice(0, 19)).join(", ")})`, ref, "Give more digits of the digest.");
}

function parseRecord(bytes: Buffer, where: string, digest: string): ReleaseRecord {
  const fix = "Restore it from the bucket's object versions or a backup, or create the release again (mlops release create).";
  let record: ReleaseRecord;
  try {
    record = JSON.parse(bytes.toString("utf8")) as ReleaseRecord;
  } catch (err) {
    throw new MlopsError(`Release record ${where} is corrupt: not JSON (${(err as Error).message}). ${fix}`);
  }
  if (record?.digest !== digest || typeof record.release !== "object" || record.release?.kind !== "Release") {
    throw new MlopsError(`Release record ${where} is corrupt: it does not hold release ${digest}. ${fix}`);
  }
  // Content-addressed: the body must still hash to the name it is stored under.
  const actual = releaseDigest(record.release);
  if (actual !== digest) throw new MlopsError(`Release record ${where} is corrupt: its body hashes to ${actual}, not ${digest}. ${fix}`);
  return record;
}

