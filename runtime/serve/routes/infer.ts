/**
 * `POST /v2/models/{m}[/versions/{v}]/infer`: read the body (bounded by spec.server.maxBodyBytes), parse
 * and check it against the served version, run it through that version's batcher, answer, and count and
 * time the request on that version's metric children. The hot path: nothing here allocates per request
 * beyond the body, the parsed call and the callbacks the stream and the batcher need.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
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
    run(ctx, res, serving, body, started);
  });
  req.on("error", ignore);
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
