/**
 * Materialization watermarks, one object per view in the feature store's registry
 * (`watermarks/<view>.json`): the end of the last window materialized into the online store, what
 * `mlops features materialize --incremental` starts from (less the spec's lateness window), and what the
 * feature server's `mlops_feature_watermark_age_seconds{view}` measures (its freshness gauge is the age of
 * the newest event time it has seen in values it served or was pushed).
 *
 * A watermark only moves forward: a backfill of an older window leaves it where it is, and an end in the
 * future is refused before anything is written (feast #4222: a future end_date poisoned Feast's).
 */
import { MlopsError } from "../errors.js";
import type { ObjectStore } from "../store/index.js";

export interface Watermark {
  readonly view: string;
  /** ISO 8601 UTC: every source row with an event time up to here has been materialized (less late arrivals). */
  readonly end: string;
  /** Start of the window the run that set this watermark scanned; absent when it scanned from the beginning. */
  readonly start?: string;
  /** ISO 8601 UTC wall-clock time of that run. */
  readonly ranAt: string;
  /** Rows that run wrote to the online store. */
  readonly rowsWritten: number;
}

const PREFIX = "watermarks/";

export function watermarkKey(view: string): string {
  return `${PREFIX}${view}.json`;
}

/** The view's watermark, or undefined before its first materialization. */
export async function readWatermark(store: ObjectStore, view: string): Promise<Watermark | undefined> {
  const body = await store.get(watermarkKey(view));
  if (!body) return undefined;
  let w: Watermark;
  try {
    w = JSON.parse(body.toString("utf8")) as Watermark;
  } catch (e) {
    throw MlopsError.of(store.uriOf(watermarkKey(view)), `is not valid JSON (${(e as Error).message})`, body.toString("utf8").slice(0, 60), "Delete the object to materialize the view from the beginning again.");
  }
  if (typeof w.end !== "string" || Number.isNaN(Date.parse(w.end))) {
    throw MlopsError.of(store.uriOf(watermarkKey(view)), "holds no valid end time", w.end, "Delete the object to materialize the view from the beginning again.");
  }
  return w;
}

/** Every view's watermark, by view name (views never materialized are absent). */
export async function readWatermarks(store: ObjectStore, views: readonly string[]): Promise<Map<string, Watermark>> {
  const out = new Map<string, Watermark>();
  await Promise.all(
    views.map(async (v) => {
      const w = await readWatermark(store, v);
      if (w) out.set(v, w);
    }),
  );
  return out;
}

/**
 * Records `next` unless the stored watermark is already at or past its end. Returns the watermark in force
 * afterwards. (One materialization per view at a time — the component's CronJob uses `Forbid` — so a read
 * then a write is enough here; the online store's writes are the part that must be race-free, and are.)
 */
export async function advanceWatermark(store: ObjectStore, next: Watermark): Promise<Watermark> {
  const current = await readWatermark(store, next.view);
  if (current && Date.parse(current.end) >= Date.parse(next.end)) return current;
  await store.put(watermarkKey(next.view), JSON.stringify(next, null, 2) + "\n");
  return next;
}
