/**
 * Feast's write requests, checked against the spec and turned into rows for the online store:
 *
 * - `POST /push` (PushFeaturesRequest): `{"push_source_name": "<name>", "df": {col: [values]}, "to": "online"}`.
 *   This store has no separate push sources: the push source name is the view's name. `to` must be
 *   `online` (the default); `offline` and `online_and_offline` are refused with 422, since the offline
 *   side is the view's source files, which this server does not append to.
 * - `POST /write-to-online-store` (WriteToFeatureStoreRequest, what Feast's remote online store client
 *   sends): `{"feature_view_name": "<view>", "df": {…}}`.
 *
 * `df` is columnar: the view's join keys, its timestamp column (the source's `timestampField`, or
 * `event_timestamp`, the name Feast's client uses) as ISO 8601 strings (no offset means UTC), optionally
 * its created column (`createdTimestampField`, or Feast's `created`), and every declared feature. Other
 * columns are ignored, as Feast ignores them. Values are checked against the dtypes; rows then go through
 * the store's "newest wins" write, so a late push never replaces a newer materialized value.
 */
import type { FeatureDtype, FeatureStoreSpec, FeatureViewSpec } from "../../../src/spec/features.js";
import { entityKeyText, isoMicros, keyFix, keyText, valueText, viewKeys, type OnlineRow } from "./keys.js";
import { RequestError } from "./request.js";

export interface PushLimits {
  /** Rows per push. @default 10000 */
  readonly maxRows: number;
}

export const PUSH_LIMITS: PushLimits = { maxRows: 10_000 };

export interface PushRequest {
  readonly view: FeatureViewSpec;
  readonly rows: OnlineRow[];
}

/** Which request shape: `/push` names a push source, `/write-to-online-store` a feature view. */
export type PushRoute = "push" | "write";

export function parsePush(body: unknown, spec: FeatureStoreSpec, route: PushRoute, limits: PushLimits = PUSH_LIMITS): PushRequest {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw RequestError.at(400, "(body)", "is not a JSON object", body, route === "push" ? 'Send {"push_source_name": "<view>", "df": {"<column>": [<values>]}, "to": "online"}.' : 'Send {"feature_view_name": "<view>", "df": {"<column>": [<values>]}}.');
  }
  const b = body as Record<string, unknown>;
  const nameField = route === "push" ? "push_source_name" : "feature_view_name";
  const name = b[nameField];
  const views = spec.views.map((v) => v.name).join(", ");
  if (typeof name !== "string") throw RequestError.at(400, nameField, "is not a string", name, `Name the view to write: one of ${views}.`);
  const view = spec.views.find((v) => v.name === name);
  if (!view) {
    // Feast answers an unknown push source with 422 and an unknown feature view with 404.
    throw RequestError.at(route === "push" ? 422 : 404, nameField, route === "push" ? "is not a push source of this store (push sources are named after the views)" : "is not a view of this store", name, `Use one of: ${views}.`);
  }
  if (!view.online) throw RequestError.at(422, nameField, "names a view that is not in the online store (online: false)", name, "Set online: true on the view, or push to another view.");
  if (route === "push") {
    const to = b.to ?? "online";
    if (to !== "online") {
      const known = to === "offline" || to === "online_and_offline";
      throw RequestError.at(422, "to", known ? "asks for an offline write, which this server does not do" : "is not a push mode", to, known ? 'Send "to": "online"; add offline rows to the view\'s source files, where materialize and historical read them.' : 'Send "to": "online".');
    }
  }
  const df = b.df;
  if (df === null || typeof df !== "object" || Array.isArray(df)) {
    throw RequestError.at(400, "df", "is not an object of columns", df, 'Send "df": {"<column>": [<values>], …}, one list per column.');
  }
  const cols = df as Record<string, unknown>;
  const column = (col: string, required: boolean): unknown[] | undefined => {
    const c = cols[col];
    if (c === undefined) {
      if (required) throw RequestError.at(400, `df.${col}`, "is missing", undefined, `View ${view.name} needs the columns ${requiredColumns(view, spec).join(", ")}.`);
      return undefined;
    }
    if (!Array.isArray(c)) throw RequestError.at(400, `df.${col}`, "is not a list", c, "Send one list of values per column.");
    return c;
  };
  const keys = viewKeys(view, spec);
  const keyCols = keys.names.map((k) => column(k, true)!);
  const tsName = cols[view.source.timestampField] !== undefined ? view.source.timestampField : "event_timestamp";
  const tsCol = column(tsName, true)!;
  const crName = view.source.createdTimestampField && cols[view.source.createdTimestampField] !== undefined ? view.source.createdTimestampField : "created";
  const crCol = column(crName, false);
  const featureCols = view.features.map((f) => column(f.name, true)!);
  const n = tsCol.length;
  if (n === 0) throw RequestError.at(400, `df.${tsName}`, "is empty", tsCol, "Send at least one row.");
  if (n > limits.maxRows) throw RequestError.at(400, "df", `holds more than ${limits.maxRows} rows`, `${n} rows`, `Push at most ${limits.maxRows} rows at a time.`);
  const lengths: Array<[string, unknown[] | undefined]> = [...keys.names.map((k, i) => [k, keyCols[i]] as [string, unknown[]]), [crName, crCol], ...view.features.map((f, i) => [f.name, featureCols[i]] as [string, unknown[]])];
  for (const [col, c] of lengths) {
    if (c && c.length !== n) throw RequestError.at(400, `df.${col}`, `has ${c.length} values where ${tsName} has ${n}`, `${c.length} values`, "Give every column one value per row.");
  }
  const rows: OnlineRow[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const texts = keys.names.map((k, j) => {
      const t = keyText(keyCols[j]![i], keys.types[j]!);
      if (t === undefined) throw RequestError.at(400, `df.${k}[${i}]`, `is not a valid ${keys.types[j]} join key value`, keyCols[j]![i], keyFix(keys.types[j]!));
      return t;
    });
    const eventMicros = timestamp(tsCol[i], `df.${tsName}[${i}]`, true);
    const createdMicros = crCol ? timestamp(crCol[i], `df.${crName}[${i}]`, false) : -1;
    const values = view.features.map((f, j) => {
      const t = valueText(featureCols[j]![i], f.dtype);
      if (t === undefined) throw RequestError.at(400, `df.${f.name}[${i}]`, `is not a ${f.dtype} value`, featureCols[j]![i], dtypeFix(f.dtype));
      return t;
    });
    rows[i] = { key: entityKeyText(texts), eventMicros, createdMicros, values };
  }
  return { view, rows };
}

function timestamp(value: unknown, field: string, required: boolean): number {
  if (value === null || value === undefined) {
    if (!required) return -1;
    throw RequestError.at(400, field, "is missing", value, 'Send the event time as an ISO 8601 string, e.g. "2026-01-02T03:04:05Z".');
  }
  const micros = typeof value === "string" ? isoMicros(value) : NaN;
  if (Number.isNaN(micros)) throw RequestError.at(400, field, "is not an ISO 8601 timestamp string", value, 'Send e.g. "2026-01-02T03:04:05Z" or "2026-01-02T03:04:05.123456" (UTC).');
  return micros;
}

function requiredColumns(view: FeatureViewSpec, spec: FeatureStoreSpec): string[] {
  return [...viewKeys(view, spec).names, view.source.timestampField, ...view.features.map((f) => f.name)];
}

function dtypeFix(dtype: FeatureDtype): string {
  switch (dtype) {
    case "float32":
    case "float64":
      return "Send a JSON number or null.";
    case "int32":
      return "Send a whole number from -2147483648 to 2147483647, or null.";
    case "int64":
      return 'Send a whole number (as a JSON string of digits beyond 2^53, e.g. "9007199254740993"), or null.';
    case "bool":
      return "Send true, false or null.";
    case "string":
      return "Send a JSON string or null.";
  }
}
