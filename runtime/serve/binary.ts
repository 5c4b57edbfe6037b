/**
 * The request side of Triton's binary tensor data extension (what tritonclient's `set_data_from_numpy`
 * sends by default), from docs/protocol/extension_binary_data.md in triton-inference-server/server:
 *
 * - the header `Inference-Header-Content-Length: N` says the body's first N bytes are the JSON request;
 *   the binary data of the inputs follows, back to back in the order of `inputs`, each input's size given
 *   by its `parameters.binary_data_size`, and the sizes must add up to the rest of the body exactly;
 * - `Inference-Header-Content-Length: 0` is a raw binary request: the whole body is the data of the
 *   model's one input, its shape deduced from the byte count (at most one dynamic dimension; a BYTES input
 *   takes the whole body as its one element), and every output is answered in binary;
 * - binary data is little-endian, row-major, without padding, each element in its datatype's native
 *   size; BOOL is one byte (1 or 0); FP16 the half's 16 bits; a BYTES element a 4-byte little-endian
 *   length and then its bytes.
 *
 * Typed arrays are read and written in the machine's byte order: little-endian on every platform
 * onnxruntime-node ships for (x64, arm64).
 */
import { Buffer } from "node:buffer";
import { decodeBytesElements } from "./bytes.js";
import { BadRequest, type Declared, type TensorData, type TensorSpec, type TypedArray } from "./tensor.js";

/** The header that says how long the JSON part of a binary body is. */
export const HEADER_LENGTH_HEADER = "inference-header-content-length";

/**
 * The value of Inference-Header-Content-Length: a non-negative integer; undefined when the header is
 * absent (the whole body is JSON). Throws BadRequest for anything else.
 */
export function parseHeaderLength(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(",") : value.trim();
  if (!/^[0-9]{1,10}$/.test(text)) {
    throw new BadRequest(
      `Inference-Header-Content-Length must be the byte length of the JSON request at the start of the body (a non-negative integer); received ${JSON.stringify(text.slice(0, 40))}`,
    );
  }
  return Number(text);
}

/** The binary data of one input: exactly `chunk` (its binary_data_size bytes), checked against what it declares. */
export function decodeBinaryData(chunk: Buffer, d: Declared): TensorData {
  const { info, count, where } = d;
  if (info.kind === "bytes") {
    // Every element takes at least its 4-byte length: refuse a shape the chunk cannot hold before allocating for it.
    if (count > chunk.length / 4) {
      throw new BadRequest(
        `${where}: shape ${JSON.stringify(d.shape)} has ${count} BYTES elements, but binary_data_size is ${chunk.length} bytes and each element takes at least 4 (its length)`,
      );
    }
    return decodeBytesElements(chunk, count, where);
  }
  const want = count * info.size;
  if (chunk.length !== want) {
    throw new BadRequest(
      `${where}: binary_data_size is ${chunk.length} bytes, but shape ${JSON.stringify(d.shape)} needs ${count} elements × ${info.size} bytes = ${want}; make binary_data_size the exact size of the input's data`,
    );
  }
  const out = info.make(count) as TypedArray;
  new Uint8Array(out.buffer, out.byteOffset, want).set(chunk);
  if (info.kind === "bool") {
    const bytes = out as Uint8Array;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i]! > 1) throw new BadRequest(`${where}: BOOL element ${i} is the byte ${bytes[i]}; in binary, true is 1 and false is 0`);
    }
  }
  return out;
}

/** Reads `parameters.binary_data_size` of an input; undefined when it has none. */
export function binaryDataSize(parameters: Record<string, unknown> | undefined, where: string): number | undefined {
  const size = parameters?.binary_data_size;
  if (size === undefined) return undefined;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw new BadRequest(`${where}: parameters.binary_data_size must be the byte size of the input's binary data (a non-negative integer); received ${JSON.stringify(size)}`);
  }
  return size;
}

/**
 * A raw binary request (Inference-Header-Content-Length: 0) as the JSON request it stands for: the one
 * input with its shape deduced from the body's size, and every output answered in binary. Returns that
 * request and the binary data that goes with it.
 */
export function rawBinaryRequest(body: Buffer, inputs: readonly TensorSpec[]): { request: object; binary: Buffer } {
  if (inputs.length !== 1) {
    throw new BadRequest(
      `a raw binary request (Inference-Header-Content-Length: 0) carries one input, but this model takes ${inputs.length}; send a JSON request header before the binary data instead`,
    );
  }
  const spec = inputs[0]!;
  const where = `input "${spec.name}"`;
  let shape: number[];
  let binary = body;
  if (spec.datatype === "BYTES") {
    if (spec.shape.some((d) => d > 1)) {
      throw new BadRequest(`${where}: a raw binary request can carry one BYTES element, but the model's shape ${JSON.stringify(spec.shape)} needs more; send a JSON request header`);
    }
    shape = spec.shape.map(() => 1);
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32LE(body.length, 0);
    binary = Buffer.concat([length, body]);
  } else {
    shape = deduceShape(body.length, spec, where);
  }
  const request = {
    inputs: [{ name: spec.name, datatype: spec.datatype, shape, parameters: { binary_data_size: binary.length } }],
    parameters: { binary_data_output: true },
  };
  return { request, binary };
}

const ELEMENT_BYTES: Readonly<Record<string, number>> = {
  FP16: 2, FP32: 4, FP64: 8, INT8: 1, UINT8: 1, INT16: 2, UINT16: 2, INT32: 4, UINT32: 4, INT64: 8, UINT64: 8, BOOL: 1,
};

/** The shape a raw body of `bytes` bytes fills: the model's, with its one dynamic dimension worked out. */
function deduceShape(bytes: number, spec: TensorSpec, where: string): number[] {
  const size = ELEMENT_BYTES[spec.datatype]!;
  const dynamic = spec.shape.filter((d) => d < 0).length;
  if (dynamic > 1) {
    throw new BadRequest(`${where}: the model's shape ${JSON.stringify(spec.shape)} has ${dynamic} dynamic dimensions, too many to deduce from a raw binary body; send a JSON request header with the shape`);
  }
  const fixed = spec.shape.reduce((p, d) => (d < 0 ? p : p * d), 1) * size;
  if (bytes === 0 || bytes % fixed !== 0 || (dynamic === 0 && bytes !== fixed)) {
    const what = dynamic === 0 ? `exactly ${fixed} bytes` : `a positive multiple of ${fixed} bytes`;
    throw new BadRequest(`${where}: a raw binary body for shape ${JSON.stringify(spec.shape)} of ${spec.datatype} must be ${what}; received ${bytes}`);
  }
  return spec.shape.map((d) => (d < 0 ? bytes / fixed : d));
}
