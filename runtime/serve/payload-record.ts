/**
 * The payload log's record format and object layout.
 *
 * Format: JSON lines with the fields of SageMaker Data Capture (the format SageMaker real-time endpoints
 * write, and Model Monitor, Clarify and most captured-data tooling read), one answered request per line:
 *
 *   {"captureData": {
 *      "endpointInput":  {"observedContentType": "application/json", "mode": "INPUT",  "data": "<OIP request JSON>",  "encoding": "JSON"},
 *      "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT", "data": "<OIP response JSON>", "encoding": "JSON"}},
 *    "eventMetadata": {"eventId": "<uuid>", "inferenceId": "<request id>", "inferenceTime": "2026-05-01T12:00:00.123Z"},
 *    "eventVersion": "0",
 *    "endpointName": "fraud", "variant": "primary", "modelName": "fraud", "modelVersion": "3"}
 *
 * Why this rather than Parquet: records arrive one request at a time and leave in small batches, which
 * JSON lines write with a string join (a Parquet writer would buffer columns and footers in the server's
 * memory, for files of a few thousand rows); each line is self-describing, so a request's tensors of any
 * datatype and shape fit without a schema fixed ahead, and a record is readable by `jq`, DuckDB's
 * `read_json`, pandas and Spark as well as by the Data Capture readers; and the table a drift job needs
 * (one column per feature) is made from them by readPayloadLogs (payload-reader.ts), in one pass.
 *
 * `data` is always an Open Inference Protocol v2 JSON body: a JSON request as the client sent it (after
 * inflating a compressed body); a request in Triton's binary tensor data form, rewritten as the same
 * request with its tensors in JSON (the binary form needs the model to be read at all: a raw binary body
 * has no shape); a request whose body named entity keys (serving by entity id), as the request the
 * model ran, with the features looked up; the answer likewise, as its JSON form. `inferenceId` is the request's `id` when it has
 * one, else the generated `eventId`. The fields after `eventVersion` are this project's additions, which
 * Data Capture readers ignore. Times are UTC.
 *
 * Layout: `<uri>/<model>/<endpoint>/<variant>/<yyyy>/<mm>/<dd>/<hh>/<yyyymmdd>T<hhmmss>Z-<uuid>.jsonl`,
 * the hour being that of the records' inference time (Data Capture's `<endpoint>/<variant>/yyyy/mm/dd/hh/`
 * under a folder per model, so a drift job reads one model's hours without listing the others).
 */
import { randomUUID } from "node:crypto";

/** One answered request, as the infer route hands it over. */
export interface PayloadEvent {
  readonly model: string;
  readonly version: string;
  /** The request's `id`; undefined when it had none (the record's eventId stands in). */
  readonly requestId: string | undefined;
  /** The OIP v2 JSON request. */
  readonly input: string;
  /** The OIP v2 JSON response. */
  readonly output: string;
}

/** `eventVersion` of every record: Data Capture's. */
export const EVENT_VERSION = "0";

const HOUR_MS = 3_600_000;

/** The partition (whole hours since the epoch) of a time in ms. */
export function hourOf(ms: number): number {
  return Math.floor(ms / HOUR_MS);
}

/** The ISO 8601 text of the last time written: records of one millisecond (many, under load) share it. */
let isoAt = NaN;
let isoText = "";
function isoOf(ms: number): string {
  if (ms !== isoAt) {
    isoAt = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

const INPUT_HEAD = `{"captureData":{"endpointInput":{"observedContentType":"application/json","mode":"INPUT","data":`;
const OUTPUT_HEAD = `,"encoding":"JSON"},"endpointOutput":{"observedContentType":"application/json","mode":"OUTPUT","data":`;

/**
 * One record's JSON line (no newline) at inference time `at` (ms since the epoch), as the parts the
 * batch writes one after the other: each part a flat string, so no rope of the whole line is built and
 * flattened (and measured, and encoded) again: the payloads are the bulk of a record.
 */
export function recordParts(e: PayloadEvent, at: number, endpoint: string, variant: string): string[] {
  const eventId = randomUUID();
  const inferenceId = e.requestId === undefined ? `"${eventId}"` : JSON.stringify(e.requestId);
  const tail =
    `,"encoding":"JSON"}},"eventMetadata":{"eventId":"${eventId}","inferenceId":${inferenceId},"inferenceTime":"${isoOf(at)}"},` +
    `"eventVersion":"${EVENT_VERSION}","endpointName":${JSON.stringify(endpoint)},"variant":${JSON.stringify(variant)},` +
    `"modelName":${JSON.stringify(e.model)},"modelVersion":${JSON.stringify(e.version)}}`;
  return [INPUT_HEAD, JSON.stringify(e.input), OUTPUT_HEAD, JSON.stringify(e.output), tail];
}

/** One record's JSON line as one string (tests, tools). */
export function recordLine(e: PayloadEvent, at: number, endpoint: string, variant: string): string {
  return recordParts(e, at, endpoint, variant).join("");
}

const pad = (n: number, w = 2): string => String(n).padStart(w, "0");

/** The object key of a batch whose first record is at `at` (see the layout above). */
export function batchKey(model: string, endpoint: string, variant: string, at: number): string {
  const d = new Date(at);
  const [y, mo, day, h] = [pad(d.getUTCFullYear(), 4), pad(d.getUTCMonth() + 1), pad(d.getUTCDate()), pad(d.getUTCHours())];
  const stamp = `${y}${mo}${day}T${h}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
  return `${model}/${endpoint}/${variant}/${y}/${mo}/${day}/${h}/${stamp}-${randomUUID()}.jsonl`;
}

/** `…/<yyyy>/<mm>/<dd>/<hh>/<file>.jsonl` at the end of a key. */
const PARTITION = /(?:^|\/)(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\/[^/]+\.jsonl$/;

/** The start (ms) of the hour a key is partitioned under; undefined for a key outside the layout. */
export function partitionStart(key: string): number | undefined {
  const m = PARTITION.exec(key);
  if (!m) return undefined;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]));
  return Number.isFinite(t) ? t : undefined;
}

export const PARTITION_MS = HOUR_MS;
