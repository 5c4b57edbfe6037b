/**
 * Feast's `GetOnlineFeaturesRequest` (sdk/python/feast/feature_server.py), checked against the spec:
 *
 *     {"features": ["view:feature", …] | "feature_service": "name",
 *      "entities": {"customer_id": [1, 2]}, "full_feature_names": false}
 *
 * Entities are columnar, one list per join key, all of one length. Fields Feast clients may also send and
 * that change nothing here (`include_feature_view_version_metadata`, `request_context` for on-demand
 * views, which this store does not have) are accepted and ignored, as Feast's pydantic model ignores
 * unknown fields. Every refusal names the field, the value and the fix, with the HTTP status it maps to.
 */
import { MlopsError, problem } from "../../../src/errors.js";
import type { FeatureStoreSpec, FeatureViewSpec } from "../../../src/spec/features.js";
import { parseFeatureRefs, viewTtlSeconds } from "../../../src/spec/features.js";
import { keyFix, keyText, viewKeys, type KeyType, type ViewKeys } from "./keys.js";

/** A refused request: the message (field, value, fix) and the HTTP status. */
export class RequestError extends MlopsError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }

  static at(status: number, field: string, what: string, value: unknown, fix: string): RequestError {
    return new RequestError(status, problem(field, what, value, fix));
  }
}

export interface LookupLimits {
  /** Entity rows per request. @default 1000 */
  readonly maxEntities: number;
  /** Features per request. @default 1000 */
  readonly maxFeatures: number;
}

export const LOOKUP_LIMITS: LookupLimits = { maxEntities: 1000, maxFeatures: 1000 };

/** One view's part of a compiled request. */
export interface PlanView {
  readonly view: FeatureViewSpec;
  readonly keys: ViewKeys;
  /** The view's requested features, in request order. */
  readonly features: string[];
  /** The view's TTL in µs; Infinity when unlimited. */
  readonly ttlMicros: number;
}

/** A `features` list compiled against the spec (cached: clients send the same few lists again and again). */
export interface LookupPlan {
  readonly views: readonly PlanView[];
  /** Per requested feature, in request order: its view (index in `views`) and its place in that view's features. */
  readonly outputs: ReadonlyArray<{ readonly view: number; readonly feature: number }>;
  /** `"name","name"`: the output feature names as JSON text, for `metadata.feature_names`. */
  readonly namesJson: string;
  /** {@link namesJson} as UTF-8 bytes, what the answer writer copies. */
  readonly namesBytes: Buffer;
  /** Join keys the request must give, with their types. */
  readonly joinKeys: ReadonlyMap<string, KeyType>;
}

/** A checked request: the plan, and each entity column's canonical key texts. */
export interface OnlineRequest {
  readonly plan: LookupPlan;
  /** Entity columns in the order the request gave them (the answer's first columns). */
  readonly entityNames: readonly string[];
  readonly entityTexts: ReadonlyMap<string, readonly string[]>;
  readonly rows: number;
}

const PLAN_CACHE_SIZE = 256;

/** Compiles and caches plans for one spec. */
export class PlanCache {
  /** Plans by a short key (the list's length, ends and the naming); each entry holds its whole list. */
  private readonly plans = new Map<string, Array<{ features: readonly string[]; plan: LookupPlan }>>();
  private size = 0;
  constructor(readonly spec: FeatureStoreSpec) {}

  plan(features: readonly string[], fullNames: boolean, field: string): LookupPlan {
    // Found without joining the list into one string: the short key, then the list compared item by item.
    const id = `${fullNames ? "1" : "0"}${features.length}\0${features[0]}\0${features[features.length - 1]}`;
    const bucket = this.plans.get(id);
    if (bucket) {
      for (const e of bucket) if (sameList(e.features, features)) return e.plan;
    }
    const plan = compilePlan(this.spec, features, fullNames, field);
    // Bounded: a client cycling through feature lists must not grow the cache without end.
    if (this.size >= PLAN_CACHE_SIZE) {
      const [oldest, list] = this.plans.entries().next().value!;
      list.shift();
      if (list.length === 0) this.plans.delete(oldest);
      this.size--;
    }
    if (bucket && this.plans.has(id)) bucket.push({ features: [...features], plan });
    else this.plans.set(id, [{ features: [...features], plan }]);
    this.size++;
    return plan;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function compilePlan(spec: FeatureStoreSpec, features: readonly string[], fullNames: boolean, field: string): LookupPlan {
  const seen = new Set<string>();
  features.forEach((ref, i) => {
    if (typeof ref !== "string" || ref.indexOf(":") <= 0) {
      throw RequestError.at(400, `${field}[${i}]`, 'is not a "view:feature" reference', ref, 'Name each feature as "view:feature".');
    }
    if (seen.has(ref)) throw RequestError.at(400, `${field}[${i}]`, "is requested twice", ref, "Name each feature once.");
    seen.add(ref);
  });
  const views: PlanView[] = [];
  const byName = new Map<string, number>();
  const outputs: Array<{ view: number; feature: number }> = [];
  const names: string[] = [];
  const nameOwner = new Map<string, string>();
  const joinKeys = new Map<string, KeyType>();
  features.forEach((ref, i) => {
    let parsed;
    try {
      parsed = parseFeatureRefs([ref], spec, `${field}[${i}]`)[0]!;
    } catch (e) {
      throw new RequestError(404, (e as Error).message);
    }
    const view = spec.views.find((v) => v.name === parsed.view)!;
    if (!view.online) {
      throw RequestError.at(404, `${field}[${i}]`, `is in view ${view.name}, which is not in the online store (online: false)`, ref, "Set online: true on the view and materialize it, or read it offline with mlops features historical.");
    }
    let at = byName.get(view.name);
    if (at === undefined) {
      at = views.length;
      byName.set(view.name, at);
      const keys = viewKeys(view, spec);
      keys.names.forEach((k, j) => joinKeys.set(k, keys.types[j]!));
      views.push({ view, keys, features: [], ttlMicros: (viewTtlSeconds(view) ?? Infinity) * 1e6 });
    }
    const pv = views[at]!;
    outputs.push({ view: at, feature: pv.features.length });
    pv.features.push(parsed.feature);
    const name = fullNames ? `${view.name}__${parsed.feature}` : parsed.feature;
    const other = nameOwner.get(name);
    if (other !== undefined) {
      throw RequestError.at(400, `${field}[${i}]`, `gives the answer a second column named ${name} (also ${other})`, ref, 'Send "full_feature_names": true to name the columns view__feature.');
    }
    nameOwner.set(name, ref);
    names.push(name);
  });
  const namesJson = names.map((n) => JSON.stringify(n)).join(",");
  return { views, outputs, namesJson, namesBytes: Buffer.from(namesJson, "utf8"), joinKeys };
}

/** Checks a parsed JSON body against the spec and the limits; throws {@link RequestError}. */
export function parseOnlineRequest(body: unknown, plans: PlanCache, limits: LookupLimits = LOOKUP_LIMITS): OnlineRequest {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw RequestError.at(400, "(body)", "is not a JSON object", body, 'Send {"features": ["view:feature"], "entities": {"<join key>": [<values>]}}.');
  }
  const b = body as Record<string, unknown>;
  const fullNames = b.full_feature_names ?? false;
  if (typeof fullNames !== "boolean") throw RequestError.at(400, "full_feature_names", "is not a boolean", fullNames, "Send true or false, or leave it out.");
  const features = requestedFeatures(b, plans.spec, limits);
  const plan = plans.plan(features.list, fullNames, features.field);

  const entities = b.entities;
  if (entities === null || typeof entities !== "object" || Array.isArray(entities)) {
    throw RequestError.at(400, "entities", "is not an object of join key columns", entities, `Send {"entities": {${[...plan.joinKeys.keys()].map((k) => `"${k}": [...]`).join(", ")}}}.`);
  }
  const entityNames = Object.keys(entities);
  const entityTexts = new Map<string, string[]>();
  let rows = -1;
  for (const name of entityNames) {
    const type = plan.joinKeys.get(name);
    const column = (entities as Record<string, unknown>)[name];
    if (type === undefined) {
      throw RequestError.at(400, `entities.${name}`, "is not a join key of the requested views", name, `The requested views are keyed by: ${[...plan.joinKeys.keys()].join(", ")}.`);
    }
    if (!Array.isArray(column) || column.length === 0) {
      throw RequestError.at(400, `entities.${name}`, "is not a non-empty list", column, `Send one value per entity row, e.g. "${name}": [1001, 1002].`);
    }
    if (column.length > limits.maxEntities) {
      throw RequestError.at(400, `entities.${name}`, `holds more than ${limits.maxEntities} entity rows`, `${column.length} values`, `Split the request into requests of at most ${limits.maxEntities} rows.`);
    }
    if (rows >= 0 && column.length !== rows) {
      throw RequestError.at(400, `entities.${name}`, `has ${column.length} values where ${entityNames[0]} has ${rows}`, `${column.length} values`, "Give every join key column one value per entity row.");
    }
    rows = column.length;
    const texts = new Array<string>(column.length);
    for (let i = 0; i < column.length; i++) {
      const t = keyText(column[i], type);
      if (t === undefined) throw RequestError.at(400, `entities.${name}[${i}]`, `is not a valid ${type} join key value`, column[i], keyFix(type));
      texts[i] = t;
    }
    entityTexts.set(name, texts);
  }
  for (const k of plan.joinKeys.keys()) {
    if (!entityTexts.has(k)) {
      const needs = plan.views.filter((v) => v.keys.names.includes(k)).map((v) => v.view.name);
      throw RequestError.at(400, `entities.${k}`, `is missing; view ${needs.join(", ")} is keyed by it`, undefined, `Add "${k}": [<values>] to entities.`);
    }
  }
  return { plan, entityNames, entityTexts, rows };
}

function requestedFeatures(b: Record<string, unknown>, spec: FeatureStoreSpec, limits: LookupLimits): { list: readonly string[]; field: string } {
  const service = b.feature_service;
  const features = b.features;
  const hasFeatures = Array.isArray(features) && features.length > 0;
  if (service !== undefined && service !== null) {
    if (hasFeatures) throw RequestError.at(400, "feature_service", "is given together with features", service, "Send either features or feature_service.");
    if (typeof service !== "string") throw RequestError.at(400, "feature_service", "is not a string", service, "Name a feature service of this store.");
    const found = (spec.featureServices ?? []).find((s) => s.name === service);
    if (!found) {
      const known = (spec.featureServices ?? []).map((s) => s.name);
      throw RequestError.at(404, "feature_service", "is not a feature service of this store", service, known.length ? `Use one of: ${known.join(", ")}.` : "This store declares no featureServices: list the features instead.");
    }
    return { list: found.features, field: `featureServices.${service}.features` };
  }
  if (!Array.isArray(features) || features.length === 0) {
    throw RequestError.at(400, "features", "is not a non-empty list of feature references", features, 'Send "features": ["view:feature", …] (or "feature_service": "<name>").');
  }
  if (features.length > limits.maxFeatures) {
    throw RequestError.at(400, "features", `lists more than ${limits.maxFeatures} features`, `${features.length} features`, `Request at most ${limits.maxFeatures} features at a time.`);
  }
  return { list: features as string[], field: "features" };
}
