/**
 * The infer route's hook into payload logging: turns one answered, sampled request into a PayloadEvent
 * (payload-record.ts says what the record holds) and offers it to the log. Called after the answer is
 * written, only for requests `PayloadLog.sample()` picked, so unsampled requests pay nothing here; and it
 * never throws: a request's answer does not depend on its record.
 */
import type { LoadedModel, RunOutputs } from "./model.js";
import { encodeJsonData } from "./output.js";
import type { PayloadLog } from "./payload-log.js";
import { inferResponse, type InferCall } from "./protocol.js";

/** What the infer route knows of one answered request. */
export interface Answered {
  readonly model: LoadedModel;
  readonly call: InferCall;
  /** The request body as parsed (inflated when it came compressed). */
  readonly body: Buffer;
  /** Inference-Header-Content-Length, for a binary request; undefined for a JSON one. */
  readonly headerLength: number | undefined;
  readonly outputs: RunOutputs;
  /** The answer's body, and its JSON header length when it carries binary data. */
  readonly answer: { readonly body: string | Buffer; readonly headerLength?: number };
  /** Log the tensors the model ran on (`call.feeds`) rather than the body, even for a JSON request. @default false */
  readonly fromFeeds?: boolean;
}

let warned = false;

/** Offers the record of `a` to `log`; a failure to make it (a bug) is logged once and swallowed. */
export function capturePayload(log: PayloadLog, a: Answered): void {
  try {
    log.offer({
      model: a.model.mv.name,
      version: a.model.versionString,
      requestId: a.call.id,
      input: a.headerLength === undefined && !a.fromFeeds ? a.body.toString("utf8") : requestJson(a.model, a.call),
      output: a.answer.headerLength === undefined ? a.answer.body.toString() : responseJson(a.model, a.call, a.outputs),
    });
  } catch (e) {
    if (!warned) log.logger.error("payload log: could not make a record (further failures are not logged)", { error: (e as Error).message });
    warned = true;
  }
}

/** A request that came with binary tensor data, as the same OIP request with its tensors in JSON. */
export function requestJson(model: LoadedModel, call: InferCall): string {
  let s = call.id === undefined ? "{" : `{"id":${JSON.stringify(call.id)},`;
  s += `"inputs":[`;
  model.inputs.forEach((spec, i) => {
    const f = call.feeds[spec.name]!;
    s += `${i ? "," : ""}{"name":${JSON.stringify(spec.name)},"datatype":"${spec.datatype}","shape":[${f.shape.join(",")}],"data":${encodeJsonData(f.data, spec.datatype)}}`;
  });
  return s + "]}";
}

/** A binary answer as its JSON form: the same outputs, in the same order, with their data in JSON. */
function responseJson(model: LoadedModel, call: InferCall, out: RunOutputs): string {
  const json: InferCall = { ...call, binaryOutput: false, outputs: call.outputs?.map((o) => ({ name: o.name, binary: false })) };
  return inferResponse(model, json, out).body as string;
}
