/**
 * Output tensors as the answer writes them: JSON text straight from the typed array (no intermediate JS
 * array), or the raw little-endian bytes of the binary tensor data extension.
 */
import { Buffer } from "node:buffer";
import { bytesElementsSize, encodeBytesElements } from "./bytes.js";
import { fromHalfBits } from "./fp16.js";
import type { TensorData, TypedArray } from "./tensor.js";

/**
 * JSON text of an output's data, flat and row-major. Typed arrays join to the same digits JSON.stringify
 * writes; INT64 comes out as plain numbers, BOOL as true/false, FP16 as the numbers its halves hold, BYTES
 * as strings. NaN and ±Infinity, which JSON has no words for, are written as null (as JSON.stringify does).
 */
export function encodeJsonData(data: TensorData, datatype: string): string {
  if (datatype === "BOOL") {
    const a = data as Uint8Array;
    let s = "[";
    for (let i = 0; i < a.length; i++) s += (i ? "," : "") + (a[i] ? "true" : "false");
    return s + "]";
  }
  if (datatype === "FP16") {
    const a = data as Uint16Array;
    let s = "[";
    for (let i = 0; i < a.length; i++) {
      const v = fromHalfBits(a[i]!);
      s += (i ? "," : "") + (Number.isFinite(v) ? String(v) : "null");
    }
    return s + "]";
  }
  if (datatype === "FP32" || datatype === "FP64") {
    const a = data as Float32Array;
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(a[i]!)) return JSON.stringify(Array.from(a));
    }
    return "[" + a.join(",") + "]";
  }
  if (ArrayBuffer.isView(data)) return "[" + (data as unknown as Int32Array).join(",") + "]";
  return JSON.stringify(data);
}

/** The fewest bytes the JSON text of `data` can take (one digit and a comma a value): a bound checked before writing it. */
export function minJsonBytes(data: TensorData): number {
  return 2 * data.length + 2;
}

/** The binary form of an output (a view, not a copy, for typed arrays). */
export function encodeBinaryData(data: TensorData): Buffer {
  if (Array.isArray(data)) return encodeBytesElements(data);
  const a = data as TypedArray;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Bytes the binary form of an output takes. */
export function binaryBytes(data: TensorData): number {
  return Array.isArray(data) ? bytesElementsSize(data) : (data as TypedArray).byteLength;
}
