/**
 * The tests' own Open Inference Protocol client, written from the specs rather than from the server's
 * code, so the two can disagree: the OIP REST inference request/response, and Triton's binary tensor
 * data extension (docs/protocol/extension_binary_data.md in triton-inference-server/server): the JSON
 * header, then each binary input's bytes in input order, `Inference-Header-Content-Length` giving the
 * JSON's length; little-endian, row-major; BOOL one byte; BYTES a 4-byte little-endian length before
 * each element. It speaks over a real socket (node:http), as tritonclient does.
 */
import { request as httpRequest } from "node:http";
import { gunzipSync, inflateSync } from "node:zlib";

export type Values = readonly number[] | readonly bigint[] | readonly boolean[] | readonly string[];

export interface ClientInput {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly values: Values;
  /** Send the data as binary after the JSON (as tritonclient's set_data_from_numpy does by default). */
  readonly binary?: boolean;
}

export interface ClientOutput {
  readonly name: string;
  /** `parameters.binary_data`; left out when undefined. */
  readonly binary?: boolean;
}

export interface ClientRequest {
  readonly id?: string;
  readonly inputs: readonly ClientInput[];
  readonly outputs?: readonly ClientOutput[];
  /** `parameters.binary_data_output`; left out when undefined. */
  readonly binaryDataOutput?: boolean;
}

/** A request as bytes and the headers that go with them. */
export interface Encoded {
  readonly body: Buffer;
  readonly headers: Record<string, string>;
}

/** The JSON of `req`, followed by the binary inputs' data; the header is set only when some input is binary. */
export function encodeRequest(req: ClientRequest): Encoded {
  const chunks: Buffer[] = [];
  const inputs = req.inputs.map((i) => {
    const base = { name: i.name, shape: i.shape, datatype: i.datatype };
    if (!i.binary) return { ...base, data: jsonValues(i.datatype, i.values) };
    const bytes = toBinary(i.datatype, i.values);
    chunks.push(bytes);
    return { ...base, parameters: { binary_data_size: bytes.length } };
  });
  const json: Record<string, unknown> = { inputs };
  if (req.id !== undefined) json.id = req.id;
  if (req.outputs) json.outputs = req.outputs.map((o) => (o.binary === undefined ? { name: o.name } : { name: o.name, parameters: { binary_data: o.binary } }));
  if (req.binaryDataOutput !== undefined) json.parameters = { binary_data_output: req.binaryDataOutput };
  const header = Buffer.from(JSON.stringify(json), "utf8");
  if (chunks.length === 0) return { body: header, headers: { "content-type": "application/json" } };
  return {
    body: Buffer.concat([header, ...chunks]),
    headers: { "content-type": "application/octet-stream", "inference-header-content-length": String(header.length) },
  };
}

function jsonValues(datatype: string, values: Values): unknown[] {
  // INT64/UINT64 beyond 2^53 travel as decimal strings in JSON.
  if (datatype === "INT64" || datatype === "UINT64") return (values as readonly (number | bigint)[]).map((v) => (typeof v === "bigint" ? v.toString() : v));
  return [...values];
}

const SIZES: Record<string, number> = { BOOL: 1, INT8: 1, UINT8: 1, INT16: 2, UINT16: 2, FP16: 2, INT32: 4, UINT32: 4, FP32: 4, INT64: 8, UINT64: 8, FP64: 8 };

/** One tensor's values in the extension's binary form. */
export function toBinary(datatype: string, values: Values): Buffer {
  if (datatype === "BYTES") {
    const parts = (values as readonly string[]).map((s) => Buffer.from(s, "utf8"));
    const out = Buffer.alloc(parts.reduce((n, p) => n + 4 + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.writeUInt32LE(p.length, at);
      p.copy(out, at + 4);
      at += 4 + p.length;
    }
    return out;
  }
  const size = SIZES[datatype]!;
  const out = Buffer.alloc(values.length * size);
  values.forEach((v, i) => {
    const at = i * size;
    switch (datatype) {
      case "BOOL": out.writeUInt8(v ? 1 : 0, at); break;
      case "INT8": out.writeInt8(v as number, at); break;
      case "UINT8": out.writeUInt8(v as number, at); break;
      case "INT16": out.writeInt16LE(v as number, at); break;
      case "UINT16": out.writeUInt16LE(v as number, at); break;
      case "FP16": out.writeUInt16LE(halfBitsOf(v as number), at); break;
      case "INT32": out.writeInt32LE(v as number, at); break;
      case "UINT32": out.writeUInt32LE(v as number, at); break;
      case "FP32": out.writeFloatLE(v as number, at); break;
      case "INT64": out.writeBigInt64LE(BigInt(v as number | bigint), at); break;
      case "UINT64": out.writeBigUInt64LE(BigInt(v as number | bigint), at); break;
      case "FP64": out.writeDoubleLE(v as number, at); break;
    }
  });
  return out;
}

/** Values of a tensor from its binary form. INT64/UINT64 come back as bigint, FP16 as numbers. */
export function fromBinary(datatype: string, bytes: Buffer): Values {
  if (datatype === "BYTES") {
    const out: string[] = [];
    for (let at = 0; at < bytes.length; ) {
      const len = bytes.readUInt32LE(at);
      out.push(bytes.toString("utf8", at + 4, at + 4 + len));
      at += 4 + len;
    }
    return out;
  }
  const size = SIZES[datatype]!;
  const n = bytes.length / size;
  const read = (at: number): number | bigint | boolean => {
    switch (datatype) {
      case "BOOL": return bytes.readUInt8(at) === 1;
      case "INT8": return bytes.readInt8(at);
      case "UINT8": return bytes.readUInt8(at);
      case "INT16": return bytes.readInt16LE(at);
      case "UINT16": return bytes.readUInt16LE(at);
      case "FP16": return halfValue(bytes.readUInt16LE(at));
      case "INT32": return bytes.readInt32LE(at);
      case "UINT32": return bytes.readUInt32LE(at);
      case "FP32": return bytes.readFloatLE(at);
      case "INT64": return bytes.readBigInt64LE(at);
      case "UINT64": return bytes.readBigUInt64LE(at);
      default: return bytes.readDoubleLE(at);
    }
  };
  return Array.from({ length: n }, (_, i) => read(i * size)) as Values;
}

/**
 * FP16 bits of a value exactly representable as a half (what the tests send): found from the float32
 * bits, whose exponent and top mantissa bits a half keeps. Throws for a value that would need rounding.
 */
export function halfBitsOf(v: number): number {
  const f = Buffer.alloc(4);
  f.writeFloatLE(v);
  const bits = f.readUInt32LE();
  const sign = (bits >>> 16) & 0x8000;
  const exp = ((bits >>> 23) & 0xff) - 127;
  const mant = bits & 0x7fffff;
  if (v === 0) return sign;
  let h: number;
  // Normal: the exponent rebiased, the top 10 of float32's 23 mantissa bits. Subnormal: a count of 2^-24 steps.
  if (exp >= -14) h = sign | ((exp + 15) << 10) | (mant >>> 13);
  else h = sign | Math.round(Math.abs(v) * 2 ** 24);
  if (halfValue(h) !== v) throw new Error(`test value ${v} is not exactly a half; pick one that is`);
  return h;
}

/** The value of FP16 bits, per IEEE 754. */
export function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

/** An answer as the client reads it. */
export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** The body as sent (after undoing Content-Encoding). */
  readonly raw: Buffer;
  /** The JSON part (the whole body without Inference-Header-Content-Length). */
  readonly json: any;
  /** Each output's values: from `data`, or from its binary bytes. */
  readonly outputs: Record<string, { datatype: string; shape: number[]; values: Values; binary: boolean }>;
}

/** Reads an answer: JSON, or JSON then binary outputs, each the size its `binary_data_size` says. */
export function decodeAnswer(status: number, headers: Answer["headers"], wire: Buffer): Answer {
  const coding = headers["content-encoding"];
  const raw = coding === "gzip" ? gunzipSync(wire) : coding === "deflate" ? inflateSync(wire) : wire;
  const lengthHeader = headers["inference-header-content-length"];
  const jsonLength = lengthHeader === undefined ? raw.length : Number(lengthHeader);
  const json = JSON.parse(raw.subarray(0, jsonLength).toString("utf8"));
  const outputs: Answer["outputs"] = {};
  let at = jsonLength;
  for (const o of (json.outputs ?? []) as { name: string; datatype: string; shape: number[]; data?: Values; parameters?: { binary_data_size?: number } }[]) {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) {
      outputs[o.name] = { datatype: o.datatype, shape: o.shape, values: o.data!, binary: false };
      continue;
    }
    outputs[o.name] = { datatype: o.datatype, shape: o.shape, values: fromBinary(o.datatype, raw.subarray(at, at + size)), binary: true };
    at += size;
  }
  if (at !== raw.length) throw new Error(`answer has ${raw.length - at} bytes after its outputs' binary data`);
  return { status, headers, raw, json, outputs };
}

/** POSTs bytes to `url` (with `headers` exactly: no content type is added) and reads the answer. */
export function post(url: string, body: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; headers: Answer["headers"]; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: "POST", headers: { ...headers, "content-length": String(body.length) } }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Sends `req` to the infer URL and reads the answer; an answer that is not 200 keeps its JSON error. */
export async function infer(url: string, req: ClientRequest, extraHeaders: Record<string, string> = {}): Promise<Answer> {
  const { body, headers } = encodeRequest(req);
  const r = await post(url, body, { ...headers, ...extraHeaders });
  return decodeAnswer(r.status, r.headers, r.body);
}
