import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rows } from "./helpers.js";
import { serveFixture, type Live } from "./live.js";
import { decodeAnswer, encodeRequest, infer, post, type ClientInput } from "./oip-client.js";

// Triton's binary tensor data extension, spoken by the tests' own client (oip-client.ts), every binary
// answer checked against the JSON answer to the same tensors.

const x = (data: number[][], binary = true): ClientInput => ({ name: "x", datatype: "FP32", shape: [data.length, 30], values: data.flat(), binary });

describe("binary tensor data: logistic (FP32)", () => {
  let live: Live;
  beforeAll(async () => {
    live = await serveFixture("logistic", { spec: { server: { maxBodyBytes: 64 * 1024 } } });
  });
  afterAll(() => live.close());

  it("answers tritonclient's default request (binary input, no outputs named, binary_data_output) in binary, equal to JSON", async () => {
    const data = rows(3);
    const json = await infer(live.inferUrl, { inputs: [x(data, false)] });
    // tritonclient sends no Content-Type at all.
    const { body, headers } = encodeRequest({ inputs: [x(data)], binaryDataOutput: true });
    const r = await post(live.inferUrl, body, { "inference-header-content-length": headers["inference-header-content-length"]! });
    const bin = decodeAnswer(r.status, r.headers, r.body);
    expect(bin.status, bin.raw.toString()).toBe(200);
    expect(bin.headers["content-type"]).toBe("application/octet-stream");
    expect(bin.json.outputs[0]).toEqual({ name: "probability", datatype: "FP32", shape: [3, 1], parameters: { binary_data_size: 12 } });
    expect(bin.outputs.probability!.binary).toBe(true);
    // JSON writes float32 values at their shortest; the binary float32 read back is the same number.
    expect(bin.outputs.probability!.values).toEqual(json.outputs.probability!.values);
    expect(json.headers["content-type"]).toBe("application/json");
    expect(json.headers["inference-header-content-length"]).toBeUndefined();
  });

  it("answers in JSON when a binary request asks for no binary output", async () => {
    const r = await infer(live.inferUrl, { inputs: [x(rows(2))] });
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(r.outputs.probability!.binary).toBe(false);
  });

  it("answers binary outputs for a JSON request with binary_data on the output", async () => {
    const data = rows(2);
    const r = await infer(live.inferUrl, { inputs: [x(data, false)], outputs: [{ name: "probability", binary: true }] });
    const json = await infer(live.inferUrl, { inputs: [x(data, false)] });
    expect(r.outputs.probability!.binary).toBe(true);
    expect(r.outputs.probability!.values).toEqual(json.outputs.probability!.values);
  });

  it("lets an output's binary_data: false override binary_data_output", async () => {
    const r = await infer(live.inferUrl, { inputs: [x(rows(1))], outputs: [{ name: "probability", binary: false }], binaryDataOutput: true });
    expect(r.status).toBe(200);
    expect(r.outputs.probability!.binary).toBe(false);
  });

  it("takes a raw binary request (Inference-Header-Content-Length: 0), deducing the rows from the byte count", async () => {
    const data = rows(4);
    const raw = encodeRequest({ inputs: [x(data)] }).body;
    const bytes = raw.subarray(raw.length - 4 * 30 * 4);
    const r = await post(live.inferUrl, bytes, { "content-type": "application/octet-stream", "inference-header-content-length": "0" });
    const bin = decodeAnswer(r.status, r.headers, r.body);
    expect(bin.status, bin.raw.toString()).toBe(200);
    expect(bin.outputs.probability!.shape).toEqual([4, 1]);
    expect(bin.outputs.probability!.values).toEqual((await infer(live.inferUrl, { inputs: [x(data, false)] })).outputs.probability!.values);
  });

  it("fails with 400 when a raw binary body is not a whole number of rows", async () => {
    const r = await post(live.inferUrl, Buffer.alloc(121), { "content-type": "application/octet-stream", "inference-header-content-length": "0" });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body.toString()).error).toMatch(/input "x": a raw binary body .* multiple of 120 bytes; received 121/);
  });

  it("takes a gzip-compressed binary body (Inference-Header-Content-Length counts the inflated body)", async () => {
    const data = rows(2);
    const { body, headers } = encodeRequest({ inputs: [x(data)], binaryDataOutput: true });
    const r = await post(live.inferUrl, gzipSync(body), { ...headers, "content-encoding": "gzip" });
    const bin = decodeAnswer(r.status, r.headers, r.body);
    expect(bin.status, bin.raw.toString()).toBe(200);
    expect(bin.outputs.probability!.values).toEqual((await infer(live.inferUrl, { inputs: [x(data, false)] })).outputs.probability!.values);
  });

  async function fails(body: Buffer, headers: Record<string, string>, status: number, message: RegExp) {
    const r = await post(live.inferUrl, body, headers);
    expect(r.status, r.body.toString()).toBe(status);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(r.body.toString()).error).toMatch(message);
  }

  /** A binary request whose JSON says `size` for x, followed by `extra` bytes more or less than the data. */
  function sized(size: number, dataBytes: number): { body: Buffer; headers: Record<string, string> } {
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: "x", datatype: "FP32", shape: [1, 30], parameters: { binary_data_size: size } }] }));
    return { body: Buffer.concat([header, Buffer.alloc(dataBytes)]), headers: { "content-type": "application/octet-stream", "inference-header-content-length": String(header.length) } };
  }

  it("fails with 400 naming the input when binary_data_size runs past the body", async () => {
    const { body, headers } = sized(120, 100);
    await fails(body, headers, 400, /input "x": parameters.binary_data_size is 120 bytes, but only 100 bytes of binary data are left/);
  });

  it("fails with 400 naming the input when binary_data_size does not fit the shape", async () => {
    const { body, headers } = sized(100, 100);
    await fails(body, headers, 400, /input "x": binary_data_size is 100 bytes, but shape \[1,30\] needs 30 elements × 4 bytes = 120/);
  });

  it("fails with 400 naming the inputs when bytes are left over after the binary inputs", async () => {
    const { body, headers } = sized(120, 124);
    await fails(body, headers, 400, /holds 124 bytes of binary data after its JSON, but the inputs' parameters.binary_data_size add up to 120 \("x" 120\)/);
  });

  it("fails with 400 when binary_data_size comes without Inference-Header-Content-Length", async () => {
    const { body } = sized(120, 0);
    await fails(body, { "content-type": "application/json" }, 400, /input "x": parameters.binary_data_size needs the binary data .* Inference-Header-Content-Length/);
  });

  it("fails with 400 when an input has both data and binary_data_size", async () => {
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: "x", datatype: "FP32", shape: [1, 30], data: rows(1)[0], parameters: { binary_data_size: 120 } }] }));
    await fails(Buffer.concat([header, Buffer.alloc(120)]), { "inference-header-content-length": String(header.length) }, 400, /input "x" has both "data" and parameters.binary_data_size/);
  });

  it("fails with 400 when Inference-Header-Content-Length is longer than the body or not a number", async () => {
    const { body } = sized(120, 120);
    await fails(body, { "inference-header-content-length": String(body.length + 1) }, 400, /Inference-Header-Content-Length is \d+, but the body is \d+ bytes/);
    await fails(body, { "inference-header-content-length": "12abc" }, 400, /Inference-Header-Content-Length must be the byte length .* received "12abc"/);
  });

  it("fails with 400 when the JSON header is cut short by Inference-Header-Content-Length", async () => {
    const { body } = sized(120, 120);
    await fails(body, { "inference-header-content-length": "20" }, 400, /not valid JSON \(the JSON request is the body's first Inference-Header-Content-Length bytes\)/);
  });

  it("fails with 415 for application/octet-stream without Inference-Header-Content-Length, and for other types as before", async () => {
    const { body } = sized(120, 120);
    await fails(body, { "content-type": "application/octet-stream" }, 415, /send the header Inference-Header-Content-Length/);
    await fails(body, { "content-type": "text/plain", "inference-header-content-length": "10" }, 415, /not application\/json/);
  });

  it("fails with 413 when a binary body is over server.maxBodyBytes", async () => {
    const { body, headers } = encodeRequest({ inputs: [x(rows(600))] });
    await fails(body, headers, 413, /limit is 65536 bytes \(spec.server.maxBodyBytes\)/);
  });

  it("advertises binary_tensor_data in the server metadata", async () => {
    const r = await fetch(`${live.base}/v2`);
    expect(((await r.json()) as { extensions: string[] }).extensions).toContain("binary_tensor_data");
  });
});

describe("binary tensor data: every fixed-size datatype (multitype)", () => {
  let live: Live;
  beforeAll(async () => {
    live = await serveFixture("multitype");
  });
  afterAll(() => live.close());

  const inputs = (binary: boolean): ClientInput[] => [
    { name: "a", datatype: "FP64", shape: [2, 2], values: [0.5, -1.25, 3.141592653589793, 4], binary },
    { name: "b", datatype: "INT32", shape: [2, 2], values: [1, -2, 2147483646, 0], binary },
    { name: "c", datatype: "INT64", shape: [2, 2], values: [10n, -20n, 4503599627370496n, 0n], binary },
    { name: "d", datatype: "BOOL", shape: [2, 2], values: [true, false, false, true], binary },
    { name: "e", datatype: "INT8", shape: [2, 2], values: [-128, 127, 0, 1], binary },
    { name: "f", datatype: "UINT8", shape: [2, 2], values: [0, 255, 7, 8], binary },
    { name: "g", datatype: "INT16", shape: [2, 2], values: [-32768, 32767, 5, 6], binary },
  ];

  it("answers binary inputs with the values a JSON request gets, each output binary or JSON as asked", async () => {
    const json = await infer(live.inferUrl, { inputs: inputs(false) });
    expect(json.status, json.raw.toString()).toBe(200);
    const names = ["a_out", "b_out", "c_out", "d_out", "e_out", "f_out", "g_out", "total"];
    const bin = await infer(live.inferUrl, {
      inputs: inputs(true),
      // Mixed, as Triton allows: every other output in binary, the rest in JSON, in the order asked.
      outputs: names.map((name, i) => ({ name, binary: i % 2 === 0 })),
    });
    expect(bin.status, bin.raw.toString()).toBe(200);
    expect(bin.json.outputs.map((o: { name: string }) => o.name)).toEqual(names);
    for (const [i, name] of names.entries()) {
      const got = bin.outputs[name]!;
      expect(got.binary, name).toBe(i % 2 === 0);
      const want = json.outputs[name]!.values;
      // JSON writes INT64 as numbers; the binary form reads back as bigint.
      const norm = (v: unknown) => (typeof v === "bigint" ? Number(v) : v);
      expect(got.values.map(norm), name).toEqual([...want].map(norm));
      expect(got.shape).toEqual(json.outputs[name]!.shape);
    }
  });

  it("fails with 400 when a binary BOOL byte is neither 0 nor 1", async () => {
    const { body, headers } = encodeRequest({ inputs: inputs(true) });
    const header = Number(headers["inference-header-content-length"]);
    // a: 32 bytes, b: 16, c: 32, then d's four bytes.
    body[header + 80 + 1] = 2;
    const r = await post(live.inferUrl, body, headers);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body.toString()).error).toMatch(/input "d": BOOL element 1 is the byte 2/);
  });
});
