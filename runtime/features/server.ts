/**
 * The feature server: Feast's feature-server HTTP API (sdk/python/feast/feature_server.py) over bare
 * `node:http`, so Feast clients (the SDK's remote online store, plain HTTP callers) work unchanged.
 *
 * - `POST /get-online-features`: online/request.ts and online/lookup.ts (the answer, column-major).
 * - `POST /push` and `POST /write-to-online-store`: online/push.ts; 200 with an empty body, as Feast.
 * - `GET /health`: 200 with an empty body while the online store answers, else 503.
 * - `GET /metrics`: Prometheus text (server-metrics.ts).
 *
 * Bounded: request bodies (declared and streamed), entity rows, features and pushed rows per request,
 * and (server-listen.ts) header and request timeouts. Refusals are 4xx with `{"error": "…"}` naming the
 * field, the value and the fix; a failing online store is 503; a bug is 500.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Counter } from "prom-client";
import { MlopsError } from "../../src/errors.js";
import { silentLogger, type Logger } from "../../src/log.js";
import type { FeatureStoreSpec } from "../../src/spec/features.js";
import { lookup, lookupBytes, StoreError, type LookupOptions } from "./online/lookup.js";
import { parsePush, type PushRoute } from "./online/push.js";
import { LOOKUP_LIMITS, PlanCache, RequestError, parseOnlineRequest } from "./online/request.js";
import type { OnlineStore } from "./online/types.js";
import { ROUTES, createFeatureMetrics, type FeatureServerMetrics } from "./server-metrics.js";

export interface FeatureServerLimits {
  /** Largest `/get-online-features` body. @default 1 MiB */
  readonly maxBodyBytes: number;
  /** Largest `/push` or `/write-to-online-store` body. @default 16 MiB */
  readonly maxPushBodyBytes: number;
  /** Entity rows per lookup. @default 1000 */
  readonly maxEntities: number;
  /** Features per lookup. @default 1000 */
  readonly maxFeatures: number;
  /** Rows per push. @default 10000 */
  readonly maxPushRows: number;
}

export const FEATURE_SERVER_LIMITS: FeatureServerLimits = {
  maxBodyBytes: 1 << 20,
  maxPushBodyBytes: 16 << 20,
  maxEntities: LOOKUP_LIMITS.maxEntities,
  maxFeatures: LOOKUP_LIMITS.maxFeatures,
  maxPushRows: 10_000,
};

export interface FeatureAppOptions {
  readonly spec: FeatureStoreSpec;
  readonly store: OnlineStore;
  /** Last materialization end (ms) per view, for the watermark-age gauge. @default - no watermark samples */
  readonly watermarks?: () => Promise<Map<string, number>>;
  readonly limits?: Partial<FeatureServerLimits>;
  /** The clock TTLs are measured against, ms since the epoch (tests). @default Date.now */
  readonly now?: () => number;
  /** @default silentLogger */
  readonly logger?: Logger;
}

export interface FeatureApp {
  /** `node:http` request listener. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  readonly metrics: FeatureServerMetrics;
  /** Health turns 503 and every later response carries `Connection: close`. */
  startDraining(): void;
}

type Route = (typeof ROUTES)[number];
interface Reply {
  readonly status: number;
  /** Text is sent as UTF-8; an answer is already bytes. */
  readonly body: string | Buffer;
  readonly headers?: Record<string, string>;
}

const JSON_CONTENT_TYPE = /^application\/(json|[a-z0-9.+-]+\+json)\s*(;|$)/i;
const EMPTY_OK: Reply = { status: 200, body: "" };
const PATHS = "POST /get-online-features, POST /push, POST /write-to-online-store, GET /health and GET /metrics";

/**
 * `POST /get-online-features` without HTTP: the JSON body in, the answer's JSON text out. `mlops features
 * get` calls this too, so the command prints exactly what the server answers.
 */
export async function answerOnlineFeatures(store: OnlineStore, plans: PlanCache, body: unknown, opts: LookupOptions & { limits?: Partial<FeatureServerLimits> } = {}): Promise<string> {
  const limits = { ...FEATURE_SERVER_LIMITS, ...opts.limits };
  return lookup(store, parseOnlineRequest(body, plans, limits), opts);
}

/** {@link answerOnlineFeatures} with the limits given in full, the answer as the UTF-8 bytes the server sends. */
function answerBytes(store: OnlineStore, plans: PlanCache, body: unknown, limits: FeatureServerLimits, opts: LookupOptions): Promise<Buffer> {
  return lookupBytes(store, parseOnlineRequest(body, plans, limits), opts);
}

export function buildFeatureApp(opts: FeatureAppOptions): FeatureApp {
  const { spec, store } = opts;
  const limits: FeatureServerLimits = { ...FEATURE_SERVER_LIMITS, ...opts.limits };
  const logger = opts.logger ?? silentLogger;
  const now = opts.now ?? Date.now;
  const plans = new PlanCache(spec);
  const metrics = createFeatureMetrics(spec.views.filter((v) => v.online).map((v) => v.name), opts.watermarks ?? (async () => new Map()), now);
  const requestChildren = new Map<string, ReturnType<Counter<"route" | "status">["labels"]>>();
  const durationChildren = new Map(ROUTES.map((r) => [r, metrics.duration.labels({ route: r })]));
  let draining = false;

  const finish = (res: ServerResponse, route: Route, started: number, reply: Reply): void => {
    // Bytes once (an answer already is): `Buffer.byteLength` then `end(string)` would walk it twice.
    const body = typeof reply.body === "string" ? Buffer.from(reply.body, "utf8") : reply.body;
    if (!res.headersSent) {
      // A flat [name, value, …] list, which node:http writes as it is.
      const headers: string[] = ["content-length", String(body.length)];
      const extra = reply.headers;
      if (extra) for (const name in extra) headers.push(name, extra[name]!);
      if (body.length > 0 && extra?.["content-type"] === undefined) headers.push("content-type", "application/json");
      if (draining && extra?.connection === undefined) headers.push("connection", "close");
      res.writeHead(reply.status, headers);
      res.end(body);
    }
    const id = `${route} ${reply.status}`;
    let child = requestChildren.get(id);
    if (!child) requestChildren.set(id, (child = metrics.requests.labels({ route, status: String(reply.status) })));
    child.inc();
    durationChildren.get(route)!.observe((performance.now() - started) / 1000);
  };

  const failure = (e: unknown, route: Route): Reply => {
    if (e instanceof RequestError) return errorReply(e.status, e.message);
    if (e instanceof MlopsError) return errorReply(400, e.message);
    if (e instanceof StoreError) {
      logger.warn("online store error", { route, error: e.failure.message });
      return errorReply(503, e.message, { "retry-after": "1" });
    }
    logger.error("feature server bug", { route, error: (e as Error)?.stack ?? String(e) });
    return errorReply(500, `internal error: ${(e as Error)?.message ?? String(e)}`);
  };

  const getOnline = async (body: unknown): Promise<Reply> => {
    const started = performance.now();
    let answer: Buffer;
    try {
      answer = await answerBytes(store, plans, body, limits, { nowMicros: now() * 1000, observe: metrics.observe });
    } catch (e) {
      // A lookup the store failed took its time too (a deadline, typically); a refused request did not look up.
      if (e instanceof StoreError) metrics.lookupDuration.observe((performance.now() - started) / 1000);
      throw e;
    }
    metrics.lookupDuration.observe((performance.now() - started) / 1000);
    return { status: 200, body: answer };
  };

  const push = async (body: unknown, kind: PushRoute): Promise<Reply> => {
    const { view, rows } = parsePush(body, spec, kind, { maxRows: limits.maxPushRows });
    let result;
    try {
      result = await store.write(view, rows);
    } catch (e) {
      throw new StoreError(e as Error);
    }
    let newest = NaN;
    for (const r of rows) if (!(r.eventMicros <= newest)) newest = r.eventMicros;
    metrics.pushed(view.name, newest);
    metrics.pushedRows.labels({ view: view.name, result: "written" }).inc(result.written);
    metrics.pushedRows.labels({ view: view.name, result: "skipped" }).inc(result.skipped);
    return EMPTY_OK;
  };

  // Made once, not per request: under tsx every named closure also costs a `__name` call when created.
  const respond = (res: ServerResponse, route: Route, started: number, work: () => Reply | Promise<Reply>): void => {
    let reply: Reply | Promise<Reply>;
    try {
      reply = work();
    } catch (e) {
      reply = failure(e, route);
    }
    if (reply instanceof Promise) reply.then((r) => finish(res, route, started, r), (e: unknown) => finish(res, route, started, failure(e, route)));
    else finish(res, route, started, reply);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method === "HEAD" ? "GET" : (req.method ?? "GET");
    const route: Route = (ROUTES as readonly string[]).includes(path) && path !== "other" ? (path as Route) : "other";
    switch (route) {
      case "/get-online-features":
      case "/push":
      case "/write-to-online-store": {
        if (method !== "POST") {
          req.resume();
          return respond(res, route, started, () => notAllowed("POST"));
        }
        const max = route === "/get-online-features" ? limits.maxBodyBytes : limits.maxPushBodyBytes;
        readJson(req, res, max, (err, body) => {
          if (err) return finish(res, route, started, err);
          respond(res, route, started, () => (route === "/get-online-features" ? getOnline(body) : push(body, route === "/push" ? "push" : "write")));
        });
        return;
      }
      case "/health":
        req.resume();
        if (method !== "GET") return respond(res, route, started, () => notAllowed("GET"));
        return respond(res, route, started, () => (draining ? errorReply(503, "draining: this server is shutting down") : store.healthy ? EMPTY_OK : errorReply(503, `the online store (${store.kind}) is not connected`)));
      case "/metrics":
        req.resume();
        if (method !== "GET") return respond(res, route, started, () => notAllowed("GET"));
        return respond(res, route, started, () => metrics.registry.metrics().then((body) => ({ status: 200, body, headers: { "content-type": metrics.registry.contentType } })));
      default:
        req.resume();
        return respond(res, route, started, () => errorReply(404, `no such path: ${path.slice(0, 200)}; this server answers ${PATHS}`));
    }
  };

  return {
    handle: (req, res) => {
      try {
        handle(req, res);
      } catch (e) {
        if (!res.headersSent) finish(res, "other", performance.now(), failure(e, "other"));
      }
    },
    metrics,
    startDraining: () => {
      draining = true;
    },
  };
}

/** Reads a JSON body of at most `max` bytes; calls back with a 4xx reply or the parsed value. */
function readJson(req: IncomingMessage, res: ServerResponse, max: number, done: (err: Reply | undefined, body?: unknown) => void): void {
  const type = req.headers["content-type"];
  if (type !== undefined && !JSON_CONTENT_TYPE.test(type)) {
    req.resume();
    return done(errorReply(415, `the body must be JSON: Content-Type ${JSON.stringify(type.slice(0, 100))} is not application/json`));
  }
  const encoding = req.headers["content-encoding"];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== "identity") {
    req.resume();
    return done(errorReply(415, `Content-Encoding ${JSON.stringify(encoding.slice(0, 100))} is not supported: send the body uncompressed`));
  }
  const declared = Number(req.headers["content-length"]);
  if (declared > max) {
    req.resume();
    return done(tooLarge(declared, max));
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  req.on("data", (chunk: Buffer) => {
    if (refused) return;
    size += chunk.length;
    if (size > max) {
      refused = true;
      // Stop reading an oversized body once the refusal is out; the reply carries Connection: close.
      res.once("finish", () => req.destroy());
      done(tooLarge(size, max));
      return;
    }
    chunks.push(chunk);
  });
  req.on("end", () => {
    if (refused) return;
    const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)).toString("utf8");
    if (text.trim() === "") return done(errorReply(400, '(body): is empty; send a JSON object such as {"features": ["view:feature"], "entities": {"customer_id": [1]}}'));
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (e) {
      return done(errorReply(400, `(body): is not valid JSON (${(e as Error).message}); send a JSON object`));
    }
    done(undefined, body);
  });
  req.on("error", () => {});
}

function tooLarge(size: number, max: number): Reply {
  return errorReply(413, `(body): is ${size} bytes, more than the ${max} this server accepts; send fewer entity rows or rows per request`, { connection: "close" });
}

function errorReply(status: number, message: string, headers?: Record<string, string>): Reply {
  return { status, body: JSON.stringify({ error: message }), ...(headers ? { headers } : {}) };
}

function notAllowed(allow: string): Reply {
  return errorReply(405, `method not allowed here; use ${allow}`, { allow });
}
