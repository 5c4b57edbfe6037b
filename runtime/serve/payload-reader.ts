/**
 * Reading payload logs back as a table, for drift (`mlops drift --model … --since …`): every record
 * under a URI whose inference time is in [since, until), one table row per tensor row, one column per
 * feature of the model's [N, d] input. Records are read as payload-record.ts writes them, and as SageMaker
 * Data Capture writes them (`encoding` JSON, CSV or BASE64 of either), so captures from there read too.
 *
 * Columns: `columns` when given (the training job stores the feature names in the ONNX model's metadata,
 * `mlops.features`: {@link onnxFeatureNames} reads them), else `f0` … `f<d-1>`. Which tensor: `input`, else
 * each request's first input. A record that does not give numbers of the table's width is skipped and
 * counted by reason, never guessed at.
 */
import onnxProto from "onnx-proto";
import { MlopsError } from "../../src/errors.js";
import { openStore, type ObjectStore, type OpenStoreOptions } from "../../src/store/index.js";
import { PARTITION_MS, partitionStart } from "./payload-record.js";

export interface ReadPayloadOptions {
  /** Earliest inference time read (inclusive): a Date, ms since the epoch, or an ISO 8601 string. @default - the first record */
  readonly since?: Date | number | string;
  /** Inference time read up to (exclusive). @default - now */
  readonly until?: Date | number | string;
  /** Only this model's records (`<uri>/<model>/…`). @default - every model under `uri` */
  readonly model?: string;
  /** With `model`: only this endpoint's (`<uri>/<model>/<endpoint>/…`). */
  readonly endpoint?: string;
  /** With `endpoint`: only this variant's. */
  readonly variant?: string;
  /** The input tensor to read. @default - each request's first input */
  readonly input?: string;
  /** Column names, one per feature. @default - f0 … f<d-1> */
  readonly columns?: readonly string[];
  /** The store to read (tests). @default openStore(uri) */
  readonly store?: ObjectStore;
  readonly storeOptions?: OpenStoreOptions;
}

/** Why records were skipped: the keys of {@link PayloadTable.skipped}. */
export type SkipReason = "unreadable" | "no_input" | "not_numeric" | "shape" | "width";

export interface PayloadTable {
  readonly columns: readonly string[];
  /** One per tensor row (a request of N rows gives N), file by file in key order, each file in write order. */
  readonly rows: readonly (readonly number[])[];
  /** Per row: the request's inferenceId, inference time (ISO 8601) and the model version that answered. */
  readonly inferenceIds: readonly string[];
  readonly times: readonly string[];
  readonly modelVersions: readonly string[];
  /** Objects read, and records in them within the time range. */
  readonly files: number;
  readonly records: number;
  /** Records within the time range that gave no rows, by reason. */
  readonly skipped: Readonly<Partial<Record<SkipReason, number>>>;
  /** The table by column (what runtime/drift's buildProfile takes); NaN where a value was null. */
  columnArrays(): Record<string, Float64Array>;
}

interface Capture {
  readonly data?: unknown;
  readonly encoding?: unknown;
  readonly observedContentType?: unknown;
}

interface Record_ {
  readonly captureData?: { readonly endpointInput?: Capture };
  readonly eventMetadata?: { readonly eventId?: unknown; readonly inferenceId?: unknown; readonly inferenceTime?: unknown };
  readonly modelVersion?: unknown;
}

/** Reads the payload logs under `uri` (a logging URI, or a folder in it) as a table; see the file's comment. */
export async function readPayloadLogs(uri: string, opts: ReadPayloadOptions = {}): Promise<PayloadTable> {
  const since = timeOption(opts.since, "since", -Infinity);
  const until = timeOption(opts.until, "until", Infinity);
  if (since >= until) throw MlopsError.of("since", "is not before until", opts.since, "Give a since earlier than until.");
  const store = opts.store ?? openStore(uri, opts.storeOptions);
  const prefix = listPrefix(opts);
  const keys = (await store.list(prefix)).filter((k) => {
    const start = partitionStart(k);
    return start !== undefined && start + PARTITION_MS > since && start < until;
  });
  const t = new TableBuilder(opts.columns, opts.input);
  for (const key of keys) {
    const text = (await store.get(key))?.toString("utf8");
    if (text === undefined) continue; // removed since the listing
    t.files++;
    for (const line of text.split("\n")) {
      if (line.trim() !== "") t.add(line, since, until);
    }
  }
  return t.table();
}

/** `<model>/[<endpoint>/[<variant>/]]`, each checked to be one path segment. */
function listPrefix(opts: ReadPayloadOptions): string {
  const parts: string[] = [];
  for (const field of ["model", "endpoint", "variant"] as const) {
    const v = opts[field];
    if (v === undefined) break;
    if (!/^[a-z0-9][a-z0-9._-]{0,62}$/.test(v)) throw MlopsError.of(field, "is not a name", v, "Give the model, endpoint or variant name as the payload log's path has it.");
    parts.push(v);
  }
  return parts.length ? parts.join("/") + "/" : "";
}

function timeOption(v: Date | number | string | undefined, field: string, fallback: number): number {
  if (v === undefined) return fallback;
  const t = v instanceof Date ? v.getTime() : typeof v === "number" ? v : Date.parse(v);
  if (!Number.isFinite(t)) throw MlopsError.of(field, "is not a time", v, 'Give a Date, milliseconds since the epoch, or an ISO 8601 time such as "2026-05-01T12:00:00Z".');
  return t;
}

class TableBuilder {
  files = 0;
  private records = 0;
  private width: number | undefined;
  private readonly rows: number[][] = [];
  private readonly ids: string[] = [];
  private readonly times: string[] = [];
  private readonly versions: string[] = [];
  private readonly skipped: Partial<Record<SkipReason, number>> = {};

  constructor(
    private readonly columns: readonly string[] | undefined,
    private readonly input: string | undefined,
  ) {
    this.width = columns?.length;
  }

  add(line: string, since: number, until: number): void {
    let r: Record_;
    try {
      r = JSON.parse(line) as Record_;
    } catch {
      return this.skip("unreadable");
    }
    const time = r?.eventMetadata?.inferenceTime;
    const at = typeof time === "string" ? Date.parse(time) : NaN;
    if (!Number.isFinite(at)) return this.skip("unreadable");
    if (at < since || at >= until) return;
    this.records++;
    const got = tensorOf(r.captureData?.endpointInput, this.input);
    if (typeof got === "string") return this.skip(got);
    const { values, shape } = got;
    // [N, d] (tensorOf reads [N] as [N, 1] and a scalar as [1, 1]); anything of higher rank is no table row.
    if (shape.length !== 2) return this.skip("shape");
    const [n, d] = shape as [number, number];
    if (n * d !== values.length) return this.skip("shape");
    this.width ??= d;
    if (d !== this.width) return this.skip("width");
    const id = r.eventMetadata?.inferenceId ?? r.eventMetadata?.eventId;
    const version = r.modelVersion;
    for (let i = 0; i < n; i++) {
      this.rows.push(values.slice(i * d, (i + 1) * d));
      this.ids.push(typeof id === "string" ? id : "");
      this.times.push(time as string);
      this.versions.push(typeof version === "string" ? version : "");
    }
  }

  private skip(reason: SkipReason): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
  }

  table(): PayloadTable {
    const width = this.width ?? 0;
    const columns = this.columns ? [...this.columns] : Array.from({ length: width }, (_, j) => `f${j}`);
    const rows = this.rows;
    return {
      columns,
      rows,
      inferenceIds: this.ids,
      times: this.times,
      modelVersions: this.versions,
      files: this.files,
      records: this.records,
      skipped: { ...this.skipped },
      columnArrays() {
        const out: Record<string, Float64Array> = {};
        columns.forEach((name, j) => {
          const col = new Float64Array(rows.length);
          for (let i = 0; i < rows.length; i++) col[i] = rows[i]![j]!;
          out[name] = col;
        });
        return out;
      },
    };
  }
}

/** The chosen input tensor of a captured request, flat, with its shape; or why there is none. */
function tensorOf(c: Capture | undefined, input: string | undefined): { values: number[]; shape: number[] } | SkipReason {
  if (c === undefined || typeof c.data !== "string") return "unreadable";
  const encoding = typeof c.encoding === "string" ? c.encoding.toUpperCase() : "JSON";
  let text = c.data;
  let csv = encoding === "CSV";
  if (encoding === "BASE64") {
    text = Buffer.from(c.data, "base64").toString("utf8");
    csv = typeof c.observedContentType === "string" && /csv/i.test(c.observedContentType);
  } else if (encoding !== "JSON" && encoding !== "CSV") {
    return "unreadable";
  }
  if (csv) return csvTensor(text);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return "unreadable";
  }
  // An OIP request; or a bare array of rows, as other servers' JSON captures often are.
  if (Array.isArray(body)) return numbersOf(body, Array.isArray(body[0]) ? [body.length, (body[0] as unknown[]).length] : [1, body.length]);
  const inputs = (body as { inputs?: unknown } | null)?.inputs;
  if (!Array.isArray(inputs) || inputs.length === 0) return "no_input";
  const t = (input === undefined ? inputs[0] : inputs.find((i) => (i as { name?: unknown })?.name === input)) as { shape?: unknown; data?: unknown } | undefined;
  if (t === undefined || !Array.isArray(t.data)) return "no_input";
  const shape = Array.isArray(t.shape) && t.shape.every((s) => Number.isInteger(s) && s >= 0) ? (t.shape as number[]) : undefined;
  if (shape === undefined) return "shape";
  return numbersOf(t.data, shape.length === 0 ? [1, 1] : shape.length === 1 ? [shape[0]!, 1] : shape);
}

/** Flattens nested data into numbers (null: NaN; booleans 1/0); "not_numeric" at the first string or object. */
function numbersOf(data: unknown[], shape: number[]): { values: number[]; shape: number[] } | SkipReason {
  const values: number[] = [];
  const walk = (v: unknown): boolean => {
    if (typeof v === "number") values.push(v);
    else if (v === null) values.push(NaN);
    else if (typeof v === "boolean") values.push(v ? 1 : 0);
    else if (Array.isArray(v)) {
      for (const x of v) if (!walk(x)) return false;
    } else return false;
    return true;
  };
  return walk(data) ? { values, shape } : "not_numeric";
}

function csvTensor(text: string): { values: number[]; shape: number[] } | SkipReason {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  const values: number[] = [];
  let d = -1;
  for (const l of lines) {
    const cells = l.split(",").map((c) => (c.trim() === "" ? NaN : Number(c)));
    if (cells.some((v, i) => Number.isNaN(v) && l.split(",")[i]!.trim() !== "")) return "not_numeric";
    if (d >= 0 && cells.length !== d) return "shape";
    d = cells.length;
    values.push(...cells);
  }
  return { values, shape: [lines.length, Math.max(d, 0)] };
}

/**
 * The feature names an ONNX model carries in its metadata (`mlops.features`, a JSON list, which the
 * training job writes), or undefined when it has none: the `columns` for {@link readPayloadLogs}.
 */
export function onnxFeatureNames(artifact: Uint8Array): string[] | undefined {
  const model = onnxProto.onnx.ModelProto.decode(artifact);
  const raw = model.metadataProps?.find((p) => p.key === "mlops.features")?.value;
  if (!raw) return undefined;
  try {
    const names = JSON.parse(raw) as unknown;
    return Array.isArray(names) && names.every((n) => typeof n === "string") ? (names as string[]) : undefined;
  } catch {
    return undefined;
  }
}
