import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelVersion } from "../../../src/registry/types.js";
import { LoadedModel } from "../../../runtime/serve/model.js";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { MODELS_DIR, sample } from "./helpers.js";
import { serveFixture, type Live } from "./live.js";
import { encodeRequest, infer, post, toBinary, type ClientInput } from "./oip-client.js";

// BYTES (string) tensors end to end, on strings.onnx: text BYTES [N,2] -> echo BYTES [N,2] (the same
// strings), digits BYTES [N,1] -> value FP32 [N,1] (the strings read as numbers by the graph's Cast).

const TEXT = ["héllo wörld", "", "😀 emoji", "tab\tand \"quotes\""];

const inputs = (binary: boolean, text = TEXT, digits = ["1.5", "-2"]): ClientInput[] => [
  { name: "text", datatype: "BYTES", shape: [text.length / 2, 2], values: text, binary },
  { name: "digits", datatype: "BYTES", shape: [digits.length, 1], values: digits, binary },
];

describe("BYTES tensors", () => {
  let live: Live;
  beforeAll(async () => {
    live = await serveFixture("strings", { spec: { batching: { maxBatchSize: 32, maxBatchDelayMs: 5 } } });
  });
  afterAll(() => live.close());

  it("reports the string tensors as BYTES in the model metadata", async () => {
    const meta = (await (await fetch(`${live.base}/v2/models/strings`)).json()) as { inputs: unknown[]; outputs: unknown[] };
    expect(meta.inputs).toEqual([
      { name: "text", datatype: "BYTES", shape: [-1, 2] },
      { name: "digits", datatype: "BYTES", shape: [-1, 1] },
    ]);
    expect(meta.outputs[0]).toEqual({ name: "echo", datatype: "BYTES", shape: [-1, 2] });
  });

  it("takes and answers strings in JSON", async () => {
    const r = await infer(live.inferUrl, { inputs: inputs(false) });
    expect(r.status, r.raw.toString()).toBe(200);
    expect(r.outputs.echo).toEqual({ datatype: "BYTES", shape: [2, 2], values: TEXT, binary: false });
    expect(r.outputs.value!.values).toEqual([1.5, -2]);
  });

  it("takes and answers length-prefixed binary BYTES, equal to the JSON answer", async () => {
    const json = await infer(live.inferUrl, { inputs: inputs(false) });
    const bin = await infer(live.inferUrl, { inputs: inputs(true), binaryDataOutput: true });
    expect(bin.status, bin.raw.toString()).toBe(200);
    expect(bin.outputs.echo!.binary).toBe(true);
    expect(bin.json.outputs[0].parameters.binary_data_size).toBe(toBinary("BYTES", TEXT).length);
    expect(bin.outputs.echo!.values).toEqual(json.outputs.echo!.values);
    expect(bin.outputs.value!.values).toEqual(json.outputs.value!.values);
  });

  it("gives every request its own strings back when requests are batched together", async () => {
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => infer(live.inferUrl, { inputs: inputs(i % 2 === 0, [`a${i}`, `b${i}`], [String(i)]) })),
    );
    answers.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect(r.outputs.echo!.values).toEqual([`a${i}`, `b${i}`]);
      expect(r.outputs.value!.values).toEqual([i]);
    });
    // Some runs took more than one row: the strings went through the batcher's stacking and splitting.
    const text = await (await fetch(`${live.base}/metrics`)).text();
    const runs = sample(text, "mlops_batch_size_count", { model: "strings" })!;
    const rowsRun = sample(text, "mlops_batch_size_sum", { model: "strings" })!;
    expect(rowsRun).toBeGreaterThan(runs);
  });

  async function fails(body: Buffer, headers: Record<string, string>, message: RegExp) {
    const r = await post(live.inferUrl, body, headers);
    expect(r.status, r.body.toString()).toBe(400);
    expect(JSON.parse(r.body.toString()).error).toMatch(message);
  }

  it("fails with 400 naming the input when a JSON BYTES element is not a string", async () => {
    const { body, headers } = encodeRequest({ inputs: [inputs(false)[0]!, { name: "digits", datatype: "BYTES", shape: [2, 1], values: [1, 2] as never, binary: false }] });
    await fails(body, headers, /input "digits": value 0 \(row-major\) is 1; a string .* expected/);
  });

  it("fails with 400 naming the input and element when binary BYTES are not UTF-8", async () => {
    const bad = Buffer.from([2, 0, 0, 0, 0xff, 0xfe, 1, 0, 0, 0, 0x41]);
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: "text", datatype: "BYTES", shape: [1, 2], parameters: { binary_data_size: bad.length } },
          { name: "digits", datatype: "BYTES", shape: [1, 1], data: ["1"] },
        ],
      }),
    );
    await fails(Buffer.concat([header, bad]), { "inference-header-content-length": String(header.length) }, /input "text": BYTES element 0 is not valid UTF-8/);
  });

  it("fails with 400 naming the input when an element's length runs past its data", async () => {
    const bad = Buffer.from([1, 0, 0, 0, 0x41, 200, 0, 0, 0, 0x42]);
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: "text", datatype: "BYTES", shape: [1, 2], parameters: { binary_data_size: bad.length } },
          { name: "digits", datatype: "BYTES", shape: [1, 1], data: ["1"] },
        ],
      }),
    );
    await fails(Buffer.concat([header, bad]), { "inference-header-content-length": String(header.length) }, /input "text": BYTES element 1 says it is 200 bytes long, but only 1 bytes/);
  });

  it("fails with 400 before allocating when the shape claims more BYTES elements than the data can hold", async () => {
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: "text", datatype: "BYTES", shape: [500000000, 2], parameters: { binary_data_size: 8 } },
          { name: "digits", datatype: "BYTES", shape: [500000000, 1], data: ["1"] },
        ],
      }),
    );
    await fails(Buffer.concat([header, Buffer.alloc(8)]), { "inference-header-content-length": String(header.length) }, /input "text": shape \[500000000,2\] has 1000000000 BYTES elements, but binary_data_size is 8 bytes/);
  });
});

describe("a model with string inputs, loaded", () => {
  it("loads and describes BYTES inputs (it failed every request before)", async () => {
    const model = await LoadedModel.load({ name: "strings", version: 1, digest: "sha256:test" } as ModelVersion, await readFile(join(MODELS_DIR, "strings.onnx")));
    expect(model.inputs.map((i) => i.datatype)).toEqual(["BYTES", "BYTES"]);
    model.retire();
  });
});
