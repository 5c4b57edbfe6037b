/**
 * Whether `mlops serve` can serve a model's inputs and outputs: one check, used where a version loads
 * (model.ts, so a model it cannot serve never reports ready) and, through that load, by
 * `mlops registry register`'s load check (cli/registry.ts).
 */
import type ort from "onnxruntime-node";
import { DATATYPES, oipDatatype } from "./tensor.js";

/** A model loaded in onnxruntime, but with inputs or outputs this server cannot pass. */
export class UnservableModel extends Error {
  constructor(
    message: string,
    /** One line per input or output that cannot be served. */
    readonly problems: readonly string[],
  ) {
    super(message);
  }
}

/** The OIP datatypes this server serves, for messages. */
export const SERVABLE_DATATYPES: readonly string[] = Object.keys(DATATYPES);

/** What is wrong with each input and output that cannot be served; empty when all can. */
export function unservableTensors(
  inputs: readonly ort.InferenceSession.ValueMetadata[],
  outputs: readonly ort.InferenceSession.ValueMetadata[],
): string[] {
  const problems: string[] = [];
  for (const [side, list] of [["input", inputs], ["output", outputs]] as const) {
    for (const m of list) {
      if (!m.isTensor) problems.push(`${side} "${m.name}" is not a tensor (a sequence or map); only tensors can be served`);
      else if (oipDatatype(m.type) === undefined) problems.push(`${side} "${m.name}" has element type ${m.type}, which has no OIP datatype this server serves`);
    }
  }
  return problems;
}

/** Throws {@link UnservableModel} naming every input and output that cannot be served. `model` is `name:version`. */
export function assertServable(
  model: string,
  inputs: readonly ort.InferenceSession.ValueMetadata[],
  outputs: readonly ort.InferenceSession.ValueMetadata[],
): void {
  const problems = unservableTensors(inputs, outputs);
  if (problems.length === 0) return;
  throw new UnservableModel(
    `model ${model} cannot be served: ${problems.join("; ")}. This server serves tensors of ${SERVABLE_DATATYPES.join(", ")}; ` +
      "export the model with inputs and outputs of those types (cast inside the graph if need be).",
    problems,
  );
}

/**
 * onnxruntime-node's own refusal of a tensor type it cannot pass at all (e.g. BFLOAT16, type 16, in
 * onnxruntime-node 1.30), as a sentence that says which ONNX type that is; undefined for other errors.
 */
export function explainOrtTypeError(message: string): string | undefined {
  const m = /Unsupported data type: (\d+)/.exec(message);
  if (!m) return undefined;
  const code = Number(m[1]);
  const name = ONNX_TYPE_NAMES[code] ?? `ONNX element type ${code}`;
  return `onnxruntime-node cannot pass ${name} tensors in or out of a model (it reported "${m[0]}"); this server serves tensors of ${SERVABLE_DATATYPES.join(", ")}: export the model with inputs and outputs of those types (cast inside the graph if need be)`;
}

/** TensorProto.DataType codes onnxruntime-node is known to refuse at its boundary. */
const ONNX_TYPE_NAMES: Readonly<Record<number, string>> = {
  14: "COMPLEX64",
  15: "COMPLEX128",
  16: "BFLOAT16 (BF16)",
  17: "FLOAT8E4M3FN",
  18: "FLOAT8E4M3FNUZ",
  19: "FLOAT8E5M2",
  20: "FLOAT8E5M2FNUZ",
};
