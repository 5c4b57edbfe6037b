import { FeatureRegistry, sha256File } from "../../src/features/registry.js";
import { saveTrainingSet, type TrainingSetManifest } from "../../src/features/training-sets.js";
import type { FeatureRef, FeatureStoreSpec } from "../../src/spec/features.js";
import type { HistoricalResult } from "./historical.js";

export interface SaveHistoricalOptions {
  readonly spec: FeatureStoreSpec;
  readonly refs: readonly FeatureRef[];
  /** The local entity file the join read. */
  readonly entities: string;
  readonly fullFeatureNames: boolean;
  readonly allowLaterWrites: boolean;
}

/**
 * Saves the output of {@link historicalFeatures} as the next version of training set `name` in the store's
 * registry, with its lineage: the exact view versions read (each definition is recorded first, a no-op
 * when already applied), the entity file's digest, the features and the columns. Used by
 * `mlops features historical --save` and by the main job.
 */
export async function saveHistorical(
  name: string,
  result: HistoricalResult,
  opts: SaveHistoricalOptions,
): Promise<TrainingSetManifest & { readonly changed: boolean }> {
  const { spec } = opts;
  const registry = FeatureRegistry.open(spec.registry);
  const views = await Promise.all(
    result.views.map(async (v) => {
      const view = spec.views.find((x) => x.name === v.view)!;
      const r = await registry.recordView(view, spec);
      return { name: v.view, version: r.version, digest: r.digest, source: view.source.uri };
    }),
  );
  return saveTrainingSet(registry, name, result.out, {
    store: spec.name,
    views,
    entities: { file: opts.entities, digest: await sha256File(opts.entities), rows: result.rows },
    features: opts.refs.map((r) => `${r.view}:${r.feature}`),
    fullFeatureNames: opts.fullFeatureNames,
    createdTimestampCutoff: !opts.allowLaterWrites,
    columns: result.columns,
    rows: result.rows,
  });
}
