/**
 * The reference profile saved with each model version: the drift profile (runtime/drift/profile.ts)
 * of the features the version was trained on (the train split, as the trainer saw it), stored beside
 * the version record (src/registry/profiles.ts). `mlops drift --model <name>@<alias>` compares the
 * endpoint's payload logs against it without reading the training data again.
 */
import { putProfile } from "../../src/registry/profiles.js";
import { buildProfile, type Profile } from "../drift/profile.js";
import type { Dataset, Split } from "./dataset.js";
import type { RunContext } from "./job.js";

/** Features profiled at a time: one group's columns are copied out of the row-major matrix at once. */
const GROUP = 16;

/**
 * The profile of a split's features, in tensor order (kept in the profile's `features`, which is how
 * payload log columns get their names back). The matrix is row-major; columns are copied out a group
 * at a time, so at most {@link GROUP} columns are held beside it.
 */
export async function splitProfile(split: Split, features: readonly string[], source?: string): Promise<Profile> {
  const { X, n, d } = split;
  if (features.length !== d) throw new Error(`split has ${d} features but ${features.length} names were given`);
  let profile: Profile | undefined;
  for (let j0 = 0; j0 < d; j0 += GROUP) {
    const arrays: Record<string, Float64Array> = {};
    for (let j = j0; j < Math.min(d, j0 + GROUP); j++) {
      const col = new Float64Array(n);
      for (let i = 0; i < n; i++) col[i] = X[i * d + j]!;
      arrays[features[j]!] = col;
    }
    const part = await buildProfile(arrays, { features, ...(source ? { source } : {}) });
    profile = profile ? { ...profile, columns: { ...profile.columns, ...part.columns } } : part;
  }
  if (!profile) throw new Error("a split with no features has no profile");
  return profile;
}

/**
 * Saves version `version`'s reference profile. A failure is logged, not thrown: the version is
 * registered and its alias moved already, and a retry of this run would find it registered and not
 * come back here; `mlops drift --model` names the missing profile and how to write one.
 */
export async function saveReferenceProfile(ctx: Pick<RunContext, "spec" | "registry" | "log">, version: number, data: Dataset): Promise<string | undefined> {
  try {
    const profile = await splitProfile(data.train, data.features, data.uri);
    const uri = await putProfile(ctx.registry.store, ctx.spec.model, version, profile);
    ctx.log.info("reference profile saved", { model: ctx.spec.model, version, uri, rows: profile.rows, features: data.features.length });
    return uri;
  } catch (err) {
    ctx.log.warn("reference profile not saved: mlops drift --model cannot compare against this version until one is", {
      model: ctx.spec.model,
      version,
      error: (err as Error).message,
    });
    return undefined;
  }
}
