/**
 * The answer to `POST /get-online-features`, as Feast's server writes it (GetOnlineFeaturesResponse in
 * protos/feast/serving/ServingService.proto, turned into JSON by feature_server_utils.py
 * convert_response_to_dict):
 *
 *     {"metadata": {"feature_names": ["customer_id", "spend_7d"]},
 *      "results": [{"values": [1001], "statuses": ["PRESENT"], "event_timestamps": ["1970-01-01T00:00:00Z"]},
 *                  {"values": [12.5], "statuses": ["PRESENT"], "event_timestamps": ["2026-01-02T03:04:05Z"]}]}
 *
 * Column-major: `results[i]` is `feature_names[i]` across every entity row; the entity key columns come
 * first, echoed with status PRESENT and the zero timestamp, as Feast does. Statuses are the FieldStatus
 * names. Unlike Feast's Python server, which only ever says PRESENT or NOT_FOUND (feast #1802, #6821), the
 * view's TTL is enforced here at read time: a value older than `now - ttl` is withheld (null) with status
 * OUTSIDE_MAX_AGE and its event timestamp, so a client can tell stale from missing. A stored null is
 * NULL_VALUE; an entity the store has never seen (or whose hash expired) is NOT_FOUND with a null value.
 *
 * The body is assembled as text from the stored JSON texts (keys.ts): nothing is parsed or re-encoded.
 */
import { microsIso } from "./keys.js";
import type { OnlineRequest } from "./request.js";
import type { OnlineStore, ViewRead } from "./types.js";

/** FieldStatus names, as JSON strings. */
const PRESENT = '"PRESENT"';
const NULL_VALUE = '"NULL_VALUE"';
const NOT_FOUND = '"NOT_FOUND"';
const OUTSIDE_MAX_AGE = '"OUTSIDE_MAX_AGE"';
/** A protobuf Timestamp of zero, as Feast writes it for entity columns and missing values. */
const ZERO_TS = '"1970-01-01T00:00:00Z"';

/** Values served, by status, for one view: [present, null value, not found, outside max age]. */
export type StatusCounts = [number, number, number, number];

export interface LookupOptions {
  /** The time TTLs are measured from, µs since the epoch. @default Date.now() * 1000 */
  readonly nowMicros?: number;
  /**
   * Called once per view with what was served, for the metrics: the counts by status, and the newest event
   * time (µs) among the values found (present or not), NaN when none was found.
   */
  readonly observe?: (view: string, counts: StatusCounts, newestMicros: number) => void;
}

/** The online store failed (Redis unreachable, for one): the server answers 503, not the client's fault. */
export class StoreError extends Error {
  constructor(readonly failure: Error) {
    super(`the online store did not answer (${failure.message})`);
  }
}

/** Reads the request's features from the store and returns the answer's JSON text. */
export async function lookup(store: OnlineStore, req: OnlineRequest, opts: LookupOptions = {}): Promise<string> {
  const now = opts.nowMicros ?? Date.now() * 1000;
  const { plan, rows } = req;
  const reads: ViewRead[] = plan.views.map((pv) => {
    const cols = pv.keys.names.map((k) => req.entityTexts.get(k)!);
    const keys = new Array<string>(rows);
    for (let r = 0; r < rows; r++) keys[r] = cols.length === 1 ? cols[0]![r]! : cols.map((c) => c[r]!).join(",");
    return { view: pv.view, features: pv.features, keys };
  });
  let got;
  try {
    got = await store.read(reads);
  } catch (e) {
    throw new StoreError(e as Error);
  }

  // Per view and row: the event timestamp text and whether the value is within the TTL.
  const tsText: string[][] = [];
  const fresh: Uint8Array[] = [];
  const newest: number[] = [];
  plan.views.forEach((pv, v) => {
    const ev = got[v]!.eventMicros;
    const texts = new Array<string>(rows);
    const ok = new Uint8Array(rows);
    let max = NaN;
    for (let r = 0; r < rows; r++) {
      const t = ev[r]!;
      if (Number.isNaN(t)) {
        texts[r] = ZERO_TS;
        continue;
      }
      if (!(t <= max)) max = t;
      texts[r] = `"${microsIso(t)}"`;
      ok[r] = now - t > pv.ttlMicros ? 0 : 1;
    }
    tsText.push(texts);
    fresh.push(ok);
    newest.push(max);
  });

  const counts: StatusCounts[] = plan.views.map(() => [0, 0, 0, 0]);
  let out = `{"metadata":{"feature_names":[`;
  out += req.entityNames.map((n) => JSON.stringify(n)).join(",");
  if (req.entityNames.length > 0 && plan.namesJson) out += ",";
  out += `${plan.namesJson}]},"results":[`;
  let first = true;
  for (const name of req.entityNames) {
    const texts = req.entityTexts.get(name)!;
    out += `${first ? "" : ","}{"values":[${texts.join(",")}],"statuses":[${repeat(PRESENT, rows)}],"event_timestamps":[${repeat(ZERO_TS, rows)}]}`;
    first = false;
  }
  for (const o of plan.outputs) {
    const ev = got[o.view]!.eventMicros;
    const column = got[o.view]!.values[o.feature]!;
    const ok = fresh[o.view]!;
    const ts = tsText[o.view]!;
    const c = counts[o.view]!;
    let values = "";
    let statuses = "";
    for (let r = 0; r < rows; r++) {
      const sep = r === 0 ? "" : ",";
      let value = "null";
      let status: string;
      if (Number.isNaN(ev[r]!)) {
        status = NOT_FOUND;
        c[2]++;
      } else if (ok[r] === 0) {
        status = OUTSIDE_MAX_AGE;
        c[3]++;
      } else {
        const stored = column[r];
        if (stored === undefined || stored === "null") {
          status = NULL_VALUE;
          c[1]++;
        } else {
          value = stored;
          status = PRESENT;
          c[0]++;
        }
      }
      values += sep + value;
      statuses += sep + status;
    }
    out += `${first ? "" : ","}{"values":[${values}],"statuses":[${statuses}],"event_timestamps":[${ts.join(",")}]}`;
    first = false;
  }
  out += "]}";
  if (opts.observe) plan.views.forEach((pv, v) => opts.observe!(pv.view.name, counts[v]!, newest[v]!));
  return out;
}

function repeat(text: string, n: number): string {
  return n === 1 ? text : new Array<string>(n).fill(text).join(",");
}
