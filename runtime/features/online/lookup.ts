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
 * The body is written as bytes straight into a reused buffer, from the stored JSON texts (keys.ts) and
 * constant pieces encoded once: nothing is parsed or re-encoded, and no intermediate strings are built.
 */
import { microsIso } from "./keys.js";
import type { OnlineRequest } from "./request.js";
import type { OnlineStore, ViewRead } from "./types.js";

/** Status indexes (into {@link StatusCounts} and {@link STATUS}). */
const PRESENT = 0;
const NULL_VALUE = 1;
const NOT_FOUND = 2;
const OUTSIDE_MAX_AGE = 3;
const ascii = (text: string): Buffer => Buffer.from(text, "latin1");
/** FieldStatus names as JSON strings, by index. */
const STATUS = ['"PRESENT"', '"NULL_VALUE"', '"NOT_FOUND"', '"OUTSIDE_MAX_AGE"'].map(ascii);
/** A protobuf Timestamp of zero, as Feast writes it for entity columns and missing values. */
const ZERO_TS = ascii('"1970-01-01T00:00:00Z"');
const NULL = ascii("null");
const COMMA = 0x2c;
const META_OPEN = ascii('{"metadata":{"feature_names":[');
const META_CLOSE = ascii(']},"results":[');
const VALUES_OPEN_FIRST = ascii('{"values":[');
const VALUES_OPEN = ascii(',{"values":[');
const STATUSES_OPEN = ascii('],"statuses":[');
const TIMESTAMPS_OPEN = ascii('],"event_timestamps":[');
const COLUMN_CLOSE = ascii("]}");
const ANSWER_CLOSE = ascii("]}");

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
  return (await lookupBytes(store, req, opts)).toString("utf8");
}

/** {@link lookup}, the answer as UTF-8 bytes (what the server sends). */
export async function lookupBytes(store: OnlineStore, req: OnlineRequest, opts: LookupOptions = {}): Promise<Buffer> {
  const now = opts.nowMicros ?? Date.now() * 1000;
  const { plan, rows } = req;
  const reads: ViewRead[] = new Array<ViewRead>(plan.views.length);
  for (let v = 0; v < plan.views.length; v++) {
    const pv = plan.views[v]!;
    const names = pv.keys.names;
    let keys: readonly string[];
    if (names.length === 1) keys = req.entityTexts.get(names[0]!)!;
    else {
      const cols = names.map((k) => req.entityTexts.get(k)!);
      const joined = new Array<string>(rows);
      for (let r = 0; r < rows; r++) joined[r] = cols.map((c) => c[r]!).join(",");
      keys = joined;
    }
    reads[v] = { view: pv.view, features: pv.features, keys };
  }
  let got;
  try {
    got = await store.read(reads);
  } catch (e) {
    throw new StoreError(e as Error);
  }

  // Per view and row: the event timestamp's JSON bytes, and the row's state (0 found and within the TTL,
  // 1 found but older than the TTL, 2 not found).
  const nViews = plan.views.length;
  const tsBytes: Uint8Array[][] = new Array<Uint8Array[]>(nViews);
  const state: Uint8Array[] = new Array<Uint8Array>(nViews);
  const newest: number[] = new Array<number>(nViews);
  for (let v = 0; v < nViews; v++) {
    const ev = got[v]!.eventMicros;
    const ttl = plan.views[v]!.ttlMicros;
    const ts = new Array<Uint8Array>(rows);
    const st = new Uint8Array(rows);
    let max = NaN;
    for (let r = 0; r < rows; r++) {
      const t = ev[r]!;
      if (Number.isNaN(t)) {
        ts[r] = ZERO_TS;
        st[r] = 2;
        continue;
      }
      if (!(t <= max)) max = t;
      ts[r] = Buffer.from(`"${microsIso(t)}"`, "latin1");
      st[r] = now - t > ttl ? 1 : 0;
    }
    tsBytes[v] = ts;
    state[v] = st;
    newest[v] = max;
  }

  const counts: StatusCounts[] = new Array<StatusCounts>(nViews);
  for (let v = 0; v < nViews; v++) counts[v] = [0, 0, 0, 0];
  const w = writer.reset();
  w.bytes(META_OPEN);
  for (let i = 0; i < req.entityNames.length; i++) {
    if (i > 0) w.byte(COMMA);
    w.text(JSON.stringify(req.entityNames[i]));
  }
  const names = plan.namesBytes;
  if (req.entityNames.length > 0 && names.length > 0) w.byte(COMMA);
  w.bytes(names);
  w.bytes(META_CLOSE);
  let first = true;
  for (const name of req.entityNames) {
    const texts = req.entityTexts.get(name)!;
    w.bytes(first ? VALUES_OPEN_FIRST : VALUES_OPEN);
    for (let r = 0; r < rows; r++) {
      if (r > 0) w.byte(COMMA);
      w.text(texts[r]!);
    }
    w.bytes(STATUSES_OPEN);
    w.list(STATUS[PRESENT]!, rows);
    w.bytes(TIMESTAMPS_OPEN);
    w.list(ZERO_TS, rows);
    w.bytes(COLUMN_CLOSE);
    first = false;
  }
  const status = rowStatus(rows);
  // One entity row (the common request): everything after a value up to the column's end is one piece per
  // view and status, built once per request.
  const tails: Array<Array<Buffer | undefined>> | undefined = rows === 1 ? plan.views.map(() => [undefined, undefined, undefined, undefined]) : undefined;
  const rowStatuses: Array<Buffer | undefined> = new Array<Buffer | undefined>(nViews);
  const rowTimestamps: Array<Buffer | undefined> = new Array<Buffer | undefined>(nViews);
  for (const o of plan.outputs) {
    const column = got[o.view]!.values[o.feature]!;
    const st = state[o.view]!;
    const c = counts[o.view]!;
    w.bytes(first ? VALUES_OPEN_FIRST : VALUES_OPEN);
    first = false;
    if (tails) {
      const s = valueStatus(st[0]!, column[0]);
      if (s === PRESENT) w.text(column[0]!);
      else w.bytes(NULL);
      c[s]!++;
      const t = tails[o.view]!;
      w.bytes((t[s] ??= Buffer.concat([STATUSES_OPEN, STATUS[s]!, TIMESTAMPS_OPEN, tsBytes[o.view]![0]!, COLUMN_CLOSE])));
      continue;
    }
    let storedNull = false;
    for (let r = 0; r < rows; r++) {
      if (r > 0) w.byte(COMMA);
      const s = valueStatus(st[r]!, column[r]);
      if (s === PRESENT) w.text(column[r]!);
      else w.bytes(NULL);
      if (s === NULL_VALUE) storedNull = true;
      status[r] = s;
      c[s]!++;
    }
    // The statuses and the timestamps of a view's rows are the same lists in each of its columns (unless
    // a column holds a stored null): each list is written once per request and copied.
    if (storedNull) {
      w.bytes(STATUSES_OPEN);
      for (let r = 0; r < rows; r++) {
        if (r > 0) w.byte(COMMA);
        w.bytes(STATUS[status[r]!]!);
      }
    } else w.bytes((rowStatuses[o.view] ??= joined(STATUSES_OPEN, Array.from(st, (x) => STATUS[x === 0 ? PRESENT : x === 1 ? OUTSIDE_MAX_AGE : NOT_FOUND]!))));
    w.bytes((rowTimestamps[o.view] ??= joined(TIMESTAMPS_OPEN, tsBytes[o.view]!)));
    w.bytes(COLUMN_CLOSE);
  }
  w.bytes(ANSWER_CLOSE);
  const out = w.take();
  if (opts.observe) for (let v = 0; v < nViews; v++) opts.observe(plan.views[v]!.view.name, counts[v]!, newest[v]!);
  return out;
}

/** A value's status from its row's state (0 fresh, 1 past the TTL, 2 not found) and the stored text. */
function valueStatus(state: number, stored: string | undefined): number {
  if (state === 2) return NOT_FOUND;
  if (state === 1) return OUTSIDE_MAX_AGE;
  return stored === undefined || stored === "null" ? NULL_VALUE : PRESENT;
}

/** `head` then `parts` comma-separated, as one buffer. */
function joined(head: Uint8Array, parts: readonly Uint8Array[]): Buffer {
  let size = head.length + Math.max(0, parts.length - 1);
  for (const p of parts) size += p.length;
  const out = Buffer.allocUnsafe(size);
  out.set(head, 0);
  let at = head.length;
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) out[at++] = COMMA;
    out.set(parts[i]!, at);
    at += parts[i]!.length;
  }
  return out;
}

/** The status of each row of one column, reused between columns and requests. */
let statusScratch = new Uint8Array(64);
function rowStatus(rows: number): Uint8Array {
  if (statusScratch.length < rows) statusScratch = new Uint8Array(rows);
  return statusScratch;
}

/**
 * One buffer every answer is written into, then copied out at its exact length. Writing is synchronous
 * (nothing awaits between `reset` and `take`), so one buffer serves every request of the process.
 */
class AnswerWriter {
  private buf = Buffer.allocUnsafe(SCRATCH_BYTES);
  private n = 0;

  reset(): this {
    // A huge answer (1000 rows × 1000 features) must not keep its buffer for the life of the process.
    if (this.buf.length > MAX_KEPT_BYTES) this.buf = Buffer.allocUnsafe(SCRATCH_BYTES);
    this.n = 0;
    return this;
  }

  byte(c: number): void {
    if (this.n >= this.buf.length) this.grow(1);
    this.buf[this.n++] = c;
  }

  bytes(b: Uint8Array): void {
    const len = b.length;
    if (this.n + len > this.buf.length) this.grow(len);
    const at = this.n;
    // A byte loop is cheaper than TypedArray#set for the short pieces most of an answer is made of.
    if (len <= 24) for (let i = 0; i < len; i++) this.buf[at + i] = b[i]!;
    else this.buf.set(b, at);
    this.n = at + len;
  }

  /** `b` `count` times, comma-separated. */
  list(b: Uint8Array, count: number): void {
    for (let i = 0; i < count; i++) {
      if (i > 0) this.byte(COMMA);
      this.bytes(b);
    }
  }

  /** A string as UTF-8: short ASCII texts (numbers, most keys) byte by byte, others by Buffer#write. */
  text(s: string): void {
    const len = s.length;
    if (this.n + len * 3 > this.buf.length) this.grow(len * 3);
    if (len <= 32) {
      const buf = this.buf;
      const at = this.n;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        buf[at + i] = c;
      }
      if (i === len) {
        this.n = at + len;
        return;
      }
    }
    this.n += this.buf.write(s, this.n, "utf8");
  }

  take(): Buffer {
    const out = Buffer.allocUnsafe(this.n);
    this.buf.copy(out, 0, 0, this.n);
    return out;
  }

  private grow(need: number): void {
    let size = this.buf.length * 2;
    while (size < this.n + need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.n);
    this.buf = next;
  }
}

const SCRATCH_BYTES = 64 << 10;
const MAX_KEPT_BYTES = 1 << 20;
const writer = new AnswerWriter();
