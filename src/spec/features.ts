import { z } from "zod";
import { MlopsError, parseOrThrow, problem } from "../errors.js";

/**
 * The FeatureStore spec: entities, feature views over offline sources, and where the online store lives.
 * One schema on both sides: the `FeatureStore` component renders it into its jobs ({@link FEATURE_SPEC_ENV}),
 * and `mlops features … --spec <file>` reads it from YAML or JSON.
 */
export const FEATURE_SPEC_ENV = "MLOPS_FEATURE_SPEC";

export const FEATURE_DTYPES = ["float32", "float64", "int32", "int64", "bool", "string"] as const;
export type FeatureDtype = (typeof FEATURE_DTYPES)[number];

export const FEATURE_DEFAULTS = {
  timestampField: "event_timestamp",
  /** How far back `materialize --incremental` re-scans before the stored watermark, for late rows. */
  lateness: "1h",
  /** Rows per chunk when materializing; memory is bounded by this, not by the window. */
  chunkRows: 50_000,
  servePort: 6566,
} as const;

/** `30s`, `15m`, `6h`, `3d`: a whole number and one unit. */
export const DURATION_PATTERN = /^([1-9][0-9]{0,8})(s|m|h|d)$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** Seconds in a {@link DURATION_PATTERN} duration; throws naming `field` when it is not one. */
export function durationSeconds(text: string, field = "duration"): number {
  const m = DURATION_PATTERN.exec(text);
  if (!m) throw MlopsError.of(field, "is not a duration", text, 'Write a whole number and a unit: "30s", "15m", "6h" or "3d".');
  return Number(m[1]) * UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS];
}

const NAME = /^[a-z][a-z0-9_]{0,62}$/;
const name = (what: string) => z.string().regex(NAME, `must be a ${what} name: lowercase letters, digits and '_', starting with a letter`);
const COLUMN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const column = z.string().regex(COLUMN, "must be a column name: letters, digits and '_', not starting with a digit");
const uri = z.string().regex(/^(file|s3):\/\/.+/, "must be a file:// or s3:// URI");
const duration = z.string().regex(DURATION_PATTERN, 'must be a duration such as "30s", "15m", "6h" or "3d"');

const Entity = z
  .object({
    name: name("entity"),
    /** Columns that identify one entity in the sources and in entity files, e.g. `[customer_id]`. */
    joinKeys: z.array(column).min(1, "must name at least one join key column"),
    /** The join keys' type in the online store and at serving (an INT64 or BYTES tensor). @default "int64" */
    valueType: z.enum(["int64", "string"]).default("int64"),
    description: z.string().max(1000).optional(),
  })
  .strict();

const Source = z
  .object({
    /** A `.csv` or `.parquet` file (or a folder/glob of Parquet files), `file://` or `s3://`. */
    uri,
    /** Inferred from the extension when absent. */
    format: z.enum(["csv", "parquet"]).optional(),
    /** When the value was true in the world (ISO 8601 in CSV). */
    timestampField: column.default(FEATURE_DEFAULTS.timestampField),
    /** When the row was written; breaks ties between equal event timestamps and marks backfills. */
    createdTimestampField: column.optional(),
  })
  .strict();

const Feature = z
  .object({
    name: column,
    dtype: z.enum(FEATURE_DTYPES),
    description: z.string().max(1000).optional(),
  })
  .strict();

const View = z
  .object({
    name: name("view"),
    entities: z.array(name("entity")).min(1, "must name at least one entity"),
    source: Source,
    /** How old a value may be and still be used, offline (join lookback) and online (read-time max age). Absent: unlimited. */
    ttl: duration.optional(),
    features: z.array(Feature).min(1, "must declare at least one feature"),
    /** Materialize this view into the online store. @default true */
    online: z.boolean().default(true),
    tags: z.record(z.string(), z.string()).default({}),
  })
  .strict();

const FeatureService = z
  .object({
    name: name("feature service"),
    /** `view:feature` references, in the order the answer lists them. */
    features: z.array(z.string()).min(1, "must list at least one view:feature reference"),
    description: z.string().max(1000).optional(),
  })
  .strict();

const EmbeddedOnline = z
  .object({
    embedded: z
      .object({
        /** Folder of the embedded store. Default: `online/` inside a file:// registry (required with an s3:// registry). */
        path: z.string().min(1).optional(),
      })
      .strict(),
  })
  .strict();

const RedisOnline = z
  .object({
    redis: z
      .object({
        /** `redis://host:port` or `rediss://` (TLS). A password belongs in {@link passwordEnv}, not in the URL. */
        url: z.string().regex(/^rediss?:\/\/[^\s]+$/, "must be a redis:// or rediss:// URL"),
        /** Environment variable holding the AUTH token (the component fills it from a Secret). */
        passwordEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "must be an environment variable name").optional(),
        /** Prefix for every key, so several stores can share one Redis. @default "<store name>:" */
        keyPrefix: z.string().max(64).optional(),
      })
      .strict(),
  })
  .strict();

export const FeatureStoreSpecSchema = z
  .object({
    apiVersion: z.literal("mlops/v1").default("mlops/v1"),
    kind: z.literal("FeatureStore").default("FeatureStore"),
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be lowercase letters, digits and '-'"),
    /** Object store URI for view versions, training sets and materialization watermarks. */
    registry: uri,
    online: z.union([EmbeddedOnline, RedisOnline]).default({ embedded: {} }),
    entities: z.array(Entity).min(1, "must declare at least one entity"),
    views: z.array(View).min(1, "must declare at least one view"),
    /** Named feature lists (Feast's feature services), requested as `feature_service` from the feature server. */
    featureServices: z.array(FeatureService).optional(),
    materialization: z
      .object({
        /** Re-scanned window before the watermark on `--incremental`, for rows that arrive late. */
        lateness: duration.default(FEATURE_DEFAULTS.lateness),
        chunkRows: z.number().int().min(100).max(10_000_000).default(FEATURE_DEFAULTS.chunkRows),
      })
      .strict()
      .default({ lateness: FEATURE_DEFAULTS.lateness, chunkRows: FEATURE_DEFAULTS.chunkRows }),
  })
  .strict();

export type FeatureStoreSpecInput = z.input<typeof FeatureStoreSpecSchema>;
export type FeatureStoreSpec = z.output<typeof FeatureStoreSpecSchema>;
export type FeatureViewSpec = FeatureStoreSpec["views"][number];
export type EntitySpec = FeatureStoreSpec["entities"][number];
export type FeatureSpec = FeatureViewSpec["features"][number];

/** Parses and cross-checks a FeatureStore spec; every problem names its field, the value and the fix. */
export function parseFeatureStoreSpec(input: unknown, source?: string): FeatureStoreSpec {
  const spec = parseOrThrow(FeatureStoreSpecSchema, input, "", source ? `feature store spec ${source}` : "feature store spec");
  const problems = crossChecks(spec);
  if (problems.length > 0) {
    const head = source ? `feature store spec ${source}: ` : "feature store spec: ";
    throw new MlopsError(`${head}${problems.length} invalid value${problems.length === 1 ? "" : "s"}:\n  - ${problems.join("\n  - ")}`, problems);
  }
  return spec;
}

/** Column names the runtime adds (`__event_ts`, `__created_ts`, …) start with this; declared columns may not. */
export const RESERVED_COLUMN_PREFIX = "__";

function crossChecks(spec: FeatureStoreSpec): string[] {
  const out: string[] = [];
  const entities = new Map<string, EntitySpec>();
  spec.entities.forEach((e, i) => {
    if (entities.has(e.name)) out.push(problem(`entities[${i}].name`, "is declared twice", e.name, "Give each entity its own name."));
    e.joinKeys.forEach((k, j) => {
      if (k.startsWith(RESERVED_COLUMN_PREFIX)) out.push(problem(`entities[${i}].joinKeys[${j}]`, `starts with "${RESERVED_COLUMN_PREFIX}", which is reserved for the columns the runtime adds`, k, "Rename the column."));
    });
    entities.set(e.name, e);
  });
  const views = new Set<string>();
  spec.views.forEach((v, i) => {
    const at = `views[${i}]`;
    if (views.has(v.name)) out.push(problem(`${at}.name`, "is declared twice", v.name, "Give each view its own name."));
    views.add(v.name);
    const keys = new Set<string>();
    v.entities.forEach((e, j) => {
      const entity = entities.get(e);
      if (!entity) out.push(problem(`${at}.entities[${j}]`, "is not a declared entity", e, `Declare it under entities, or use one of: ${[...entities.keys()].join(", ")}.`));
      else entity.joinKeys.forEach((k) => keys.add(k));
    });
    const reserved = new Set([...keys, v.source.timestampField, ...(v.source.createdTimestampField ? [v.source.createdTimestampField] : [])]);
    const seen = new Set<string>();
    v.features.forEach((f, j) => {
      if (seen.has(f.name)) out.push(problem(`${at}.features[${j}].name`, "is declared twice in the view", f.name, "Declare each feature once."));
      if (f.name.startsWith(RESERVED_COLUMN_PREFIX)) out.push(problem(`${at}.features[${j}].name`, `starts with "${RESERVED_COLUMN_PREFIX}", which is reserved for the columns the runtime adds`, f.name, "Rename the column."));
      if (reserved.has(f.name)) out.push(problem(`${at}.features[${j}].name`, "is a join key or timestamp column of the view", f.name, "Features are the value columns; keys and timestamps are declared by the entity and the source."));
      seen.add(f.name);
    });
    if (v.source.createdTimestampField && v.source.createdTimestampField === v.source.timestampField) {
      out.push(problem(`${at}.source.createdTimestampField`, "is the same column as timestampField", v.source.createdTimestampField, "Name the column that records when each row was written, or leave it out."));
    }
  });
  const services = new Set<string>();
  (spec.featureServices ?? []).forEach((s, i) => {
    if (services.has(s.name)) out.push(problem(`featureServices[${i}].name`, "is declared twice", s.name, "Give each feature service its own name."));
    services.add(s.name);
    try {
      parseFeatureRefs(s.features, spec, `featureServices[${i}].features`);
    } catch (e) {
      out.push((e as Error).message);
    }
  });
  if ("embedded" in spec.online && !spec.online.embedded.path && !spec.registry.startsWith("file://")) {
    out.push(problem("online.embedded.path", "is required when the registry is not a file:// URI", undefined, "Give the embedded store a local folder, or use online.redis."));
  }
  return out;
}

/** One requested feature, `view:feature`. */
export interface FeatureRef {
  readonly view: string;
  readonly feature: string;
}

/**
 * Parses `view:feature,view:feature…` (or an array of them) against the spec; an unknown view or feature is
 * named with the ones that exist. Duplicates are refused (they would make two columns of one name).
 */
export function parseFeatureRefs(refs: string | readonly string[], spec: FeatureStoreSpec, field = "--features"): FeatureRef[] {
  const list = typeof refs === "string" ? refs.split(",").map((s) => s.trim()).filter((s) => s.length > 0) : [...refs];
  if (list.length === 0) throw MlopsError.of(field, "names no features", refs, 'List them as "view:feature,view:feature".');
  const seen = new Set<string>();
  return list.map((ref) => {
    const colon = ref.indexOf(":");
    const view = spec.views.find((v) => v.name === ref.slice(0, colon));
    if (colon <= 0 || !view) {
      throw MlopsError.of(field, "does not name a view of this store", ref, `Write "view:feature" with a view from: ${spec.views.map((v) => v.name).join(", ")}.`);
    }
    const feature = ref.slice(colon + 1);
    if (!view.features.some((f) => f.name === feature)) {
      throw MlopsError.of(field, `is not a feature of view ${view.name}`, ref, `Use one of: ${view.features.map((f) => `${view.name}:${f.name}`).join(", ")}.`);
    }
    if (seen.has(ref)) throw MlopsError.of(field, "is requested twice", ref, "Name each feature once.");
    seen.add(ref);
    return { view: view.name, feature };
  });
}

/** The view's TTL in seconds, or undefined for unlimited lookback. */
export function viewTtlSeconds(view: FeatureViewSpec): number | undefined {
  return view.ttl === undefined ? undefined : durationSeconds(view.ttl, `views.${view.name}.ttl`);
}

/** The join key columns of a view, in entity order. */
export function viewJoinKeys(view: FeatureViewSpec, spec: FeatureStoreSpec): string[] {
  return view.entities.flatMap((e) => spec.entities.find((x) => x.name === e)?.joinKeys ?? []);
}
