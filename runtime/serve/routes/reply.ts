/**
 * What the route handlers share: the answer they return ({@link Reply}, written by app.ts) and the
 * state of the app they read ({@link RouteContext}), which the app itself implements, so reaching it
 * costs a request nothing.
 */
import type { ServerResponse } from "node:http";
import type { Registry as PromRegistry } from "prom-client";
import type { ModelHolder } from "../holder.js";
import type { PayloadLog } from "../payload-log.js";

/**
 * One answer: a status, the body, extra headers. The body is JSON text, or bytes for a binary or
 * compressed infer answer (which then sets its own content-type and content-encoding headers).
 */
export interface Reply {
  readonly status: number;
  readonly body: string | Buffer;
  readonly headers?: Record<string, string>;
}

/** The app as the route handlers see it. */
export interface RouteContext {
  /** The model being served (or loaded). */
  readonly holder: ModelHolder;
  /** True once draining started: readiness answers 503 and every response carries `Connection: close`. */
  readonly draining: boolean;
  /** This app's own Prometheus registry. */
  readonly metrics: PromRegistry;
  /** Largest request body accepted (spec.server.maxBodyBytes). */
  readonly maxBodyBytes: number;
  /** Largest infer answer written (spec.server.maxResponseBytes). @default DEFAULT_MAX_RESPONSE_BYTES (routes/infer.ts) */
  readonly maxResponseBytes?: number;
  /** Payload logging (spec.logging); undefined when off. */
  readonly payloadLog?: PayloadLog;
  /** Writes a reply (for the handlers that answer later, once a body is read or a batch has run). */
  send(res: ServerResponse, reply: Reply): void;
}

/** An OIP error answer: `{"error": message}`. */
export function errorReply(status: number, message: string, headers?: Record<string, string>): Reply {
  return { status, body: JSON.stringify({ error: message }), headers };
}

export function notAllowed(allow: string): Reply {
  return errorReply(405, `method not allowed here; use ${allow}`, { allow });
}
