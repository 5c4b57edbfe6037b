import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

export interface TinyOnnxOptions {
  /** Graph input name. @default "x" */
  readonly input?: string;
  /** Graph output name. @default "y" */
  readonly output?: string;
  /** Feature count (the second dimension; the first is a dynamic batch). @default 3 */
  readonly features?: number;
  /** Model doc string, to make distinct artifacts with the same graph. @default "" */
  readonly doc?: string;
}

/**
 * A valid ONNX model, built in memory: `y = Identity(x)` on FLOAT [batch, features], opset 13, IR 8.
 * onnxruntime loads it; registry tests use it as a small real artifact.
 */
export function tinyOnnx(opts: TinyOnnxOptions = {}): Buffer {
  const input = opts.input ?? "x";
  const output = opts.output ?? "y";
  const features = opts.features ?? 3;
  const tensor = (name: string) =>
    onnx.ValueInfoProto.create({
      name,
      type: {
        tensorType: {
          elemType: onnx.TensorProto.DataType.FLOAT,
          shape: { dim: [{ dimParam: "batch" }, { dimValue: features }] },
        },
      },
    });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "pulumi-mlops-tests",
    docString: opts.doc ?? "",
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: "identity",
      node: [{ opType: "Identity", input: [input], output: [output], name: "identity" }],
      input: [tensor(input)],
      output: [tensor(output)],
    },
  });
  return Buffer.from(onnx.ModelProto.encode(model).finish());
}
