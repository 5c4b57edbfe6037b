/**
 * `POST /v2/models/{m}[/versions/{v}]/infer`: read the body (bounded by spec.server.maxBodyBytes), parse
 * and check it against the served version, run it through that version's batcher, answer, and count and
 * time the request on that version's metric children. The hot path: nothing here allocates per request
 * beyond the body, the parsed call and the callbacks the stream and the batcher need.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import * as zlib from "node:zlib";
import type { ServingVersion } from "../holder.js";
import { inferResponse, parseInferRequest, type InferCall } from "../protocol.js";
import { BadRequest } from "../tensor.js";
import { errorReply, type Reply, type RouteContext } from "./reply.js";

/**
 * Reads an infer request's body and answers it on `serving`, the version routed to (a request that
 * started on a version finishes on it, even when the alias moves meanwhile). `started` is
 * `performance.now()` when the request arrived: a number rather than `histogram.startTimer()`, which
 * would allocate a closure and relabel (hash) the observation on every request.
 */
export function infer(ctx: RouteContext, req: IncomingMessage, res: ServerResponse, serving: ServingVersion, started: number): void {
  const refused = refuseHeaders(req);
  if (refused) {
    finish(ctx, res, serving, refused, started);
    req.resume();
    return;
  }
  const encoding = req.headers["content-encoding"]?.trim().toLowerCase();
  const declared = Number(req.headers["content-length"]);
  if (declared > ctx.maxBodyBytes) {
    finish(ctx, res, serving, tooLarge(ctx, declared), started);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size > ctx.maxBodyBytes) {
      if (!res.headersSent) finish(ctx, res, serving, tooLarge(ctx, size), started);
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on("end", () => {
    if (size > ctx.maxBodyBytes) return;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    if (encoding === undefined || encoding === "identity") run(ctx, res, serving, body, started);
    else decompress(ctx, res, serving, body, encoding, started);
  });
  req.on("error", ignore);
}

/** JSON only: anything else (a browser's cross-site "simple" form or text post among them) is refused. */
const JSON_CONTENT_TYPE = /^application\/(json|[a-z0-9.+-]+\+json)\s*(;|$)/i;
const ENCODINGS = new Set(["identity", "gzip", "deflate"]);

/** A 415 for a body this server does not read; undefined when it does. */
function refuseHeaders(req: IncomingMessage): Reply | undefined {
  const type = req.headers["content-type"];
  if (type !== undefined && !JSON_CONTENT_TYPE.test(type)) {
    return errorReply(415, `infer takes a JSON body: Content-Type ${JSON.stringify(type.slice(0, 100))} is not application/json`, { connection: "close" });
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
 */
function decompress(ctx: RouteContext, res: ServerResponse, serving: ServingVersion, body: Buffer, encoding: string, started: number): void {
  const inflate = encoding === "gzip" ? zlib.gunzip : zlib.inflate;
  inflate(body, { maxOutputLength: ctx.maxBodyBytes }, (err, plain) => {
    if (!err) {
      run(ctx, res, serving, plain, started);
    } else if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" || err instanceof RangeError) {
      finish(ctx, res, serving, errorReply(413, `request body inflates to more than ${ctx.maxBodyBytes} bytes (spec.server.maxBodyBytes). Send fewer rows per request.`), started);
    } else {
      finish(ctx, res, serving, errorReply(400, `request body is not valid ${encoding} data (${err.message}); Content-Encoding said it was`), started);
    }
  });
}

/** Parses, checks and runs one infer request, then answers it. */
function run(ctx: RouteContext, res: ServerResponse, serving: ServingVersion, body: Buffer, started: number): void {
  const model = serving.model;
  let call: InferCall;
  try {
    call = parseInferRequest(body, model);
  } catch (e) {
    finish(ctx, res, serving, failure(e), started);
    return;
  }
  model.acquire();
  serving.batcher.submit(call.feeds, call.rows, (err, out) => {
    let reply: Reply;
    try {
      reply = err === undefined ? { status: 200, body: inferResponse(model, call, out!) } : failure(err);
    } catch (e) {
      reply = errorReply(500, `internal error: ${(e as Error).message}`);
    }
    model.release();
    finish(ctx, res, serving, reply, started);
  });
}

function finish(ctx: RouteContext, res: ServerResponse, serving: ServingVersion, reply: Reply, started: number): void {
  ctx.send(res, reply);
  serving.countStatus(reply.status);
  serving.observeDuration((performance.now() - started) / 1000);
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
