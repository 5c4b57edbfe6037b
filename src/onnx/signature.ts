import onnxProto from "onnx-proto";
import { MlopsError } from "../errors.js";
import type { TensorSignature } from "../registry/types.js";

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;

/** ONNX element type → Open Inference Protocol datatype. */
const OIP_DATATYPE: Readonly<Record<number, string>> = {
  [T.FLOAT]: "FP32",
  [T.DOUBLE]: "FP64",
  [T.FLOAT16]: "FP16",
  [T.BFLOAT16]: "BF16",
  [T.INT8]: "INT8",
  [T.INT16]: "INT16",
  [T.INT32]: "INT32",
  [T.INT64]: "INT64",
  [T.UINT8]: "UINT8",
  [T.UINT16]: "UINT16",
  [T.UINT32]: "UINT32",
  [T.UINT64]: "UINT64",
  [T.BOOL]: "BOOL",
  [T.STRING]: "BYTES",
};

/** A model's graph inputs (without initializers) and outputs, as OIP tensor descriptions. */
export interface OnnxSignature {
  readonly inputs: TensorSignature[];
  readonly outputs: TensorSignature[];
}

/**
 * Reads the input and output signature of a serialized ONNX ModelProto. Dynamic dimensions (a
 * `dim_param` such as "batch", or none given) read as -1; graph inputs that are initializers (weights,
 * in models from before IR version 4) are not inputs a caller feeds.
 * @throws MlopsError when the bytes are not an ONNX model.
 */
export function readOnnxSignature(bytes: Uint8Array, source = "artifact"): OnnxSignature {
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw notOnnx(source, bytes, (err as Error).message);
  }
  const graph = model.graph;
  // Protobuf decodes many non-ONNX byte strings without error; a model always has a graph with an
  // output and an IR version.
  if (!graph || !model.irVersion || !graph.output?.length) {
    throw notOnnx(source, bytes, "no graph with outputs and no IR version");
  }
  const weights = new Set((graph.initializer ?? []).map((t) => t.name));
  return {
    inputs: (graph.input ?? []).filter((v) => !weights.has(v.name)).map((v) => tensorOf(v, source)),
    outputs: graph.output.map((v) => tensorOf(v, source)),
  };
}

function tensorOf(value: onnxProto.onnx.IValueInfoProto, source: string): TensorSignature {
  const tensor = value.type?.tensorType;
  if (!tensor) {
    throw new MlopsError(
      `${source}: graph value "${value.name}" is not a tensor (sequence, map and optional values are not supported). Export the model with tensor inputs and outputs.`,
    );
  }
  const datatype = OIP_DATATYPE[tensor.elemType ?? 0];
  if (!datatype) {
    throw new MlopsError(
      `${source}: graph value "${value.name}" has ONNX element type ${tensor.elemType ?? "UNDEFINED"}, which has no Open Inference Protocol datatype. Export it as a numeric, bool or string tensor.`,
    );
  }
  // dim_value is an int64 (a Long or a number); a dim_param, or neither, is a dynamic dimension.
  const shape = (tensor.shape?.dim ?? []).map((d) => {
    if (d.dimParam || d.dimValue === null || d.dimValue === undefined) return -1;
    const n = Number(d.dimValue.toString());
    return n > 0 ? n : -1;
  });
  return { name: value.name ?? "", datatype, shape };
}

function notOnnx(source: string, bytes: Uint8Array, why: string): MlopsError {
  return new MlopsError(
    `${source} (${bytes.length} bytes) is not an ONNX model: ${why}. Give the .onnx file your framework exported (e.g. torch.onnx.export, skl2onnx, tf2onnx).`,
  );
}
