/**
 * The online store interface: the latest value of each feature per entity and view, written by
 * materialization and `/push`, read by the feature server. Two implementations: Redis (redis.ts) and the
 * embedded LMDB store (embedded.ts). The stores keep values and event times; the read-time TTL, the
 * statuses and the Feast-format answer are the lookup's (lookup.ts), the same over both.
 */
import type { FeatureViewSpec } from "../../../src/spec/features.js";
import type { OnlineRow } from "./keys.js";

/** One view's part of a read: which features, for which entities. */
export interface ViewRead {
  readonly view: FeatureViewSpec;
  /** Feature names of the view, in the order wanted back. */
  readonly features: readonly string[];
  /** {@link entityKeyText} per requested row (rows may repeat). */
  readonly keys: readonly string[];
}

/** What a store holds for one {@link ViewRead}, column-major like the answer. */
export interface ViewValues {
  /** Event time (µs since the epoch) per row; NaN where the store holds nothing for that entity and view. */
  readonly eventMicros: Float64Array;
  /**
   * `[feature][row]`: the stored JSON text (`"null"` for a stored null), or undefined where the entity is
   * not found (or, for a found entity, the feature was never written: a feature added to the view since).
   */
  readonly values: ReadonlyArray<ReadonlyArray<string | undefined>>;
}

export interface WriteResult {
  /** Rows stored. */
  readonly written: number;
  /** Rows not stored because the store already held a value as new or newer (event time, then created time). */
  readonly skipped: number;
}

export interface OnlineStore {
  /** `redis` or `embedded`, for logs and metrics. */
  readonly kind: "redis" | "embedded";
  /**
   * Stores each row unless the store already holds a newer value for that entity and view: a larger event
   * time, or an equal one with a created time at least as large. The comparison and the write are one
   * atomic step per entity (a Lua script in Redis, a write transaction in LMDB), so two writers racing —
   * a backfill and a push — can never leave the older value in place.
   */
  write(view: FeatureViewSpec, rows: readonly OnlineRow[]): Promise<WriteResult>;
  /** Reads every {@link ViewRead} at once (one pipeline in Redis), answers in the same order. */
  read(reads: readonly ViewRead[]): Promise<ViewValues[]>;
  /** True while the store can answer (Redis connected; LMDB open). */
  readonly healthy: boolean;
  close(): Promise<void>;
}
