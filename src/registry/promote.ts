import { MlopsError, ifNotFound } from "../errors.js";
import type { ModelRef } from "../spec/model-ref.js";
import type { Registry } from "./registry.js";
import type { ModelVersion } from "./types.js";

export interface PromoteOptions {
  /** Move this alias of the target registry to the promoted version (e.g. `"champion"`). @default - no alias moves */
  readonly alias?: string;
}

/** What {@link promoteVersion} did. */
export interface PromotionResult {
  /** The version in the target registry: the new copy, or the one that already held the same digest. */
  readonly promoted: ModelVersion;
  /** Where it came from: `<source registry uri>#<name>:<version>`. */
  readonly promotedFrom: string;
  /** The alias moved to {@link promoted} in the target, when one was asked for. */
  readonly alias?: string;
  /** False when the target already had a version with this digest, which is then reported unchanged. */
  readonly copied: boolean;
}

/**
 * Promotes a version from one stage's registry into the next one's, as MLflow copies a model version
 * between registries: the copy gets the target's next version number and keeps the digest, metrics,
 * params, description and lineage, with `lineage.promotedFrom` recording the source. Idempotent by
 * digest: when the target already holds these bytes, nothing is copied and that version is reported.
 * A model the target has never seen is the usual first promotion, not an error.
 *
 * @param ref `name@alias` or `name:version` in `source`
 * @throws MlopsError when `source` and `target` are the same registry
 * @throws NotFoundError when `ref` names no version of `source`
 * @example
 * const { promoted } = await promoteVersion(staging, prod, "fraud@champion", { alias: "champion" });
 */
export async function promoteVersion(
  source: Registry,
  target: Registry,
  ref: string | ModelRef,
  opts: PromoteOptions = {},
): Promise<PromotionResult> {
  if (source.uri === target.uri) {
    throw MlopsError.of("target", "is the same registry as the source", target.uri, "Promote into the next stage's registry (e.g. s3://models-prod).");
  }
  const mv = await source.resolve(ref);
  const promotedFrom = `${source.uri}#${mv.name}:${mv.version}`;
  const inTarget = await target.list(mv.name).catch(ifNotFound([]));
  const existing = inTarget.find((v) => v.digest === mv.digest);
  const promoted =
    existing ??
    (await target.register(mv.name, await source.readArtifact(mv), {
      metrics: { ...mv.metrics },
      params: { ...mv.params },
      lineage: { ...mv.lineage, promotedFrom },
      ...(mv.description ? { description: mv.description } : {}),
    }));
  if (opts.alias) await target.setAlias(mv.name, opts.alias, promoted.version);
  return { promoted, promotedFrom, ...(opts.alias ? { alias: opts.alias } : {}), copied: !existing };
}
