/**
 * OIP v2 tensors <-> onnxruntime typed arrays: datatype names, request decoding with every check the
 * protocol asks for (datatype, shape against the graph, shape × data length, element types), and output
 * encoding straight to JSON text.
 */
import type ort from "onnxruntime-node";
import { ScannedData } from "./scan-numbers.js";

/** A request input failed validation: becomes a 400 with this message. */
export class BadRequest extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array;

interface DatatypeInfo {
  /** onnxruntime's tensor type name. */
  readonly ort: ort.Tensor.Type;
  /** A zeroed array of n elements, for one request's input. */
  readonly make: (n: number) => TypedArray;
  readonly kind: "float" | "int" | "int64" | "bool";
  readonly min: number;
  readonly max: number;
}

/**
 * Request inputs are carved out of shared slabs: a typed array of its own costs V8 an off-heap
 * allocation (about 0.5 µs for 1 KiB, more than reading the 256 numbers in it) and GC bookkeeping.
 * A slab is never rewound, only replaced when full, so a view stays valid as long as anyone holds it.
 */
const SLAB_BYTES = 256 * 1024;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

function carve<T>(Type: { new (b: ArrayBuffer, offset: number, length: number): T; new (n: number): T; BYTES_PER_ELEMENT: number }, n: number): T {
  const bytes = n * Type.BYTES_PER_ELEMENT;
  if (bytes > SLAB_BYTES / 8) return new Type(n);
  if (slabUsed + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const view = new Type(slab, slabUsed, n);
  // 8-byte alignment suits every element type, BigInt64 included.
  slabUsed += (bytes + 7) & ~7;
  return view;
}

const INT = (type: ort.Tensor.Type, make: (n: number) => TypedArray, min: number, max: number): DatatypeInfo => ({
  ort: type,
  make,
  kind: "int",
  min,
  max,
});

/** OIP datatype -> onnxruntime type and JS storage. Strings (BYTES) and FP16 are not supported. */
export const DATATYPES: Readonly<Record<string, DatatypeInfo>> = {
  FP32: { ort: "float32", make: (n) => carve(Float32Array, n), kind: "float", min: -Infinity, max: Infinity },
  FP64: { ort: "float64", make: (n) => carve(Float64Array, n), kind: "float", min: -Infinity, max: Infinity },
  INT8: INT("int8", (n) => carve(Int8Array, n), -128, 127),
  UINT8: INT("uint8", (n) => carve(Uint8Array, n), 0, 255),
  INT16: INT("int16", (n) => carve(Int16Array, n), -32768, 32767),
  UINT16: INT("uint16", (n) => carve(Uint16Array, n), 0, 65535),
  INT32: INT("int32", (n) => carve(Int32Array, n), -2147483648, 2147483647),
  UINT32: INT("uint32", (n) => carve(Uint32Array, n), 0, 4294967295),
  INT64: {
    ort: "int64",
    make: (n) => carve(BigInt64Array, n),
    kind: "int64",
    min: Number.MIN_SAFE_INTEGER,
    max: Number.MAX_SAFE_INTEGER,
  },
  BOOL: { ort: "bool", make: (n) => carve(Uint8Array, n), kind: "bool", min: 0, max: 1 },
};

const ORT_TO_OIP: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(DATATYPES).map(([oip, info]) => [info.ort, oip]),
);

/** OIP name of an onnxruntime tensor type (`float32` -> `FP32`); unsupported ones keep an upper-case name. */
export function oipDatatype(ortType: string): string {
  return ORT_TO_OIP[ortType] ?? (ortType === "float16" ? "FP16" : ortType === "string" ? "BYTES" : ortType.toUpperCase());
}

/** One input or output as the model declares it. `shape` uses -1 for a dynamic dimension. */
export interface TensorSpec {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
}

/** A decoded, validated request input. */
export interface DecodedInput {
  readonly data: TypedArray;
  readonly shape: number[];
}

/**
 * Validates one request input against the model's declaration and copies its data (flat or nested,
 * row-major, or numbers the body scanner already read) into a typed array. `budget` bounds the element
 * count before anything is allocated (a JSON body of N bytes cannot carry more than N elements), so a
 * lying shape cannot exhaust memory.
 */
export function decodeInput(raw: unknown, spec: TensorSpec, budget: number): DecodedInput {
  const where = `input "${spec.name}"`;
  const r = raw as { datatype?: unknown; shape?: unknown; data?: unknown };
  if (r.datatype !== spec.datatype) {
    throw new BadRequest(
      typeof r.datatype === "string"
        ? `${where}: datatype ${r.datatype} does not match the model's ${spec.datatype}; send "datatype": "${spec.datatype}"`
        : `${where}: "datatype" must be a string; the model expects "${spec.datatype}"`,
    );
  }
  const shape = r.shape;
  if (!Array.isArray(shape)) throw new BadRequest(`${where}: "shape" must be an array of integers, e.g. ${JSON.stringify(example(spec))}`);
  if (shape.length !== spec.shape.length) {
    throw new BadRequest(
      `${where}: shape ${JSON.stringify(shape)} has ${shape.length} dimensions; the model expects ${spec.shape.length}: ${JSON.stringify(spec.shape)} (-1 = any size)`,
    );
  }
  let count = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d !== "number" || !Number.isInteger(d) || d < 1) {
      throw new BadRequest(`${where}: shape ${JSON.stringify(shape)} must hold positive integers; dimension ${i} is ${JSON.stringify(d)}`);
    }
    const want = spec.shape[i]!;
    if (want >= 0 && d !== want) {
      throw new BadRequest(
        `${where}: shape ${JSON.stringify(shape)} does not match the model's ${JSON.stringify(spec.shape)}: dimension ${i} must be ${want}`,
      );
    }
    count *= d;
  }
  const data = r.data;
  const scanned = data instanceof ScannedData;
  if (!scanned && !Array.isArray(data)) throw new BadRequest(`${where}: "data" must be an array (flat or nested, row-major)`);
  if (count > budget) {
    throw new BadRequest(`${where}: shape ${JSON.stringify(shape)} needs ${count} values, more than the request carries`);
  }
  const info = DATATYPES[spec.datatype];
  if (!info) throw new BadRequest(`${where}: datatype ${spec.datatype} is not supported by this server`);
  const out = info.make(count);
  const filled = scanned ? fillScanned(data, out, info, where, shape) : fill(data as unknown[], out, 0, info, where, shape, 0);
  if (filled !== count) {
    throw new BadRequest(`${where}: shape ${JSON.stringify(shape)} needs ${count} values; "data" has ${filled}`);
  }
  return { data: out, shape: shape as number[] };
}

function example(spec: TensorSpec): number[] {
  return spec.shape.map((d) => (d < 0 ? 1 : d));
}

/** Copies (nested) `data` into `out` from `at`; returns the next free index. Stops at overflow. */
function fill(
  data: unknown[],
  out: TypedArray,
  at: number,
  info: DatatypeInfo,
  where: string,
  shape: readonly number[],
  depth: number,
): number {
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const v = data[i];
    if (Array.isArray(v)) {
      if (depth + 1 >= shape.length) {
        throw new BadRequest(`${where}: "data" is nested deeper than its shape ${JSON.stringify(shape)}`);
      }
      at = fill(v, out, at, info, where, shape, depth + 1);
      continue;
    }
    if (at >= out.length) {
      // Count the rest only to say how many values came.
      return at + 1 + countLeaves(data.slice(i + 1));
    }
    write(out, at, v, info, where);
    at++;
  }
  return at;
}

/**
 * The scanner's numbers into `out`, with the checks {@link fill} makes. Its messages may differ from
 * fill's (it knows no positions in nested data): the caller re-parses with JSON.parse on any error.
 */
function fillScanned(data: ScannedData, out: TypedArray, info: DatatypeInfo, where: string, shape: readonly number[]): number {
  if (data.depth > shape.length) throw new BadRequest(`${where}: "data" is nested deeper than its shape ${JSON.stringify(shape)}`);
  const values = data.values;
  const n = values.length;
  if (n !== out.length) return n;
  if (info.kind === "float") {
    const f = out as Float32Array;
    for (let i = 0; i < n; i++) f[i] = values[i]!;
    return n;
  }
  for (let i = 0; i < n; i++) write(out, i, values[i], info, where);
  return n;
}

function countLeaves(data: unknown[]): number {
  let n = 0;
  for (const v of data) n += Array.isArray(v) ? countLeaves(v) : 1;
  return n;
}

function write(out: TypedArray, at: number, v: unknown, info: DatatypeInfo, where: string): void {
  switch (info.kind) {
    case "float":
      if (typeof v !== "number") throw badValue(where, at, v, "a number");
      (out as Float32Array)[at] = v;
      return;
    case "int":
      if (typeof v !== "number" || !Number.isInteger(v) || v < info.min || v > info.max) {
        throw badValue(where, at, v, `an integer from ${info.min} to ${info.max}`);
      }
      (out as Int32Array)[at] = v;
      return;
    case "int64":
      if (typeof v === "number" && Number.isSafeInteger(v)) {
        (out as BigInt64Array)[at] = BigInt(v);
        return;
      }
      // Integers beyond 2^53 cannot survive JSON numbers: accept them as decimal strings.
      if (typeof v === "string" && /^-?[0-9]{1,19}$/.test(v)) {
        const b = BigInt(v);
        if (b >= -(2n ** 63n) && b < 2n ** 63n) {
          (out as BigInt64Array)[at] = b;
          return;
        }
      }
      throw badValue(where, at, v, "an integer (a decimal string for values beyond ±2^53)");
    case "bool":
      if (typeof v !== "boolean") throw badValue(where, at, v, "true or false");
      (out as Uint8Array)[at] = v ? 1 : 0;
      return;
  }
}

function badValue(where: string, at: number, v: unknown, want: string): BadRequest {
  const got = v === null ? "null" : typeof v === "string" ? JSON.stringify(v.slice(0, 40)) : JSON.stringify(v) ?? typeof v;
  return new BadRequest(`${where}: value ${at} (row-major) is ${got}; ${want} expected`);
}

/**
 * JSON text of an output's data, flat and row-major. Typed arrays join to the same digits JSON.stringify
 * writes, without building a JS array first; INT64 comes out as plain numbers, BOOL as true/false.
 */
export function encodeData(data: unknown, datatype: string): string {
  if (datatype === "BOOL") {
    const a = data as Uint8Array;
    let s = "[";
    for (let i = 0; i < a.length; i++) s += (i ? "," : "") + (a[i] ? "true" : "false");
    return s + "]";
  }
  if (datatype === "FP32" || datatype === "FP64") {
    const a = data as Float32Array;
    for (let i = 0; i < a.length; i++) {
      // NaN and ±Infinity are not JSON: write null as JSON.stringify would.
      if (!Number.isFinite(a[i]!)) return JSON.stringify(Array.from(a));
    }
    return "[" + a.join(",") + "]";
  }
  if (ArrayBuffer.isView(data)) return "[" + (data as unknown as Int32Array).join(",") + "]";
  return JSON.stringify(data);
}
