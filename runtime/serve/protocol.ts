/**
 * Open Inference Protocol v2 (REST) bodies: parsing and checking an inference request against the loaded
 * model, and writing the JSON answers. Spec:
 * https://github.com/kserve/open-inference-protocol/blob/main/specification/protocol/inference_rest.md
 */
import type { Buffer } from "node:buffer";
import type { LoadedModel, RunFeeds, RunOutputs } from "./model.js";
import { scanInferBody } from "./scan.js";
import { BadRequest, decodeInput, encodeData, type TensorSpec, type TypedArray } from "./tensor.js";

/** A checked inference request, ready for the batcher. */
export interface InferCall {
  readonly id: string | undefined;
  readonly feeds: RunFeeds;
  /** Size of dimension 0 (the batch) of the first input; 1 for a scalar input. */
  readonly rows: number;
  /** Requested outputs, in order; undefined = all of the model's outputs. */
  readonly outputs: readonly string[] | undefined;
}

/**
 * Parses and validates an inference request body. Throws BadRequest with a message saying what is wrong.
 * Bytes go through the fast scanner first (see scan.ts); whatever it does not take, and every request
 * that fails a check, is parsed again with JSON.parse so the answer is the same either way.
 */
export function parseInferRequest(body: string | Buffer, model: LoadedModel): InferCall {
  if (typeof body !== "string") {
    const scanned = scanInferBody(body);
    if (scanned) {
      try {
        return checkRequest(scanned, model, body.length);
      } catch (e) {
        if (!(e instanceof BadRequest)) throw e;
      }
    }
    body = body.toString("utf8");
  }
  let req: unknown;
  try {
    req = JSON.parse(body);
  } catch (e) {
    throw new BadRequest(`request body is not valid JSON (${(e as Error).message}); send an OIP v2 inference request`);
  }
  if (req === null || typeof req !== "object" || Array.isArray(req)) {
    throw new BadRequest('request body must be a JSON object such as {"inputs": [{"name", "shape", "datatype", "data"}]}');
  }
  return checkRequest(req, model, body.length);
}

/** The checks on a parsed body. `budget` (the body's length) bounds how many values it can carry. */
function checkRequest(req: object, model: LoadedModel, budget: number): InferCall {
  const { id, inputs, outputs } = req as { id?: unknown; inputs?: unknown; outputs?: unknown };
  if (id !== undefined && typeof id !== "string") throw new BadRequest(`"id" must be a string; received ${JSON.stringify(id)}`);
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new BadRequest(`"inputs" must be a non-empty array; the model takes ${describeAll(model.inputs)}`);
  }
  if (inputs.length !== model.inputs.length) {
    throw new BadRequest(`the request has ${inputs.length} inputs; the model takes ${model.inputs.length}: ${describeAll(model.inputs)}`);
  }
  const feeds: Record<string, { data: TypedArray; shape: number[] }> = {};
  let rows = -1;
  for (let i = 0; i < inputs.length; i++) {
    const raw = inputs[i] as { name?: unknown } | null;
    if (raw === null || typeof raw !== "object") throw new BadRequest(`inputs[${i}] must be an object with name, shape, datatype and data`);
    const name = raw.name;
    const spec = typeof name === "string" ? model.inputByName.get(name) : undefined;
    if (!spec) {
      throw new BadRequest(
        typeof name === "string"
          ? `inputs[${i}]: the model has no input named ${JSON.stringify(name)}; its inputs are ${describeAll(model.inputs)}`
          : `inputs[${i}]: "name" must be a string naming one of ${describeAll(model.inputs)}`,
      );
    }
    if (feeds[spec.name]) throw new BadRequest(`input "${spec.name}" is given twice`);
    const decoded = decodeInput(raw, spec, budget);
    if (i === 0 && decoded.shape.length > 0) rows = decoded.shape[0]!;
    else if (model.batchable) {
      const r = decoded.shape[0]!;
      if (rows >= 0 && r !== rows) {
        throw new BadRequest(`input "${spec.name}" has ${r} rows (dimension 0) but an earlier input has ${rows}; all inputs must have the same number of rows`);
      }
      rows = r;
    }
    feeds[spec.name] = decoded;
  }
  return { id, feeds, rows: rows < 0 ? 1 : rows, outputs: parseRequestedOutputs(outputs, model) };
}

function parseRequestedOutputs(outputs: unknown, model: LoadedModel): string[] | undefined {
  if (outputs === undefined) return undefined;
  if (!Array.isArray(outputs)) throw new BadRequest(`"outputs" must be an array of {"name": …}; the model's outputs are ${describeAll(model.outputs)}`);
  const names: string[] = [];
  for (let i = 0; i < outputs.length; i++) {
    const name = (outputs[i] as { name?: unknown } | null)?.name;
    if (typeof name !== "string" || !model.outputNames.has(name)) {
      throw new BadRequest(`outputs[${i}]: ${JSON.stringify(name ?? null)} is not an output of the model; its outputs are ${describeAll(model.outputs)}`);
    }
    names.push(name);
  }
  return names;
}

function describeAll(specs: readonly TensorSpec[]): string {
  return specs.map((s) => `${s.name} (${s.datatype} ${JSON.stringify(s.shape)})`).join(", ");
}

/** The inference response as JSON text: tensors are written without an intermediate JS array. */
export function inferResponse(model: LoadedModel, call: InferCall, out: RunOutputs): string {
  let s = `{"model_name":${JSON.stringify(model.mv.name)},"model_version":"${model.versionString}"`;
  if (call.id !== undefined) s += `,"id":${JSON.stringify(call.id)}`;
  s += `,"outputs":[`;
  const specs = call.outputs ? call.outputs.map((n) => model.outputs.find((o) => o.name === n)!) : model.outputs;
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!;
    const t = out[spec.name]!;
    if (i) s += ",";
    s += `{"name":${JSON.stringify(spec.name)},"datatype":"${spec.datatype}","shape":[${t.dims.join(",")}],"data":${encodeData(t.data, spec.datatype)}}`;
  }
  return s + "]}";
}

/** Model metadata (`GET /v2/models/{m}`). */
export function modelMetadata(model: LoadedModel): string {
  return JSON.stringify({
    name: model.mv.name,
    versions: [model.versionString],
    platform: "onnxruntime",
    inputs: model.inputs,
    outputs: model.outputs,
  });
}
