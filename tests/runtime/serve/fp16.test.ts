import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelVersion } from "../../../src/registry/types.js";
import { buildApp } from "../../../runtime/serve/app.js";
import { fitsHalf, fromHalfBits, toHalfBits } from "../../../runtime/serve/fp16.js";
import { LoadedModel } from "../../../runtime/serve/model.js";
import { UnservableModel } from "../../../runtime/serve/servable.js";
import { MODELS_DIR, spec, tempRegistry, waitFor } from "./helpers.js";
import { serveFixture, type Live } from "./live.js";
import { halfValue, infer, type ClientInput } from "./oip-client.js";

// half.onnx: x FP16 [N,3] -> doubled FP16 [N,3] = x*2, widened FP32 [N,3] = x as float.

describe("FP16 conversion by hand (no Float16Array in Node 20)", () => {
  it("rounds to the nearest half, ties to even, straight from the double", () => {
    const cases: [number, number][] = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.1, 0x2e66], [65504, 0x7bff], [65519.99, 0x7bff],
      [2 ** -24, 0x0001], [2 ** -25, 0x0000], [3 * 2 ** -25, 0x0002], [2 ** -14, 0x0400], [1 + 2 ** -11, 0x3c00],
      [1 + 3 * 2 ** -11, 0x3c02], [1 / 3, 0x3555], [65520, 0x7c00], [-Infinity, 0xfc00],
    ];
    for (const [v, bits] of cases) expect(toHalfBits(v).toString(16), String(v)).toBe(bits.toString(16));
    expect(toHalfBits(NaN) & 0x7c00).toBe(0x7c00);
  });

  it("reads every half back to the value it holds, and writes that value to the same bits", () => {
    for (let h = 0; h < 65536; h++) {
      const v = fromHalfBits(h);
      if (Number.isNaN(v)) continue;
      expect(v).toBe(halfValue(h));
      expect(toHalfBits(v)).toBe(h);
    }
  });

  it("says which finite values fit", () => {
    expect(fitsHalf(65519.99)).toBe(true);
    expect(fitsHalf(65520)).toBe(false);
    expect(fitsHalf(-1e39)).toBe(false);
  });
});

describe("FP16 tensors", () => {
  let live: Live;
  beforeAll(async () => {
    live = await serveFixture("half");
  });
  afterAll(() => live.close());

  const values = [0.5, -1.25, 3, 1024, 0.0999755859375, -0.000030517578125];
  const x = (binary: boolean, v: readonly number[] = values): ClientInput => ({ name: "x", datatype: "FP16", shape: [v.length / 3, 3], values: v, binary });

  it("takes and answers FP16 as JSON numbers", async () => {
    const r = await infer(live.inferUrl, { inputs: [x(false)] });
    expect(r.status, r.raw.toString()).toBe(200);
    expect(r.outputs.doubled).toEqual({ datatype: "FP16", shape: [2, 3], values: values.map((v) => v * 2), binary: false });
    expect(r.outputs.widened!.values).toEqual(values);
  });

  it("rounds a JSON number to the nearest half on the way in", async () => {
    const r = await infer(live.inferUrl, { inputs: [x(false, [0.1, 1 / 3, 65519])] });
    expect(r.outputs.widened!.values).toEqual([halfValue(0x2e66), halfValue(0x3555), 65504]);
  });

  it("takes and answers FP16 as raw little-endian halves, equal to the JSON answer", async () => {
    const json = await infer(live.inferUrl, { inputs: [x(false)] });
    const bin = await infer(live.inferUrl, { inputs: [x(true)], binaryDataOutput: true });
    expect(bin.status, bin.raw.toString()).toBe(200);
    expect(bin.outputs.doubled!.binary).toBe(true);
    expect(bin.json.outputs[0].parameters).toEqual({ binary_data_size: 12 });
    expect(bin.outputs.doubled!.values).toEqual(json.outputs.doubled!.values);
    expect(bin.outputs.widened!.values).toEqual(json.outputs.widened!.values);
  });

  it("fails with 400 naming the input and element when a value is outside FP16's range", async () => {
    const r = await infer(live.inferUrl, { inputs: [x(false, [1, 2, 70000])] });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/input "x": value 2 \(row-major\) is 70000; a number within FP16's range \(±65504\) expected/);
  });
});

const mv = (name: string) => ({ name, version: 1, digest: "sha256:test" }) as ModelVersion;

describe("models whose tensor types cannot be served", () => {
  it("fails to load a BF16 model, naming BFLOAT16 (onnxruntime-node 1.30 cannot pass it)", async () => {
    const err = await LoadedModel.load(mv("bf16"), await readFile(join(MODELS_DIR, "bf16.onnx"))).catch((e: Error) => e);
    expect(err).toBeInstanceOf(UnservableModel);
    expect((err as Error).message).toMatch(/model bf16:1 cannot be served: onnxruntime-node cannot pass BFLOAT16 \(BF16\) tensors/);
  });

  it("fails to load an INT4 model (onnxruntime loads it; OIP has no INT4), naming the input", async () => {
    const err = await LoadedModel.load(mv("int4"), await readFile(join(MODELS_DIR, "int4.onnx"))).catch((e: Error) => e);
    expect(err).toBeInstanceOf(UnservableModel);
    expect((err as UnservableModel).problems).toEqual(['input "x" has element type int4, which has no OIP datatype this server serves']);
    expect((err as Error).message).toMatch(/serves tensors of FP32, FP64, FP16, .*BYTES/);
  });

  it("never reports ready for a BF16 model (which the registry takes), and says why", async () => {
    const t = await tempRegistry();
    await t.registry.register("bf16", await readFile(join(MODELS_DIR, "bf16.onnx")), { alias: "champion" });
    const app = await buildApp({ spec: spec(t.uri, "bf16@champion"), registry: t.registry, firstLoad: "background", loadRetry: { initialDelayMs: 20, maxDelayMs: 50 } });
    try {
      await waitFor(() => /BFLOAT16/.test(app.notLoadedReason() ?? ""));
      expect(app.ready).toBe(false);
      expect((await app.inject({ method: "GET", url: "/v2/health/ready" })).status).toBe(503);
    } finally {
      await app.close();
      await t.cleanup();
    }
  });

  it("refuses to serve an INT4 model from a registry that holds one", async () => {
    const bytes = await readFile(join(MODELS_DIR, "int4.onnx"));
    // A registry written before register checked types: it hands out the artifact as it is.
    const source = { resolve: async () => ({ ...mv("int4"), uri: "memory", format: "onnx" }) as ModelVersion, readArtifact: async () => bytes };
    const err = await buildApp({ spec: spec("file:///unused", "int4@champion"), registry: source }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/input "x" has element type int4/);
  });
});
