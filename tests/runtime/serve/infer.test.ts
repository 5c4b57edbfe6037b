import ort from "onnxruntime-node";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MODELS_DIR, appFor, infer, inferBody, rows } from "./helpers.js";

/** The oracle: onnxruntime called directly on the same file, no HTTP, no batching. */
async function direct(data: number[][]): Promise<number[]> {
  const session = await ort.InferenceSession.create(join(MODELS_DIR, "logistic.onnx"));
  const out = await session.run({ x: new ort.Tensor("float32", Float32Array.from(data.flat()), [data.length, 30]) });
  const probs = Array.from(out.probability!.data as Float32Array);
  await session.release();
  return probs;
}

describe("infer: POST /v2/models/{m}[/versions/{v}]/infer", () => {
  let h: Awaited<ReturnType<typeof appFor>>;
  beforeAll(async () => {
    h = await appFor("logistic");
  });
  afterAll(() => h.cleanup());

  it("returns the model's outputs in OIP form", async () => {
    const data = rows(3);
    const r = await infer(h.app, "logistic", inferBody(data));
    expect(r.status).toBe(200);
    const body = r.json();
    expect(body.model_name).toBe("logistic");
    expect(body.model_version).toBe("1");
    expect(body.outputs).toHaveLength(1);
    expect(body.outputs[0]).toMatchObject({ name: "probability", datatype: "FP32", shape: [3, 1] });
    expect(body.outputs[0].data).toEqual(await direct(data));
  });

  it("echoes the request id", async () => {
    const r = await infer(h.app, "logistic", inferBody(rows(1), { id: "req-42" }));
    expect(r.json().id).toBe("req-42");
  });

  it("leaves id out when the request has none", async () => {
    const r = await infer(h.app, "logistic", inferBody(rows(1)));
    expect("id" in r.json()).toBe(false);
  });

  it("accepts flat row-major data the same as nested data", async () => {
    const data = rows(2);
    const nested = await infer(h.app, "logistic", inferBody(data));
    const flat = await infer(h.app, "logistic", { inputs: [{ name: "x", datatype: "FP32", shape: [2, 30], data: data.flat() }] });
    expect(flat.status).toBe(200);
    expect(flat.json().outputs).toEqual(nested.json().outputs);
  });

  it("serves the loaded version under /versions/{v}", async () => {
    const r = await infer(h.app, "logistic", inferBody(rows(1)), "1");
    expect(r.status).toBe(200);
    expect(r.json().model_version).toBe("1");
  });

  it("accepts request parameters and ignores them", async () => {
    const r = await infer(h.app, "logistic", inferBody(rows(1), { parameters: { content_type: "np" } }));
    expect(r.status).toBe(200);
  });
});

describe("infer with several datatypes", () => {
  let h: Awaited<ReturnType<typeof appFor>>;
  beforeAll(async () => {
    h = await appFor("multitype");
  });
  afterAll(() => h.cleanup());

  const request = (extra: Record<string, unknown> = {}) => ({
    inputs: [
      { name: "a", datatype: "FP64", shape: [2, 2], data: [[0.5, -1.25], [3, 4]] },
      { name: "b", datatype: "INT32", shape: [2, 2], data: [[1, -2], [2147483646, 0]] },
      { name: "c", datatype: "INT64", shape: [2, 2], data: [[10, -20], [4503599627370496, 0]] },
      { name: "d", datatype: "BOOL", shape: [2, 2], data: [[true, false], [false, true]] },
      { name: "e", datatype: "INT8", shape: [2, 2], data: [[-128, 127], [0, 1]] },
      { name: "f", datatype: "UINT8", shape: [2, 2], data: [[0, 255], [7, 8]] },
      { name: "g", datatype: "INT16", shape: [2, 2], data: [[-32768, 32767], [5, 6]] },
    ],
    ...extra,
  });

  it("computes each output with its own datatype", async () => {
    const r = await infer(h.app, "multitype", request());
    expect(r.status).toBe(200);
    const out = Object.fromEntries(r.json().outputs.map((o: { name: string }) => [o.name, o]));
    expect(out.a_out).toEqual({ name: "a_out", datatype: "FP64", shape: [2, 2], data: [1, -2.5, 6, 8] });
    expect(out.b_out).toEqual({ name: "b_out", datatype: "INT32", shape: [2, 2], data: [2, -1, 2147483647, 1] });
    expect(out.d_out).toEqual({ name: "d_out", datatype: "BOOL", shape: [2, 2], data: [false, true, true, false] });
    expect(out.e_out.data).toEqual([-128, 127, 0, 1]);
    expect(out.f_out.data).toEqual([0, 255, 7, 8]);
    expect(out.g_out.data).toEqual([-32768, 32767, 5, 6]);
    expect(out.total).toEqual({ name: "total", datatype: "FP32", shape: [2, 1], data: [0.5 + -1.25 + 1 + -2 + 10 + -20 + 1, 3 + 4 + 2147483646 + 4503599627370496 + 1] .map(Math.fround) });
  });

  it("writes INT64 outputs as JSON numbers", async () => {
    const r = await infer(h.app, "multitype", request());
    expect(r.body).toContain('"name":"c_out","datatype":"INT64","shape":[2,2],"data":[11,-19,4503599627370497,1]');
  });

  it("writes non-finite floats as null", async () => {
    const body = request();
    body.inputs[0]!.data = [[1e308, 1], [2, 3]];
    const r = await infer(h.app, "multitype", body);
    expect(r.status).toBe(200);
    expect(r.json().outputs[0].data).toEqual([null, 2, 4, 6]);
  });

  it("returns only the outputs the request names, in its order", async () => {
    const r = await infer(h.app, "multitype", request({ outputs: [{ name: "total" }, { name: "a_out" }] }));
    expect(r.json().outputs.map((o: { name: string }) => o.name)).toEqual(["total", "a_out"]);
  });
});

describe("infer on a model with a fixed shape", () => {
  it("runs a request of exactly that shape", async () => {
    const h = await appFor("fixed");
    try {
      const r = await infer(h.app, "fixed", { inputs: [{ name: "x", datatype: "FP32", shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }] });
      expect(r.status).toBe(200);
      expect(r.json().outputs[0]).toEqual({ name: "y", datatype: "FP32", shape: [2, 3], data: [2, 4, 6, 8, 10, 12] });
    } finally {
      await h.cleanup();
    }
  });

  it("fails with 400 when the request's first dimension differs from the model's fixed one", async () => {
    const h = await appFor("fixed");
    try {
      const r = await infer(h.app, "fixed", { inputs: [{ name: "x", datatype: "FP32", shape: [1, 3], data: [1, 2, 3] }] });
      expect(r.status).toBe(400);
      expect(r.json().error).toMatch(/dimension 0 must be 2/);
    } finally {
      await h.cleanup();
    }
  });
});
