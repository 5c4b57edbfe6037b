/**
 * OIP v2 tensors <-> onnxruntime data: datatype names, and request decoding from JSON with every check
 * the protocol asks for (datatype, shape against the graph, shape × data count, nesting that follows the
 * shape, element types and ranges). Binary data (the binary tensor data extension) is binary.ts's; answers
 * are written by output.ts.
 */
import type ort from "onnxruntime-node";
import { fitsHalf, toHalfBits } from "./fp16.js";
import { ScannedData } from "./scan-numbers.js";

/** A request input failed validation: becomes a 400 (or `status`) with this message. */
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
  | BigInt64Array
  | BigUint64Array;

/** A tensor's elements: a typed array (FP16 as its bits in a Uint16Array), or strings for BYTES. */
export type TensorData = TypedArray | string[];

type Kind = "float" | "half" | "int" | "int64" | "uint64" | "bool" | "bytes";

export interface DatatypeInfo {
  /** onnxruntime's tensor type name. */
  readonly ort: ort.Tensor.Type;
  /** Storage for n elements, for one request's input. */
  readonly make: (n: number) => TensorData;
  readonly kind: Kind;
  /** Bytes per element in the binary form; 0 for BYTES, whose elements carry their own length. */
  readonly size: number;
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

type TypedArrayType<T> = { new (b: ArrayBuffer, offset: number, length: number): T; new (n: number): T; BYTES_PER_ELEMENT: number };

/** A zeroed typed array of n elements, from the current slab when it is small. */
export function carve<T>(Type: TypedArrayType<T>, n: number): T {
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

const INT = (type: ort.Tensor.Type, Type: TypedArrayType<TypedArray>, min: number, max: number): DatatypeInfo => ({
  ort: type,
  make: (n) => carve(Type, n),
  kind: "int",
  size: Type.BYTES_PER_ELEMENT,
  min,
  max,
});

/** Largest finite float32, (2 − 2^−23) × 2^127. */
const FP32_MAX = 3.4028234663852886e38;

/**
 * OIP datatype -> onnxruntime type and JS storage: every datatype of the OIP list that onnxruntime-node
 * can pass in and out. BF16 is not here: onnxruntime-node 1.30 refuses a session whose inputs or outputs
 * are bfloat16 ("Unsupported data type: 16"), so such a model never loads (model.ts says why).
 */
export const DATATYPES: Readonly<Record<string, DatatypeInfo>> = {
  FP32: { ort: "float32", make: (n) => carve(Float32Array, n), kind: "float", size: 4, min: -FP32_MAX, max: FP32_MAX },
  FP64: { ort: "float64", make: (n) => carve(Float64Array, n), kind: "float", size: 8, min: -Number.MAX_VALUE, max: Number.MAX_VALUE },
  FP16: { ort: "float16", make: (n) => carve(Uint16Array, n), kind: "half", size: 2, min: -65504, max: 65504 },
  INT8: INT("int8", Int8Array, -128, 127),
  UINT8: INT("uint8", Uint8Array, 0, 255),
  INT16: INT("int16", Int16Array, -32768, 32767),
  UINT16: INT("uint16", Uint16Array, 0, 65535),
  INT32: INT("int32", Int32Array, -2147483648, 2147483647),
  UINT32: INT("uint32", Uint32Array, 0, 4294967295),
  INT64: { ort: "int64", make: (n) => carve(BigInt64Array, n), kind: "int64", size: 8, min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER },
  UINT64: { ort: "uint64", make: (n) => carve(BigUint64Array, n), kind: "uint64", size: 8, min: 0, max: Number.MAX_SAFE_INTEGER },
  BOOL: { ort: "bool", make: (n) => carve(Uint8Array, n), kind: "bool", size: 1, min: 0, max: 1 },
  BYTES: { ort: "string", make: (n) => new Array<string>(n).fill(""), kind: "bytes", size: 0, min: 0, max: 0 },
};

const ORT_TO_OIP: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(DATATYPES).map(([oip, info]) => [info.ort, oip]),
);

/** OIP name of an onnxruntime tensor type (`float32` -> `FP32`); undefined for a type this server cannot serve. */
export function oipDatatype(ortType: string): string | undefined {
  return ORT_TO_OIP[ortType];
}

/** One input or output as the model declares it. `shape` uses -1 for a dynamic dimension. */
export interface TensorSpec {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
}

/** A decoded, validated request input. */
export interface DecodedInput {
  readonly data: TensorData;
  readonly shape: number[];
}

/** What a request input declares, checked against the model: its shape and element count. */
export interface Declared {
  readonly shape: number[];
  readonly count: number;
  readonly info: DatatypeInfo;
  /** `input "name"`, for messages. */
  readonly where: string;
}

/** Checks an input's datatype and shape against the model's declaration. */
export function checkDeclared(raw: unknown, spec: TensorSpec): Declared {
  const where = `input "${spec.name}"`;
  const r = raw as { datatype?: unknown; shape?: unknown };
  if (r.datatype !== spec.datatype) {
    throw new BadRequest(
      typeof r.datatype === "string"
        ? `${where}: datatype ${r.datatype.slice(0, 40)} does not match the model's ${spec.datatype}; send "datatype": "${spec.datatype}"`
        : `${where}: "datatype" must be a string; the model expects "${spec.datatype}"`,
    );
  }
  const shape = r.shape;
  if (!Array.isArray(shape)) throw new BadRequest(`${where}: "shape" must be an array of integers, e.g. ${JSON.stringify(example(spec))}`);
  if (shape.length !== spec.shape.length) {
    throw new BadRequest(
      `${where}: shape ${JSON.stringify(shape.slice(0, 40))} has ${shape.length} dimensions; the model expects ${spec.shape.length}: ${JSON.stringify(spec.shape)} (-1 = any size)`,
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
  const info = DATATYPES[spec.datatype];
  if (!info) throw new BadRequest(`${where}: datatype ${spec.datatype} is not supported by this server`);
  return { shape: shape as number[], count, info, where };
}

/**
 * Validates one request input against the model's declaration and copies its JSON data (flat, or nested
 * exactly as the shape, row-major, or numbers the body scanner already read) into a typed array. `budget`
 * bounds the element count before anything is allocated (a JSON body of N bytes cannot carry more than N
 * elements), so a lying shape cannot exhaust memory.
 */
export function decodeInput(raw: unknown, spec: TensorSpec, budget: number): DecodedInput {
  const d = checkDeclared(raw, spec);
  const data = (raw as { data?: unknown }).data;
  const scanned = data instanceof ScannedData;
  if (!scanned && !Array.isArray(data)) throw new BadRequest(`${d.where}: "data" must be an array (flat or nested, row-major)`);
  if (d.count > budget) {
    throw new BadRequest(`${d.where}: shape ${JSON.stringify(d.shape)} needs ${d.count} values, more than the request carries`);
  }
  const out = d.info.make(d.count);
  const filled = scanned ? fillScanned(data, out, d) : fillJson(data as unknown[], out, d);
  if (filled !== d.count) {
    throw new BadRequest(`${d.where}: shape ${JSON.stringify(d.shape)} needs ${d.count} values; "data" has ${filled}`);
  }
  return { data: out, shape: d.shape };
}

function example(spec: TensorSpec): number[] {
  return spec.shape.map((d) => (d < 0 ? 1 : d));
}

/**
 * JSON `data` into `out`: either flat (values only, row-major) or nested exactly as the shape (every array
 * as long as its dimension, values only at the innermost level). Returns how many values a flat `data`
 * holds (the caller compares it with the shape's count); nested data either fits or throws here.
 */
function fillJson(data: unknown[], out: TensorData, d: Declared): number {
  if (data.length === 0 || !Array.isArray(data[0])) {
    const n = data.length;
    for (let i = 0; i < n; i++) {
      const v = data[i];
      if (Array.isArray(v)) {
        throw new BadRequest(`${d.where}: "data" mixes values and arrays at its top level (data[${i}] is an array); send it flat (row-major) or nested exactly as shape ${JSON.stringify(d.shape)}`);
      }
      // Count the rest only to say how many values came.
      if (i >= out.length) return n;
      write(out, i, v, d);
    }
    return n;
  }
  // How deep the first elements go: deeper than the shape has dimensions says more than a length would.
  let depth = 0;
  for (let v: unknown = data; Array.isArray(v) && depth <= d.shape.length; v = v[0]) depth++;
  if (depth > d.shape.length) throw new BadRequest(`${d.where}: "data" is nested deeper than its shape ${JSON.stringify(d.shape)}`);
  const trail: number[] = [];
  fillNested(data, out, 0, d, 0, trail);
  return d.count;
}

/** The array at nesting level `level` (0 = `data` itself), reached by the indexes in `trail`, into `out` from `at`. */
function fillNested(data: unknown[], out: TensorData, at: number, d: Declared, level: number, trail: number[]): number {
  const shape = d.shape;
  if (data.length !== shape[level]) {
    throw new BadRequest(
      `${d.where}: "data" does not follow its shape ${JSON.stringify(shape)}: ${pathOf(trail)} has ${data.length} elements, dimension ${level} is ${shape[level]}; send data flat (row-major) or nested exactly as the shape`,
    );
  }
  if (level === shape.length - 1) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (Array.isArray(v)) throw new BadRequest(`${d.where}: "data" is nested deeper than its shape ${JSON.stringify(shape)} (at ${pathOf([...trail, i])})`);
      write(out, at++, v, d);
    }
    return at;
  }
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    trail.push(i);
    if (!Array.isArray(v)) {
      throw new BadRequest(
        `${d.where}: "data" does not follow its shape ${JSON.stringify(shape)}: ${pathOf(trail)} is a value where dimension ${level + 1} needs an array of ${shape[level + 1]}`,
      );
    }
    at = fillNested(v, out, at, d, level + 1, trail);
    trail.pop();
  }
  return at;
}

function pathOf(trail: readonly number[]): string {
  return `data${trail.map((t) => `[${t}]`).join("")}`;
}

/**
 * The scanner's numbers into `out`, with the checks {@link fillJson} makes. Its messages may differ (it
 * knows no positions): the caller parses the body again with JSON.parse on any error.
 */
function fillScanned(data: ScannedData, out: TensorData, d: Declared): number {
  const values = data.values;
  const n = values.length;
  if (data.depth > 1) {
    const dims = data.dims;
    if (!dims || dims.length !== d.shape.length || dims.some((len, i) => len !== d.shape[i])) {
      throw new BadRequest(`${d.where}: "data" does not follow its shape ${JSON.stringify(d.shape)}`);
    }
  }
  if (n !== out.length) return n;
  if (d.info.kind === "float") {
    const f = out as Float32Array;
    for (let i = 0; i < n; i++) {
      f[i] = values[i]!;
      // The number read back: float32 overflows to ±Infinity beyond its range, which JSON cannot mean.
      const stored = f[i]!;
      if (stored - stored !== 0) throw badValue(d, i, values[i], rangeText(d));
    }
    return n;
  }
  for (let i = 0; i < n; i++) write(out, i, values[i], d);
  return n;
}

function write(out: TensorData, at: number, v: unknown, d: Declared): void {
  const info = d.info;
  switch (info.kind) {
    case "float": {
      if (typeof v !== "number") throw badValue(d, at, v, "a number");
      const f = out as Float32Array;
      f[at] = v;
      const stored = f[at]!;
      if (stored - stored !== 0) throw badValue(d, at, v, rangeText(d));
      return;
    }
    case "half":
      if (typeof v !== "number") throw badValue(d, at, v, "a number");
      if (!fitsHalf(v)) throw badValue(d, at, v, rangeText(d));
      (out as Uint16Array)[at] = toHalfBits(v);
      return;
    case "int":
      if (typeof v !== "number" || !Number.isInteger(v) || v < info.min || v > info.max) {
        throw badValue(d, at, v, `an integer from ${info.min} to ${info.max}`);
      }
      (out as Int32Array)[at] = v;
      return;
    case "int64":
    case "uint64": {
      const unsigned = info.kind === "uint64";
      if (typeof v === "number" && Number.isSafeInteger(v) && (!unsigned || v >= 0)) {
        (out as BigInt64Array)[at] = BigInt(v);
        return;
      }
      // Integers beyond 2^53 cannot survive JSON numbers: accept them as decimal strings.
      if (typeof v === "string" && /^-?[0-9]{1,20}$/.test(v)) {
        const b = BigInt(v);
        const ok = unsigned ? b >= 0n && b < 2n ** 64n : b >= -(2n ** 63n) && b < 2n ** 63n;
        if (ok) {
          (out as BigInt64Array)[at] = b;
          return;
        }
      }
      const range = unsigned ? "from 0 to 18446744073709551615" : "from -9223372036854775808 to 9223372036854775807";
      throw badValue(d, at, v, `an integer ${range} (a decimal string for values beyond ±2^53)`);
    }
    case "bool":
      if (typeof v !== "boolean") throw badValue(d, at, v, "true or false");
      (out as Uint8Array)[at] = v ? 1 : 0;
      return;
    case "bytes":
      if (typeof v !== "string") throw badValue(d, at, v, "a string (BYTES elements are strings in JSON; send raw bytes with the binary tensor data extension)");
      (out as string[])[at] = v;
      return;
  }
}

function rangeText(d: Declared): string {
  const max = d.info.kind === "half" ? "65504" : d.info.max.toPrecision(8);
  return `a number within ${DATATYPE_NAME.get(d.info)}'s range (±${max})`;
}

const DATATYPE_NAME = new Map(Object.entries(DATATYPES).map(([name, info]) => [info, name]));

function badValue(d: Declared, at: number, v: unknown, want: string): BadRequest {
  const got =
    v === null ? "null" : typeof v === "string" ? JSON.stringify(v.slice(0, 40)) : typeof v === "number" ? String(v) : (JSON.stringify(v) ?? typeof v);
  return new BadRequest(`${d.where}: value ${at} (row-major) is ${got}; ${want} expected`);
}
