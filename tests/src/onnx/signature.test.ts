import onnxProto from "onnx-proto";
import { describe, expect, it } from "vitest";
import { MlopsError } from "../../../src/errors.js";
import { readOnnxSignature } from "../../../src/onnx/signature.js";
import { tinyOnnx } from "../../helpers/tiny-onnx.js";

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;

/** A model whose graph has one input per element type (plus an initializer listed as an input). */
function modelWith(inputs: Array<[string, number, Array<number | string>]>, initializer?: string): Buffer {
  const value = ([name, elemType, dims]: [string, number, Array<number | string>]) => ({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) } } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 3,
    opsetImport: [{ version: 9 }],
    graph: {
      name: "g",
      input: inputs.map(value),
      output: [value(["out", T.FLOAT, [1]])],
      initializer: initializer ? [{ name: initializer, dataType: T.FLOAT, dims: [1], floatData: [0] }] : [],
    },
  });
  return Buffer.from(onnx.ModelProto.encode(model).finish());
}

describe("readOnnxSignature", () => {
  it("reads inputs and outputs with a dynamic batch dimension as -1", () => {
    expect(readOnnxSignature(tinyOnnx({ features: 4 }))).toEqual({
      inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4] }],
      outputs: [{ name: "y", datatype: "FP32", shape: [-1, 4] }],
    });
  });

  it("maps ONNX element types to OIP datatypes", () => {
    const types: Array<[number, string]> = [
      [T.FLOAT, "FP32"], [T.DOUBLE, "FP64"], [T.FLOAT16, "FP16"], [T.INT8, "INT8"], [T.INT16, "INT16"],
      [T.INT32, "INT32"], [T.INT64, "INT64"], [T.UINT8, "UINT8"], [T.BOOL, "BOOL"], [T.STRING, "BYTES"],
    ];
    const sig = readOnnxSignature(modelWith(types.map(([t], i) => [`i${i}`, t, [2]])));
    expect(sig.inputs.map((i) => i.datatype)).toEqual(types.map(([, oip]) => oip));
  });

  it("reads a dimension with neither value nor name as -1", () => {
    const sig = readOnnxSignature(modelWith([["a", T.INT64, ["n", 0, 7]]]));
    expect(sig.inputs[0]!.shape).toEqual([-1, -1, 7]);
  });

  it("leaves out graph inputs that are initializers", () => {
    const sig = readOnnxSignature(modelWith([["a", T.FLOAT, [1]], ["w", T.FLOAT, [1]]], "w"));
    expect(sig.inputs.map((i) => i.name)).toEqual(["a"]);
  });

  it.each([
    ["text", Buffer.from("definitely not protobuf")],
    ["empty", Buffer.alloc(0)],
    ["truncated", tinyOnnx().subarray(0, 40)],
  ])("fails when the bytes are %s", (_what, bytes) => {
    expect(() => readOnnxSignature(bytes)).toThrow(MlopsError);
    expect(() => readOnnxSignature(bytes)).toThrow(/is not an ONNX model/);
  });
});
