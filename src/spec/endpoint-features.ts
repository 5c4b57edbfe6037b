import { z } from "zod";
import { MlopsError, problem } from "../errors.js";
import { FeatureStoreSpecSchema, parseFeatureRefs, parseFeatureStoreSpec, type EntitySpec, type FeatureRef, type FeatureStoreSpec } from "./features.js";

/**
 * `features` of an EndpointSpec: serving by entity id. The endpoint opens the feature store's online store
 * at boot; an infer request may then send the entity's join key (an INT64 or BYTES tensor of shape [N] or
 * [N, 1], named like the join key) in place of the model's feature input, and the server looks the
 * features up, in the order listed, builds the [N, features] tensor in the input's datatype and runs the
 * model (runtime/serve/feature-input/).
 */
export const ENDPOINT_FEATURES_DEFAULTS = {
  missing: "error",
  /** Entity rows per request: each is one read of the online store. */
  maxEntities: 1000,
} as const;

/** What a missing (NOT_FOUND, NULL_VALUE) or stale (OUTSIDE_MAX_AGE) feature value does. */
export const MissingFeaturesSchema = z.union([z.literal("error"), z.object({ fill: z.number() }).strict()], {
  error: 'must be "error" (answer 422 naming the entity and the feature) or { fill: <number> } (serve that value instead)',
});

export const EndpointFeaturesSchema = z
  .object({
    /** The FeatureStore spec (the `spec` output of a FeatureStore, or the file `mlops features --spec` reads). */
    store: FeatureStoreSpecSchema,
    /** The entity whose join key the requests send, e.g. `customer` (join key `customer_id`). */
    entity: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, "must be an entity name of the feature store (lowercase letters, digits and '_')"),
    /** `view:feature` references in the model's input order: feature i becomes column i of the input. */
    features: z.array(z.string()).min(1, "must list at least one view:feature reference").max(10_000),
    /** The model input the features fill. @default - the model's only input */
    input: z.string().min(1).max(256).optional(),
    /** @default "error" */
    missing: MissingFeaturesSchema.default(ENDPOINT_FEATURES_DEFAULTS.missing),
    /** Entity rows a request may carry. @default 1000 */
    maxEntities: z.number().int().min(1).max(100_000).default(ENDPOINT_FEATURES_DEFAULTS.maxEntities),
  })
  .strict();

export type EndpointFeatures = z.output<typeof EndpointFeaturesSchema>;
export type EndpointFeaturesInput = z.input<typeof EndpointFeaturesSchema>;
export type MissingFeatures = EndpointFeatures["missing"];

/** The entity a `features` block serves by, resolved against its store. */
export interface FeatureEntity {
  readonly entity: EntitySpec;
  /** Its one join key: the name of the tensor requests send. */
  readonly joinKey: string;
  readonly refs: readonly FeatureRef[];
}

/**
 * The checks the schema cannot make, each naming its field under `at`: the store's own cross-checks, an
 * entity of the store with one join key, and features of online views keyed by that entity alone.
 */
export function endpointFeaturesProblems(f: EndpointFeatures, at = "features"): string[] {
  let store: FeatureStoreSpec;
  try {
    store = parseFeatureStoreSpec(f.store);
  } catch (e) {
    if (e instanceof MlopsError) return e.problems.map((p) => `${at}.store.${p}`);
    throw e;
  }
  const out: string[] = [];
  const entity = store.entities.find((e) => e.name === f.entity);
  if (!entity) {
    out.push(problem(`${at}.entity`, `is not an entity of feature store ${store.name}`, f.entity, `Use one of: ${store.entities.map((e) => e.name).join(", ")}.`));
    return out;
  }
  if (entity.joinKeys.length !== 1) {
    out.push(
      problem(
        `${at}.entity`,
        `has ${entity.joinKeys.length} join keys (${entity.joinKeys.join(", ")}); a request by entity id sends one key per row`,
        f.entity,
        "Serve by an entity with one join key (declare one that combines the keys in the sources), or send the model's features yourself.",
      ),
    );
  }
  const seen = new Set<string>();
  f.features.forEach((ref, i) => {
    const field = `${at}.features[${i}]`;
    if (seen.has(ref)) {
      out.push(problem(field, "is listed twice", ref, "List each feature once, in the model's input order."));
      return;
    }
    seen.add(ref);
    let parsed: FeatureRef;
    try {
      parsed = parseFeatureRefs([ref], store, field)[0]!;
    } catch (e) {
      if (!(e instanceof MlopsError)) throw e;
      out.push(e.message);
      return;
    }
    const view = store.views.find((v) => v.name === parsed.view)!;
    if (!view.online) {
      out.push(problem(field, `is in view ${view.name}, which is not in the online store (online: false)`, ref, "Set online: true on the view and materialize it."));
    } else if (view.entities.length !== 1 || view.entities[0] !== f.entity) {
      out.push(
        problem(field, `is in view ${view.name}, keyed by ${view.entities.join(" + ")}, not by entity ${f.entity} alone`, ref, `Serve features of views whose entities are [${f.entity}].`),
      );
    }
  });
  return out;
}

/** Throws one MlopsError listing every {@link endpointFeaturesProblems} of `spec.features` (none: `spec` as is). */
export function checkEndpointFeatures<T extends { readonly features?: EndpointFeatures }>(spec: T, source: string): T {
  if (spec.features === undefined) return spec;
  const problems = endpointFeaturesProblems(spec.features);
  if (problems.length === 0) return spec;
  throw new MlopsError(`${source}: ${problems.length} invalid value${problems.length === 1 ? "" : "s"}:\n  - ${problems.join("\n  - ")}`, problems);
}

/** The entity, its join key and the parsed references of a checked `features` block. */
export function featureEntity(f: EndpointFeatures): FeatureEntity {
  const entity = f.store.entities.find((e) => e.name === f.entity);
  if (!entity) throw new Error(`entity ${f.entity} is not in the store: the features block was not checked`);
  return { entity, joinKey: entity.joinKeys[0]!, refs: parseFeatureRefs(f.features, f.store, "features.features") };
}
