/**
 * BYTES tensors in the binary tensor data extension: each element is a 4-byte little-endian unsigned
 * length followed by that many bytes, elements back to back in row-major order. onnxruntime-node passes
 * string tensors as JS strings (UTF-8 on the native side), so an element must be valid UTF-8 to be served.
 */
import { Buffer } from "node:buffer";
import { BadRequest } from "./tensor.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads exactly `count` elements from `chunk`, which must hold nothing else. `where` names the input in
 * errors. Throws BadRequest when the lengths do not add up to the chunk or an element is not UTF-8.
 */
export function decodeBytesElements(chunk: Buffer, count: number, where: string): string[] {
  const out = new Array<string>(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 4 > chunk.length) {
      throw new BadRequest(
        `${where}: binary BYTES data ends after ${i} of ${count} elements (the shape's count); each element is a 4-byte little-endian length and then its bytes`,
      );
    }
    const len = chunk.readUInt32LE(at);
    at += 4;
    if (len > chunk.length - at) {
      throw new BadRequest(`${where}: BYTES element ${i} says it is ${len} bytes long, but only ${chunk.length - at} bytes of the input's binary data are left`);
    }
    try {
      out[i] = utf8.decode(chunk.subarray(at, at + len));
    } catch {
      throw new BadRequest(`${where}: BYTES element ${i} is not valid UTF-8; onnxruntime-node takes string tensors as UTF-8 text`);
    }
    at += len;
  }
  if (at !== chunk.length) {
    throw new BadRequest(
      `${where}: binary_data_size is ${chunk.length} bytes, but the shape's ${count} BYTES elements take ${at}; make binary_data_size the exact size of the input's data`,
    );
  }
  return out;
}

/** The binary form of string elements: a 4-byte little-endian length before each element's UTF-8 bytes. */
export function encodeBytesElements(values: readonly string[]): Buffer {
  let size = 0;
  for (const v of values) size += 4 + Buffer.byteLength(v, "utf8");
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const v of values) {
    const len = out.write(v, at + 4, "utf8");
    out.writeUInt32LE(len, at);
    at += 4 + len;
  }
  return out;
}

/** Bytes the binary form of `values` takes, without writing it. */
export function bytesElementsSize(values: readonly string[]): number {
  let size = 0;
  for (const v of values) size += 4 + Buffer.byteLength(v, "utf8");
  return size;
}
