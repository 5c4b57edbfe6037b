/**
 * Open Inference Protocol v2 (REST) bodies: parsing and checking an inference request against the loaded
 * model, JSON or with Triton's binary tensor data extension (binary.ts), and writing the answers. Spec:
 * https://github.com/kserve/open-inference-protocol/blob/main/specification/protocol/inference_rest.md
 */
import { Buffer } from "node:buffer";
import { binaryDataSize, decodeBinaryData, rawBinaryRequest } from "./binary.js";
import type { LoadedModel, RunFeeds, RunOutputs } from "./model.js";
import { assertNesting } from "./nesting.js";
import { binaryBytes, encodeBinaryData, encodeJsonData, minJsonBytes } from "./output.js";
import { scanInferBody } from "./scan.js";
import { BadRequest, checkDeclared, decodeInput, type DecodedInput, type TensorSpec } from "./tensor.js";

/** One entry of `outputs`: which output, and whether it was asked for in binary (undefined: not said). */
export interface RequestedOutput {
  readonly name: string;
  readonly binary: boolean | undefined;
}

/** A checked inference request, ready for the batcher. */
export interface InferCall {
  readonly id: string | undefined;
  readonly feeds: RunFeeds;
  /** Size of dimension 0 (the batch) of the first input; 1 for a scalar input. */
  readonly rows: number;
  /** Requested outputs, in order; undefined = all of the model's outputs. */
  readonly outputs: readonly RequestedOutput[] | undefined;
  /** `parameters.binary_data_output`: outputs are answered in binary unless their own `binary_data` says otherwise. */
  readonly binaryOutput: boolean;
}

export interface ParseOptions {
  /**
   * Inference-Header-Content-Length: the JSON request is the body's first N bytes and the inputs' binary
   * data follows; 0 makes the whole body the binary data of the model's one input. @default - all JSON
   */
  readonly headerLength?: number;
  /**
   * Another set of inputs the request may send instead of the model's: given the request's `inputs`, the
   * signature they are checked against, or undefined for the model's own. Serving by entity id uses it
   * (feature-input/): the entity key tensor stands in for the feature input. @default - the model's only
   */
  readonly alternate?: (inputs: readonly unknown[]) => InputSignature | undefined;
}

/** The inputs a request is checked against: the model's (a LoadedModel is one), or an {@link ParseOptions.alternate}. */
export interface InputSignature {
  readonly inputs: readonly TensorSpec[];
  readonly inputByName: ReadonlyMap<string, TensorSpec>;
  readonly batchable: boolean;
}

/**
 * Parses and validates an inference request body. Throws BadRequest with a message saying what is wrong.
 * Bytes go through the fast scanner first (see scan.ts); whatever it does not take, and every request
 * that fails a check, is parsed again with JSON.parse so the answer is the same either way.
 */
export function parseInferRequest(body: string | Buffer, model: LoadedModel, opts: ParseOptions = {}): InferCall {
  const headerLength = opts.headerLength;
  if (headerLength === undefined) return parseJson(body, model, undefined, opts);
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  if (headerLength > bytes.length) {
    throw new BadRequest(
      `Inference-Header-Content-Length is ${headerLength}, but the body is ${bytes.length} bytes; it must be the byte length of the JSON request at the start of the body`,
    );
  }
  if (headerLength === 0) {
    const { request, binary } = rawBinaryRequest(bytes, model.inputs);
    return checkRequest(request, model, 0, binary);
  }
  return parseJson(bytes.subarray(0, headerLength), model, bytes.subarray(headerLength), opts);
}

function parseJson(body: string | Buffer, model: LoadedModel, binary: Buffer | undefined, opts: ParseOptions): InferCall {
  if (typeof body !== "string") {
    const scanned = scanInferBody(body);
    if (scanned) {
      try {
        return checkRequest(scanned, model, body.length, binary, opts.alternate);
      } catch (e) {
        if (!(e instanceof BadRequest)) throw e;
      }
    }
    assertNesting(body);
    body = body.toString("utf8");
  } else {
    assertNesting(Buffer.from(body, "utf8"));
  }
  let req: unknown;
  try {
    req = JSON.parse(body);
  } catch (e) {
    const hint = binary === undefined ? "" : " (the JSON request is the body's first Inference-Header-Content-Length bytes)";
    throw new BadRequest(`request body is not valid JSON${hint} (${(e as Error).message}); send an OIP v2 inference request`);
  }
  if (req === null || typeof req !== "object" || Array.isArray(req)) {
    throw new BadRequest('request body must be a JSON object such as {"inputs": [{"name", "shape", "datatype", "data"}]}');
  }
  return checkRequest(req, model, body.length, binary, opts.alternate);
}

type Parameters = Record<string, unknown>;

/**
 * The checks on a parsed body. `budget` (the JSON's length) bounds how many values JSON data can carry;
 * `binary` is what follows the JSON in a binary request (undefined for a JSON one).
 */
function checkRequest(req: object, model: LoadedModel, budget: number, binary: Buffer | undefined, alternate?: ParseOptions["alternate"]): InferCall {
  const { id, inputs, outputs, parameters } = req as { id?: unknown; inputs?: unknown; outputs?: unknown; parameters?: unknown };
  if (id !== undefined && typeof id !== "string") throw new BadRequest(`"id" must be a string; received ${JSON.stringify(id)}`);
  const binaryOutput = flag(readParameters(parameters, '"parameters"'), "binary_data_output", '"parameters"') ?? false;
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new BadRequest(`"inputs" must be a non-empty array; the model takes ${describeAll(model.inputs)}`);
  }
  const sig: InputSignature = alternate?.(inputs) ?? model;
  if (inputs.length !== sig.inputs.length) {
    throw new BadRequest(`the request has ${inputs.length} inputs; the model takes ${sig.inputs.length}: ${describeAll(sig.inputs)}`);
  }
  const feeds: Record<string, DecodedInput> = {};
  let offset = 0;
  let rows = -1;
  for (let i = 0; i < inputs.length; i++) {
    const raw = inputs[i] as { name?: unknown; data?: unknown; parameters?: unknown } | null;
    if (raw === null || typeof raw !== "object") throw new BadRequest(`inputs[${i}] must be an object with name, shape, datatype and data`);
    const name = raw.name;
    const spec = typeof name === "string" ? sig.inputByName.get(name) : undefined;
    if (!spec) {
      throw new BadRequest(
        typeof name === "string"
          ? `inputs[${i}]: the model has no input named ${JSON.stringify(name.slice(0, 100))}; its inputs are ${describeAll(sig.inputs)}`
          : `inputs[${i}]: "name" must be a string naming one of ${describeAll(sig.inputs)}`,
      );
    }
    if (feeds[spec.name]) throw new BadRequest(`input "${spec.name}" is given twice`);
    const where = `input "${spec.name}"`;
    const params = readParameters(raw.parameters, `${where}: "parameters"`);
    refuseExtensions(params, where);
    const size = binaryDataSize(params, where);
    let decoded: DecodedInput;
    if (size === undefined) {
      decoded = decodeInput(raw, spec, budget);
    } else {
      if (raw.data !== undefined) throw new BadRequest(`${where} has both "data" and parameters.binary_data_size; send its data one way, in JSON or in binary`);
      if (binary === undefined) {
        throw new BadRequest(
          `${where}: parameters.binary_data_size needs the binary data after the JSON request and the header Inference-Header-Content-Length giving the JSON's byte length`,
        );
      }
      const declared = checkDeclared(raw, spec);
      const left = binary.length - offset;
      if (size > left) {
        throw new BadRequest(
          `${where}: parameters.binary_data_size is ${size} bytes, but only ${left} bytes of binary data are left after the earlier inputs' (the body holds ${binary.length} bytes after its JSON)`,
        );
      }
      decoded = { data: decodeBinaryData(binary.subarray(offset, offset + size), declared), shape: declared.shape };
      offset += size;
    }
    if (i === 0 && decoded.shape.length > 0) rows = decoded.shape[0]!;
    else if (sig.batchable) {
      const r = decoded.shape[0]!;
      if (rows >= 0 && r !== rows) {
        throw new BadRequest(`input "${spec.name}" has ${r} rows (dimension 0) but an earlier input has ${rows}; all inputs must have the same number of rows`);
      }
      rows = r;
    }
    feeds[spec.name] = decoded;
  }
  if (binary !== undefined && offset !== binary.length) {
    // Every input passed its checks above, so each one's name and parameters read as they did there.
    const sent = (inputs as { name: string; parameters?: Parameters }[])
      .filter((r) => r.parameters?.binary_data_size !== undefined)
      .map((r) => `"${r.name}" ${String(r.parameters!.binary_data_size)}`);
    throw new BadRequest(
      `the body holds ${binary.length} bytes of binary data after its JSON, but the inputs' parameters.binary_data_size add up to ${offset}` +
        (sent.length ? ` (${sent.join(", ")})` : " (no input has one)") +
        "; they must add up exactly, and Inference-Header-Content-Length must be the JSON's byte length",
    );
  }
  return { id, feeds, rows: rows < 0 ? 1 : rows, outputs: parseRequestedOutputs(outputs, model), binaryOutput };
}

function readParameters(value: unknown, where: string): Parameters | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new BadRequest(`${where} must be an object of named parameters; received ${JSON.stringify(value)?.slice(0, 100)}`);
  }
  return value as Parameters;
}

function flag(params: Parameters | undefined, key: string, where: string): boolean | undefined {
  const v = params?.[key];
  if (v === undefined || typeof v === "boolean") return v;
  throw new BadRequest(`${where}: ${key} must be true or false; received ${typeof v === "symbol" ? "an array or object" : JSON.stringify(v)}`);
}

/** Extensions a client may ask for that this server does not implement: a clear 400 rather than silently ignoring them. */
function refuseExtensions(params: Parameters | undefined, where: string): void {
  if (params?.shared_memory_region !== undefined) {
    throw new BadRequest(`${where}: parameters.shared_memory_region asks for the shared-memory extension, which this server does not implement; send the data in the body (JSON or binary)`);
  }
  if (params?.classification !== undefined) {
    throw new BadRequest(`${where}: parameters.classification asks for the classification extension, which this server does not implement; request the output and rank its values on the client`);
  }
}

/**
 * `outputs`, bounded before anything is done for it: at most one entry per model output, none twice
 * (Triton refuses a repeated output too), each optionally with `parameters.binary_data`.
 */
function parseRequestedOutputs(outputs: unknown, model: LoadedModel): RequestedOutput[] | undefined {
  if (outputs === undefined) return undefined;
  if (!Array.isArray(outputs)) throw new BadRequest(`"outputs" must be an array of {"name": …}; the model's outputs are ${describeAll(model.outputs)}`);
  if (outputs.length > model.outputs.length) {
    throw new BadRequest(
      `"outputs" lists ${outputs.length} entries, but the model has ${model.outputs.length} outputs: ${describeAll(model.outputs)}; request each output at most once`,
    );
  }
  const requested: RequestedOutput[] = [];
  for (let i = 0; i < outputs.length; i++) {
    const o = outputs[i] as { name?: unknown; parameters?: unknown } | null;
    const name = o?.name;
    if (typeof name !== "string" || !model.outputNames.has(name)) {
      const shown = typeof name === "string" ? JSON.stringify(name.slice(0, 100)) : JSON.stringify(name ?? null);
      throw new BadRequest(`outputs[${i}]: ${shown} is not an output of the model; its outputs are ${describeAll(model.outputs)}`);
    }
    if (requested.some((r) => r.name === name)) {
      throw new BadRequest(`outputs[${i}]: output "${name}" is requested more than once; request each output at most once`);
    }
    const where = `outputs[${i}] ("${name}")`;
    const params = readParameters(o!.parameters, `${where}: "parameters"`);
    refuseExtensions(params, where);
    requested.push({ name, binary: flag(params, "binary_data", `${where}: "parameters"`) });
  }
  return requested;
}

function describeAll(specs: readonly TensorSpec[]): string {
  return specs.map((s) => `${s.name} (${s.datatype} ${JSON.stringify(s.shape)})`).join(", ");
}

/** An inference answer: JSON text, or (with binary outputs) the JSON header and the outputs' binary data. */
export interface InferAnswer {
  readonly body: string | Buffer;
  /** Byte length of the JSON header when `body` carries binary data (Inference-Header-Content-Length). */
  readonly headerLength?: number;
}

/**
 * The inference response. Outputs go in binary when the request asked (`binary_data` on the output, or
 * `binary_data_output` for all), in JSON otherwise, in the order requested (the model's order when the
 * request names none). Throws BadRequest with status 413 when the answer would exceed `maxBytes`, checked
 * before the tensors are written out and again on the written JSON.
 */
export function inferResponse(model: LoadedModel, call: InferCall, out: RunOutputs, maxBytes = Infinity): InferAnswer {
  const specs = call.outputs ? call.outputs.map((r) => model.outputs.find((o) => o.name === r.name)!) : model.outputs;
  const binary = specs.map((_, i) => call.outputs?.[i]?.binary ?? call.binaryOutput);
  let least = 0;
  for (let i = 0; i < specs.length; i++) {
    const data = out[specs[i]!.name]!.data;
    least += binary[i] ? binaryBytes(data) : minJsonBytes(data);
  }
  if (least > maxBytes) throw tooLarge(least, maxBytes);
  let s = `{"model_name":${JSON.stringify(model.mv.name)},"model_version":"${model.versionString}"`;
  if (call.id !== undefined) s += `,"id":${JSON.stringify(call.id)}`;
  s += `,"outputs":[`;
  const chunks: Buffer[] = [];
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!;
    const t = out[spec.name]!;
    if (i) s += ",";
    s += `{"name":${JSON.stringify(spec.name)},"datatype":"${spec.datatype}","shape":[${t.dims.join(",")}],`;
    if (binary[i]) {
      const chunk = encodeBinaryData(t.data);
      chunks.push(chunk);
      s += `"parameters":{"binary_data_size":${chunk.length}}}`;
    } else {
      s += `"data":${encodeJsonData(t.data, spec.datatype)}}`;
    }
  }
  s += "]}";
  if (chunks.length === 0) {
    // Non-ASCII (in BYTES strings or names) takes more bytes than characters: count them only when it matters.
    const size = s.length * 3 > maxBytes ? Buffer.byteLength(s, "utf8") : s.length;
    if (size > maxBytes) throw tooLarge(size, maxBytes);
    return { body: s };
  }
  const headerLength = Buffer.byteLength(s, "utf8");
  let size = headerLength;
  for (const c of chunks) size += c.length;
  if (size > maxBytes) throw tooLarge(size, maxBytes);
  // One buffer for the header and every output's bytes.
  const body = Buffer.allocUnsafe(size);
  body.write(s, 0, headerLength, "utf8");
  let at = headerLength;
  for (const c of chunks) at += c.copy(body, at);
  return { body, headerLength };
}

function tooLarge(size: number, max: number): BadRequest {
  return new BadRequest(
    `the answer would be ${size} bytes or more, over this server's limit of ${max} bytes (spec.server.maxResponseBytes); send fewer rows per request, or request fewer outputs`,
    413,
  );
}

/**
 * Model metadata (`GET /v2/models/{m}`). `platform` is Triton's name for its ONNX Runtime backend,
 * `onnxruntime_onnx` (Triton's model configuration docs list it; the OIP spec leaves the value to the
 * server), so clients that switch on Triton's platform names recognise the model.
 */
export function modelMetadata(model: LoadedModel, parameters?: Readonly<Record<string, string>>): string {
  return JSON.stringify({
    name: model.mv.name,
    versions: [model.versionString],
    platform: "onnxruntime_onnx",
    inputs: model.inputs,
    outputs: model.outputs,
    // OIP's optional metadata parameters; serving by entity id advertises its entity input here (feature-input/).
    ...(parameters ? { parameters } : {}),
  });
}
