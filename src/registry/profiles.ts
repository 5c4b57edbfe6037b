/**
 * Reference profiles beside model versions: `models/<name>/profiles/<10 digits>.json`, the drift profile
 * (runtime/drift's buildProfile output) of the features a version was trained on, written by the
 * training job right after it registers the version. `mlops drift --model` reads it back, so a drift
 * run needs neither the training data nor the job that read it.
 *
 * The profile is opaque here (`unknown`): its shape belongs to the drift runtime, which validates it
 * when it reads it; this module only places and fetches the JSON.
 */
import { MlopsError } from "../errors.js";
import { MODEL_NAME_PATTERN } from "../spec/model-ref.js";
import type { ObjectStore } from "../store/types.js";

/** The key of version `version`'s profile, padded as the version records are. */
export function profileKey(name: string, version: number): string {
  if (!MODEL_NAME_PATTERN.test(name)) {
    throw MlopsError.of("model", "is not a model name", name, 'Use lowercase letters, digits, ".", "_" and "-" (e.g. "fraud").');
  }
  if (!Number.isInteger(version) || version < 1 || version > 9_999_999_999) {
    throw MlopsError.of("version", "is not a version number", version, "Give a whole number from 1 (a registered version).");
  }
  return `models/${name}/profiles/${String(version).padStart(10, "0")}.json`;
}

/** Writes the profile of `name:version` (replacing one written before); returns its URI. */
export async function putProfile(store: ObjectStore, name: string, version: number, profile: unknown): Promise<string> {
  const key = profileKey(name, version);
  await store.put(key, JSON.stringify(profile, null, 2) + "\n");
  return store.uriOf(key);
}

/** The profile of `name:version`, parsed; undefined when none was saved. A file that is not JSON throws. */
export async function getProfile(store: ObjectStore, name: string, version: number): Promise<unknown | undefined> {
  const key = profileKey(name, version);
  const bytes = await store.get(key);
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(bytes.toString("utf8")) as unknown;
  } catch (err) {
    throw new MlopsError(
      `The reference profile ${store.uriOf(key)} of ${name}:${version} is not JSON (${(err as Error).message}). Train the version again, or write its profile with: mlops drift profile <training data> --out <file>, then copy it there.`,
    );
  }
}
