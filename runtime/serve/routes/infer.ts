/**
 * `POST /v2/models/{m}[/versions/{v}]/infer`: read the body (bounded by spec.server.maxBodyBytes), parse
 * and check it against the served version (JSON, or JSON followed by binary tensor data), run it through
 * that version's batcher, answer (gzip or deflate when the client accepts it and the answer is large,
 * bounded by spec.server.maxResponseBytes), and count and time the request on that version's metric
 * children. The hot path: nothing here allocates per request beyond the body, the parsed call and the
 * callbacks the stream and the batcher need.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import * as zlib from "node:zlib";
import { HEADER_LENGTH_HEADER, parseHeaderLength } from "../binary.js";
import type { ServingVersion } from "../holder.js";
import { capturePayload } from "../payload-capture.js";
import { inferResponse, parseInferRequest, type InferAnswer, type InferCall } from "../protocol.js";
import { BadRequest } from "../tensor.js";
import { errorReply, type Reply, type RouteContext } from "./reply.js";

/** Largest answer when the app sets none (spec.server.maxResponseBytes' default). */
export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** Answers up to this size go out as they are: compressing them saves less than it costs. */
export const COMPRESS_MIN_BYTES = 1024;

/** How one request wants its answer written. */
interface Answering {
  readonly started: number;
  /** The compression the client accepts, best first; undefined for none. */
  readonly encoding: "gzip" | "deflate" | undefined;
  /** True when the client sent Accept-Encoding: the answer then carries `Vary: Accept-Encoding`. */
  readonly negotiated: boolean;
  /** Picked by the payload log's sampler (before the body is read): the answered request is logged. */
  readonly logged: boolean;
}

/**
 * Reads an infer request's body and answers it on `serving`, the version routed to (a request that
 * started on a version finishes on it, even when the alias moves meanwhile). `started` is
 * `performance.now()` when the request arrived: a number rather than `histogram.startTimer()`, which
 * would allocate a closure and relabel (hash) the observation on every request.
 */
export function infer(ctx: RouteContext, req: IncomingMessage, res: ServerResponse, serving: ServingVersion, started: number): void {
  const accept = req.headers["accept-encoding"];
  const how: Answering = {
    started,
    encoding: accept === undefined ? undefined : acceptedEncoding(accept),
    negotiated: accept !== undefined,
    logged: ctx.payloadLog?.sample() ?? false,
  };
  let headerLength: number | undefined;
  let refused = refuseHeaders(req);
  if (!refused) {
    try {
      headerLength = parseHeaderLength(req.headers[HEADER_LENGTH_HEADER]);
    } catch (e) {
      refused = failure(e);
    }
  }
  if (refused) {
    finish(ctx, res, serving, refused, how);
    req.resume();
    return;
  }
  const encoding = req.headers["content-encoding"]?.trim().toLowerCase();
  const declared = Number(req.headers["content-length"]);
  if (declared > ctx.maxBodyBytes) {
    finish(ctx, res, serving, tooLarge(ctx, declared), how);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size > ctx.maxBodyBytes) {
      if (!res.headersSent) finish(ctx, res, serving, tooLarge(ctx, size), how);
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on("end", () => {
    if (size > ctx.maxBodyBytes) return;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    if (encoding === undefined || encoding === "identity") run(ctx, res, serving, body, headerLength, how);
    else decompress(ctx, res, serving, body, encoding, headerLength, how);
  });
  req.on("error", ignore);
}

/** JSON, the binary extension's octet-stream; anything else (a browser's cross-site "simple" form or text post among them) is refused. */
const JSON_CONTENT_TYPE = /^application\/(json|[a-z0-9.+-]+\+json)\s*(;|$)/i;
const BINARY_CONTENT_TYPE = /^application\/octet-stream\s*(;|$)/i;
const ENCODINGS = new Set(["identity", "gzip", "deflate"]);

/** A 415 for a body this server does not read; undefined when it does. */
function refuseHeaders(req: IncomingMessage): Reply | undefined {
  const type = req.headers["content-type"];
  if (type !== undefined && !JSON_CONTENT_TYPE.test(type)) {
    if (!BINARY_CONTENT_TYPE.test(type)) {
      return errorReply(415, `infer takes a JSON body (or binary tensor data as application/octet-stream): Content-Type ${JSON.stringify(type.slice(0, 100))} is not application/json`, {
        connection: "close",
      });
    }
    if (req.headers[HEADER_LENGTH_HEADER] === undefined) {
      return errorReply(415, "an application/octet-stream body is binary tensor data: send the header Inference-Header-Content-Length with the byte length of the JSON request at its start (0 for a raw binary request)", {
        connection: "close",
      });
    }
  }
  const encoding = req.headers["content-encoding"]?.trim().toLowerCase();
  if (encoding !== undefined && !ENCODINGS.has(encoding)) {
    return errorReply(415, `Content-Encoding ${JSON.stringify(encoding.slice(0, 100))} is not supported: send the body as is, or gzip or deflate it`, {
      connection: "close",
    });
  }
  return undefined;
}

/**
 * A gzip or deflate body (tritonclient's `request_compression_algorithm`), inflated off the event loop and
 * bounded like a plain body: what it inflates to may not exceed spec.server.maxBodyBytes either.
 * Inference-Header-Content-Length counts the inflated body, as tritonclient computes it.
 */
function decompress(
  ctx: RouteContext,
  res: ServerResponse,
  serving: ServingVersion,
  body: Buffer,
  encoding: string,
  headerLength: number | undefined,
  how: Answering,
): void {
  const inflate = encoding === "gzip" ? zlib.gunzip : zlib.inflate;
  inflate(body, { maxOutputLength: ctx.maxBodyBytes }, (err, plain) => {
    if (!err) {
      run(ctx, res, serving, plain, headerLength, how);
    } else if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" || err instanceof RangeError) {
      finish(ctx, res, serving, errorReply(413, `request body inflates to more than ${ctx.maxBodyBytes} bytes (spec.server.maxBodyBytes). Send fewer rows per request.`), how);
    } else {
      finish(ctx, res, serving, errorReply(400, `request body is not valid ${encoding} data (${err.message}); Content-Encoding said it was`), how);
    }
  });
}

/** Parses, checks and runs one infer request, then answers it. */
function run(ctx: RouteContext, res: ServerResponse, serving: ServingVersion, body: Buffer, headerLength: number | undefined, how: Answering): void {
  const model = serving.model;
  let call: InferCall;
  try {
    const f = serving.features;
    call = parseInferRequest(body, model, f ? { headerLength, alternate: f.alternate } : headerLength === undefined ? {} : { headerLength });
  } catch (e) {
    finish(ctx, res, serving, failure(e), how);
    return;
  }
  // Serving by entity id (feature-input/): the features are looked up, then the call runs as if the client had sent them.
  if (serving.features?.byEntity(call)) {
    // Held across the lookup too: the client may go away meanwhile, and an alias move retire the version.
    model.acquire();
    serving.features.resolve(call).then(
      (resolved) => {
        submit(ctx, res, serving, body, headerLength, how, resolved);
        model.release();
      },
      (e: unknown) => {
        model.release();
        finish(ctx, res, serving, e instanceof BadRequest ? failure(e) : errorReply(500, `internal error: ${(e as Error).message}`), how);
      },
    );
    return;
  }
  submit(ctx, res, serving, body, headerLength, how, call);
}

/** Runs a checked call through the version's batcher and answers it. */
function submit(ctx: RouteContext, res: ServerResponse, serving: ServingVersion, body: Buffer, headerLength: number | undefined, how: Answering, call: InferCall): void {
  const model = serving.model;
  model.acquire();
  serving.batcher.submit(call.feeds, call.rows, (err, out) => {
    let reply: Reply;
    let answer: InferAnswer | undefined;
    try {
      if (err !== undefined) reply = failure(err);
      else {
        answer = inferResponse(model, call, out!, ctx.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES);
        reply =
          answer.headerLength === undefined
            ? { status: 200, body: answer.body }
            : { status: 200, body: answer.body, headers: { "content-type": "application/octet-stream", [HEADER_LENGTH_HEADER]: String(answer.headerLength) } };
      }
    } catch (e) {
      answer = undefined;
      reply = e instanceof BadRequest ? failure(e) : errorReply(500, `internal error: ${(e as Error).message}`);
    }
    model.release();
    finish(ctx, res, serving, reply, how);
    // Answered requests only, once the answer is on its way (payload-capture.ts never throws).
    // With serving by entity id the body may hold keys, not the tensors the model ran on: log the feeds then.
    if (how.logged && answer !== undefined) capturePayload(ctx.payloadLog!, { model, call, body, headerLength, outputs: out!, answer, fromFeeds: serving.features !== undefined });
  });
}

function finish(ctx: RouteContext, res: ServerResponse, serving: ServingVersion, reply: Reply, how: Answering): void {
  if (how.encoding !== undefined && reply.body.length > COMPRESS_MIN_BYTES) {
    compressed(ctx, res, serving, reply, how);
    return;
  }
  send(ctx, res, serving, how.negotiated ? withHeaders(reply, VARY) : reply, how);
}

function send(ctx: RouteContext, res: ServerResponse, serving: ServingVersion, reply: Reply, how: Answering): void {
  ctx.send(res, reply);
  serving.countStatus(reply.status);
  serving.observeDuration((performance.now() - how.started) / 1000);
}

const VARY = { vary: "Accept-Encoding" };

/** Compresses a large answer off the event loop (zlib's thread pool) and sends it; as it is, should that fail. */
function compressed(ctx: RouteContext, res: ServerResponse, serving: ServingVersion, reply: Reply, how: Answering): void {
  const encoding = how.encoding!;
  const deflate = encoding === "gzip" ? zlib.gzip : zlib.deflate;
  deflate(reply.body, { level: 1 }, (err, packed) => {
    if (err) send(ctx, res, serving, withHeaders(reply, VARY), how);
    else send(ctx, res, serving, { status: reply.status, body: packed, headers: { ...reply.headers, ...VARY, "content-encoding": encoding } }, how);
  });
}

function withHeaders(reply: Reply, headers: Record<string, string>): Reply {
  return { status: reply.status, body: reply.body, headers: { ...reply.headers, ...headers } };
}

/**
 * The compression to answer with, from Accept-Encoding (RFC 9110 12.5.3): gzip if accepted, else deflate,
 * else none. A coding with `q=0` is refused; `*` stands for any coding not named.
 */
export function acceptedEncoding(header: string | string[]): "gzip" | "deflate" | undefined {
  const text = Array.isArray(header) ? header.join(",") : header;
  if (text.length > 1000) return undefined;
  const q = new Map<string, number>();
  for (const part of text.split(",")) {
    const [coding, ...params] = part.trim().toLowerCase().split(";");
    if (!coding) continue;
    let weight = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p);
      if (m) weight = Number(m[1]);
    }
    q.set(coding.trim(), Number.isFinite(weight) ? weight : 0);
  }
  for (const coding of ["gzip", "deflate"] as const) {
    const weight = q.get(coding) ?? q.get("*") ?? 0;
    if (weight > 0) return coding;
  }
  return undefined;
}

function tooLarge(ctx: RouteContext, size: number): Reply {
  return errorReply(413, `request body is ${size} bytes or more; the limit is ${ctx.maxBodyBytes} bytes (spec.server.maxBodyBytes). Send fewer rows per request.`, {
    connection: "close",
  });
}

/** The answer to an infer request that failed. */
function failure(e: unknown): Reply {
  if (e instanceof BadRequest) return errorReply(e.status, e.message);
  // Inputs passed every check against the graph, so what onnxruntime still rejects depends on the
  // values (an index out of range, say): the caller's to fix, so a 400 rather than a 500.
  return errorReply(400, `the model could not run on this input: ${(e as Error).message}`);
}

// A body stream that errors (client gone) has nothing left to answer.
function ignore(): void {}
