import onnxProto from "onnx-proto";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { buildOnnxModel, ONNX_DEFAULT_OPSET, ONNX_IR_VERSION, type OnnxModelDef } from "../../../src/onnx/build.js";

const { onnx } = onnxProto;

/** y = x · 2 + [1, 2, 3] over a symbolic batch. */
const affine: OnnxModelDef = {
  graphName: "affine",
  inputs: [{ name: "x", elemType: "float", shape: ["batch", 3] }],
  outputs: [{ name: "y", elemType: "float", shape: ["batch", 3] }],
  initializers: [
    { name: "two", elemType: "float", dims: [1], data: [2] },
    { name: "bias", elemType: "float", dims: [3], data: [1, 2, 3] },
  ],
  nodes: [
    { opType: "Mul", inputs: ["x", "two"], outputs: ["scaled"] },
    { opType: "Add", inputs: ["scaled", "bias"], outputs: ["y"] },
  ],
};

async function run(model: Buffer, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.ReturnType> {
  const session = await ort.InferenceSession.create(model);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

describe("buildOnnxModel", () => {
  it("writes a model onnxruntime runs with initializers and nodes in order", async () => {
    const x = new ort.Tensor("float32", Float32Array.from([0, 1, 2, -1, -2, -3]), [2, 3]);
    const out = await run(buildOnnxModel(affine), { x });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([1, 4, 7, -1, -2, -3]);
  });

  it("declares a symbolic batch dimension that accepts any batch size", async () => {
    const x = new ort.Tensor("float32", new Float32Array(5 * 3).fill(1), [5, 3]);
    const out = await run(buildOnnxModel(affine), { x });
    expect(out.y!.dims).toEqual([5, 3]);
  });

  it("writes int and float attributes", async () => {
    // Gemm: y = alpha · x · Wᵀ + beta · c, with transB an INT and alpha/beta FLOATs.
    const model = buildOnnxModel({
      graphName: "gemm",
      inputs: [{ name: "x", elemType: "float", shape: ["batch", 2] }],
      outputs: [{ name: "y", elemType: "float", shape: ["batch", 1] }],
      initializers: [
        { name: "w", elemType: "float", dims: [1, 2], data: [1, 1] },
        { name: "c", elemType: "float", dims: [1], data: [1] },
      ],
      nodes: [{ opType: "Gemm", inputs: ["x", "w", "c"], outputs: ["y"], attributes: { transB: 1, alpha: 0.5, beta: { float: 3 } } }],
    });
    const out = await run(model, { x: new ort.Tensor("float32", Float32Array.from([2, 4]), [1, 2]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([0.5 * 6 + 3]);
  });

  it("stores double and int64 initializers exactly", async () => {
    const model = buildOnnxModel({
      graphName: "double",
      inputs: [{ name: "x", elemType: "double", shape: ["batch", 2] }],
      outputs: [{ name: "y", elemType: "double", shape: ["batch", 2] }],
      initializers: [
        { name: "offset", elemType: "double", dims: [2], data: [0.1, 1e-300] },
        { name: "shape", elemType: "int64", dims: [2], data: [-1, 2] },
      ],
      nodes: [
        { opType: "Add", inputs: ["x", "offset"], outputs: ["sum"] },
        { opType: "Reshape", inputs: ["sum", "shape"], outputs: ["y"] },
      ],
    });
    const out = await run(model, { x: new ort.Tensor("float64", Float64Array.from([0.2, 0]), [1, 2]) });
    expect(Array.from(out.y!.data as Float64Array)).toEqual([0.2 + 0.1, 1e-300]);
  });

  it("records the IR version, opset, producer and metadata", () => {
    const decoded = onnx.ModelProto.decode(buildOnnxModel({ ...affine, metadata: { "mlops.trainer": "test" } }));
    expect(Number(decoded.irVersion)).toBe(ONNX_IR_VERSION);
    expect(decoded.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([["", ONNX_DEFAULT_OPSET]]);
    expect(decoded.producerName).toBe("pulumi-mlops");
    expect(decoded.metadataProps.map((p) => [p.key, p.value])).toEqual([["mlops.trainer", "test"]]);
  });

  it("fails when a node reads a value nothing defines", () => {
    const broken = { ...affine, nodes: [{ opType: "Add", inputs: ["x", "nope"], outputs: ["y"] }] };
    expect(() => buildOnnxModel(broken)).toThrow(/reads nope, which nothing defines before it/);
  });

  it("fails when a name is defined twice", () => {
    const broken = { ...affine, initializers: [...affine.initializers!, { name: "x", elemType: "float" as const, dims: [1], data: [0] }] };
    expect(() => buildOnnxModel(broken)).toThrow(/initializer x is defined twice/);
  });

  it("fails when a graph output is produced by no node", () => {
    const broken = { ...affine, outputs: [{ name: "z", elemType: "float" as const, shape: ["batch", 3] }] };
    expect(() => buildOnnxModel(broken)).toThrow(/graph output z is produced by no node/);
  });

  it("fails when initializer data does not match its dims", () => {
    const broken = { ...affine, initializers: [{ name: "two", elemType: "float" as const, dims: [2], data: [2] }, affine.initializers![1]!] };
    expect(() => buildOnnxModel(broken)).toThrow(/two: 1 values for dims \[2\]/);
  });
});
