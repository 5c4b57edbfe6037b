/**
 * Running one infer request on a second version without touching the client's response: the body is
 * collected as it streams to the first run (a second `data` listener, so nothing waits for it), replayed
 * to the second as a fresh request stream, and the second run answers into a context that captures its
 * reply instead of writing it.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { PassThrough } from "node:stream";
import type { Reply, RouteContext } from "../routes/reply.js";

/** Collects `req`'s body up to `max` bytes: the bytes once it ended, undefined when it was cut off or too large. */
export function collectBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (v: Buffer | undefined) => {
      if (!done) resolve(v);
      done = true;
    };
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > max) finish(undefined);
      else chunks.push(c);
    });
    req.on("end", () => finish(size > max ? undefined : Buffer.concat(chunks, size)));
    req.on("close", () => finish(undefined));
    req.on("error", () => finish(undefined));
  });
}

/** A request stream carrying `body` with `req`'s method, URL and headers. */
export function replayRequest(req: IncomingMessage, body: Buffer): IncomingMessage {
  const r = Object.assign(new PassThrough(), { method: req.method, url: req.url, headers: req.headers });
  r.end(body);
  return r as unknown as IncomingMessage;
}

/** A response the infer route may look at (`headersSent`) but never writes to: its replies go to a capturing context. */
export function detachedResponse(): ServerResponse {
  return { headersSent: false } as unknown as ServerResponse;
}

/**
 * `ctx` with its `send` replaced: `onReply` gets the reply; with `forward`, it is also written to the
 * real response first (the client's answer, observed). Everything else reads through to `ctx`.
 */
export function capturing(ctx: RouteContext, onReply: (reply: Reply) => void, opts: { forward?: boolean; noPayloadLog?: boolean } = {}): RouteContext {
  const c = Object.create(ctx) as RouteContext & { send: RouteContext["send"]; payloadLog?: unknown };
  c.send = opts.forward
    ? (res: ServerResponse, reply: Reply) => {
        ctx.send(res, reply);
        onReply(reply);
      }
    : (_res: ServerResponse, reply: Reply) => onReply(reply);
  if (opts.noPayloadLog) Object.defineProperty(c, "payloadLog", { value: undefined });
  return c;
}
