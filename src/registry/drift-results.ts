/**
 * Drift results beside a model: `models/<name>/drift/<ISO stamp>.json` for every `mlops drift --model`
 * run, and `models/<name>/drift/latest.json`, the last one (what a promotion check or a dashboard reads
 * without listing the history).
 */
import { z } from "zod";
import { MlopsError, parseOrThrow } from "../errors.js";
import { MODEL_NAME_PATTERN } from "../spec/model-ref.js";
import type { ObjectStore } from "../store/types.js";

const driftResultSchema = z.object({
  /** When the run finished (ISO 8601, UTC). */
  at: z.iso.datetime(),
  model: z.string().regex(MODEL_NAME_PATTERN),
  /** The version whose reference profile the data was compared against. */
  version: z.number().int().positive(),
  /** The alias the run was given (`--model <name>@<alias>`), when it was given one. */
  alias: z.string().optional(),
  dataset_drift: z.boolean(),
  share_drifted: z.number().min(0).max(1),
  /** The drifted columns. */
  drifted: z.array(z.string()),
  /** Where the report went: its folder, or a URI. */
  report: z.string(),
});

export type DriftResult = z.infer<typeof driftResultSchema>;

const dir = (name: string): string => {
  if (!MODEL_NAME_PATTERN.test(name)) {
    throw MlopsError.of("model", "is not a model name", name, 'Use lowercase letters, digits, ".", "_" and "-" (e.g. "fraud").');
  }
  return `models/${name}/drift`;
};

/** The key of one run's record: its time with `:` and `.` made key-safe (`2026-05-01T12-00-00-123Z`). */
export function driftResultKey(name: string, at: string): string {
  return `${dir(name)}/${at.replace(/[:.]/g, "-")}.json`;
}

export function latestDriftKey(name: string): string {
  return `${dir(name)}/latest.json`;
}

/** Writes the run's record and then latest.json; returns the record's URI. */
export async function writeDriftResult(store: ObjectStore, result: DriftResult): Promise<string> {
  const r = parseOrThrow(driftResultSchema, result, "drift result", `Cannot record the drift result of ${String(result?.model)}`);
  const body = JSON.stringify(r, null, 2) + "\n";
  const key = driftResultKey(r.model, r.at);
  await store.put(key, body);
  await store.put(latestDriftKey(r.model), body);
  return store.uriOf(key);
}

/** The last recorded drift result of `name`, or undefined when none was written. */
export async function latestDriftResult(store: ObjectStore, name: string): Promise<DriftResult | undefined> {
  const key = latestDriftKey(name);
  const bytes = await store.get(key);
  if (bytes === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new MlopsError(`The drift result ${store.uriOf(key)} is not JSON (${(err as Error).message}). Run mlops drift --model ${name}@<alias> again to rewrite it.`);
  }
  return parseOrThrow(driftResultSchema, raw, "drift result", store.uriOf(key));
}
