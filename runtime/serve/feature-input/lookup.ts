/**
 * One request's features: read every view for the request's entity keys from the online store (one
 * `read`, pipelined on Redis), apply the statuses the feature server gives (lookup.ts in
 * runtime/features/online: NOT_FOUND, NULL_VALUE, and OUTSIDE_MAX_AGE past the view's ttl, measured at
 * read time), and write the values row-major into a [rows, features] tensor of the input's datatype.
 *
 * A value that is not PRESENT is written as the configured fill value, or, by default, refused: the whole
 * request is answered 422 naming the entity key value, the feature and its status, so a client never gets
 * a prediction made on features that were not there.
 */
import { microsIso } from "../../features/online/keys.js";
import type { LookupPlan } from "../../features/online/request.js";
import type { OnlineStore, ViewRead, ViewValues } from "../../features/online/types.js";
import { BadRequest, type DatatypeInfo, type TensorData } from "../tensor.js";
import type { ColumnWriter, FillWriter } from "./columns.js";
import type { FeatureLookupMetrics, FeatureStatus } from "./metrics.js";

/** The answer to a request whose features are missing or stale, when nothing is filled in. */
export const MISSING_STATUS = 422;
/** Problems named in one answer; the rest are counted. */
const MAX_NAMED = 5;

/** What a version's lookups need, compiled once when it loads (bind.ts). */
export interface FeatureTable {
  readonly plan: LookupPlan;
  /** `view:feature` of each column, in the input's order. */
  readonly refs: readonly string[];
  /** Per column, the writer of its stored values into the input's datatype. */
  readonly writers: readonly ColumnWriter[];
  /** Undefined: a missing or stale value fails the request. */
  readonly fill: FillWriter | undefined;
  /** The input the features fill: its datatype's storage, and its name for messages. */
  readonly info: DatatypeInfo;
  readonly input: string;
  readonly joinKey: string;
  /** Per plan view, its ttl as written in the spec (for messages); undefined: unlimited. */
  readonly ttls: readonly (string | undefined)[];
}

interface Problem {
  readonly row: number;
  readonly column: number;
  readonly status: Exclude<FeatureStatus, "PRESENT">;
  readonly eventMicros: number;
}

/**
 * Reads the features of `keys` (canonical key texts, one per row) and returns the [rows, features] data,
 * row-major. Throws BadRequest: 422 for missing or stale values without a fill, 422 for a stored value
 * the input's datatype cannot hold, 503 when the store does not answer.
 */
export async function lookupRows(store: OnlineStore, t: FeatureTable, metrics: FeatureLookupMetrics, keys: readonly string[], nowMicros = Date.now() * 1000): Promise<TensorData> {
  const reads: ViewRead[] = t.plan.views.map((pv) => ({ view: pv.view, features: pv.features, keys }));
  const started = performance.now();
  let got: ViewValues[];
  try {
    got = await store.read(reads);
  } catch (e) {
    metrics.countError();
    throw new BadRequest(`the online store did not answer (${(e as Error).message}); the features of this request could not be read: retry later`, 503);
  }
  metrics.observeLookup((performance.now() - started) / 1000);

  const rows = keys.length;
  const d = t.refs.length;
  // Per view and row: 0 fresh, 1 not found, 2 outside max age.
  const rowState = t.plan.views.map((pv, v) => {
    const ev = got[v]!.eventMicros;
    const state = new Uint8Array(rows);
    for (let r = 0; r < rows; r++) {
      const at = ev[r]!;
      state[r] = Number.isNaN(at) ? 1 : nowMicros - at > pv.ttlMicros ? 2 : 0;
    }
    return state;
  });
  const counts = t.plan.views.map(() => [0, 0, 0, 0]);
  const out = t.info.make(rows * d);
  const problems: Problem[] = [];
  let unnamed = 0;
  for (let j = 0; j < d; j++) {
    const o = t.plan.outputs[j]!;
    const column = got[o.view]!.values[o.feature]!;
    const state = rowState[o.view]!;
    const c = counts[o.view]!;
    const write = t.writers[j]!;
    for (let r = 0; r < rows; r++) {
      const at = r * d + j;
      const s = state[r]!;
      const text = s === 0 ? column[r] : undefined;
      let status: Problem["status"];
      if (s === 1) status = "NOT_FOUND";
      else if (s === 2) status = "OUTSIDE_MAX_AGE";
      else if (text === undefined || text === "null") status = "NULL_VALUE";
      else {
        c[0]!++;
        const why = write(out, at, text);
        if (why !== undefined) {
          throw new BadRequest(
            `${t.joinKey} ${keys[r]!.slice(0, 100)}: feature ${t.refs[j]} is ${text.slice(0, 40)}, which ${why} (input "${t.input}"); fix the stored value, or serve a model whose input takes it`,
            MISSING_STATUS,
          );
        }
        continue;
      }
      c[status === "NULL_VALUE" ? 1 : status === "NOT_FOUND" ? 2 : 3]!++;
      if (t.fill) t.fill(out, at);
      else if (problems.length < MAX_NAMED) problems.push({ row: r, column: j, status, eventMicros: got[o.view]!.eventMicros[r]! });
      else unnamed++;
    }
  }
  counts.forEach((c, v) => metrics.countValues(v, c));
  if (problems.length > 0) throw missing(t, keys, problems, unnamed);
  return out;
}

function missing(t: FeatureTable, keys: readonly string[], problems: readonly Problem[], unnamed: number): BadRequest {
  const named = problems.map((p) => {
    const ref = t.refs[p.column]!;
    const view = t.plan.outputs[p.column]!.view;
    const why =
      p.status === "NOT_FOUND"
        ? `the online store holds nothing for this entity in view ${t.plan.views[view]!.view.name}`
        : p.status === "NULL_VALUE"
          ? "a null is stored for it"
          : `its value is from ${microsIso(p.eventMicros)}, older than view ${t.plan.views[view]!.view.name}'s ttl of ${t.ttls[view]}`;
    return `${t.joinKey} ${keys[p.row]!.slice(0, 100)}: ${ref} is ${p.status} (${why})`;
  });
  const more = unnamed > 0 ? `; and ${unnamed} more` : "";
  return new BadRequest(
    `features missing or stale for this request: ${named.join("; ")}${more}. Materialize the views (mlops features materialize) so the online store holds fresh values for these entities, ` +
      "or set features.missing to { fill: <number> } in the endpoint spec to serve a default value in their place",
    MISSING_STATUS,
  );
}
