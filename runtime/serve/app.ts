/**
 * The `mlops serve` application: Open Inference Protocol v2 over bare `node:http`, without a listener.
 * `buildApp` loads the model (or starts loading it in the background, answering 503 until it is in) and
 * returns a request handler plus `inject` for in-process tests; main.ts puts it on a socket.
 *
 * Auth: when a token is configured, the model routes (`/v2/models/…`) and server metadata (`/v2`) need
 * `Authorization: Bearer <token>`; the health probes and `/metrics` stay open, because kubelet probes and
 * Prometheus scrapes carry no token and those paths reveal nothing about the model's inputs or outputs.
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { PassThrough } from "node:stream";
import type { Registry as PromRegistry } from "prom-client";
import type { EndpointSpec } from "../../src/spec/endpoint.js";
import { SERVE_PATHS } from "../../src/spec/endpoint.js";
import { silentLogger, type Logger } from "../../src/log.js";
import { ModelHolder, type Active, type HolderOptions, type ModelSource } from "./holder.js";
import type { RetryOptions } from "./load-retry.js";
import { createMetrics } from "./metrics.js";
import { inferResponse, parseInferRequest, type InferCall } from "./protocol.js";
import { BadRequest } from "./tensor.js";
import { SERVER_NAME, SERVER_VERSION } from "./version.js";

export interface ServeAppDeps {
  readonly spec: EndpointSpec;
  /** Where the model comes from: a `Registry` (or anything with its `resolve` and `readArtifact`). */
  readonly registry: ModelSource;
  /** Bearer token; requests to the model routes need it when set. @default - no auth */
  readonly authToken?: string;
  /** @default silentLogger */
  readonly logger?: Logger;
  /**
   * `"wait"`: `buildApp` loads the first version once and rejects if that fails (tests, embedding).
   * `"background"`: `buildApp` resolves at once; the app answers live 200, and ready, model routes and
   * infer 503 naming the reason, while the load is retried with back-off until it succeeds.
   * @default "wait"
   */
  readonly firstLoad?: "wait" | "background";
  /** Back-off between failed first-load attempts, for `firstLoad: "background"`. @default DEFAULT_LOAD_RETRY */
  readonly loadRetry?: RetryOptions;
}

export interface InjectOptions {
  readonly method: string;
  readonly url: string;
  readonly headers?: Record<string, string>;
  /** A string is sent as is; an object is sent as JSON. */
  readonly body?: string | object;
}

export interface InjectResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  json(): any;
}

export interface ServeApp {
  /** `node:http` request listener. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Runs one request in-process, without a socket (tests). */
  inject(opts: InjectOptions): Promise<InjectResponse>;
  /** True once the model is loaded, until draining starts. */
  readonly ready: boolean;
  /** Resolves once the first version is loaded; rejects if the app is closed before that. */
  readonly loaded: Promise<void>;
  /** Why no version is loaded yet and when the next attempt is; undefined once one is loaded. */
  notLoadedReason(): string | undefined;
  /** This app's own Prometheus registry. */
  readonly metrics: PromRegistry;
  /** Readiness turns false and every later response carries `Connection: close`; requests still get served. */
  startDraining(): void;
  /** Stops following the alias and frees the model once in-flight requests are done. */
  close(): Promise<void>;
}

interface Reply {
  readonly status: number;
  readonly body: string;
  readonly headers?: Record<string, string>;
}

/** An infer request that passed routing and auth, waiting for its body. */
interface InferTarget {
  readonly infer: true;
  readonly active: Active;
}

const JSON_TYPE = "application/json";
const MODELS_PREFIX = "/v2/models/";
const READY_OK: Reply = { status: 200, body: '{"ready":true}' };
const READY_NO: Reply = { status: 503, body: '{"ready":false}' };
const LIVE: Reply = { status: 200, body: '{"live":true}' };

function error(status: number, message: string, headers?: Record<string, string>): Reply {
  return { status, body: JSON.stringify({ error: message }), headers };
}

/** Returns the app serving the model named by `spec.model`, once it is loaded unless `firstLoad` is `"background"`. */
export async function buildApp(deps: ServeAppDeps): Promise<ServeApp> {
  const { spec } = deps;
  const metrics = createMetrics();
  const opts: HolderOptions = {
    source: deps.registry,
    ref: spec.model,
    batching: spec.batching,
    metrics,
    logger: deps.logger ?? silentLogger,
    pollIntervalSeconds: spec.pollIntervalSeconds,
    ...(deps.loadRetry ? { retry: deps.loadRetry } : {}),
  };
  const holder = deps.firstLoad === "background" ? ModelHolder.start(opts) : await ModelHolder.open(opts);
  return new App(holder, metrics.registry, spec.server.maxBodyBytes, deps.authToken);
}

class App implements ServeApp {
  private draining = false;
  private readonly expectedAuth: Buffer | undefined;
  private readonly serverMetadata = JSON.stringify({ name: SERVER_NAME, version: SERVER_VERSION, extensions: [] });
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => this.onRequest(req, res);

  constructor(
    private readonly holder: ModelHolder,
    readonly metrics: PromRegistry,
    private readonly maxBodyBytes: number,
    authToken: string | undefined,
  ) {
    this.expectedAuth = authToken ? Buffer.from(`Bearer ${authToken}`) : undefined;
  }

  get ready(): boolean {
    return !this.draining && this.holder.active !== undefined;
  }

  get loaded(): Promise<void> {
    return this.holder.loaded;
  }

  notLoadedReason(): string | undefined {
    return this.holder.active === undefined ? this.holder.notLoadedReason().message : undefined;
  }

  startDraining(): void {
    this.draining = true;
  }

  async close(): Promise<void> {
    this.draining = true;
    this.holder.close();
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    try {
      this.dispatch(req, res);
    } catch (e) {
      // A bug, not bad input (that is a 4xx above): answer rather than let it take the process down.
      if (!res.headersSent) this.send(res, error(500, `internal error: ${(e as Error).message}`));
    }
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const target = this.route(req.method ?? "GET", req.url ?? "/", req.headers.authorization);
    if (!("infer" in target)) {
      if ("then" in target) {
        target.then((r) => this.send(res, r), (e: unknown) => this.send(res, error(500, (e as Error).message)));
      } else this.send(res, target);
      return;
    }
    const declared = Number(req.headers["content-length"]);
    if (declared > this.maxBodyBytes) {
      this.finishInfer(res, target.active, this.tooLarge(declared), started);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > this.maxBodyBytes) {
        if (!res.headersSent) this.finishInfer(res, target.active, this.tooLarge(size), started);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > this.maxBodyBytes) return;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      this.infer(res, target.active, body, started);
    });
    req.on("error", () => {});
  }

  private tooLarge(size: number): Reply {
    return error(413, `request body is ${size} bytes or more; the limit is ${this.maxBodyBytes} bytes (spec.server.maxBodyBytes). Send fewer rows per request.`, {
      connection: "close",
    });
  }

  private finishInfer(res: ServerResponse, active: Active, reply: Reply, started: number): void {
    this.send(res, reply);
    active.countStatus(reply.status);
    active.observeDuration((performance.now() - started) / 1000);
  }

  private send(res: ServerResponse, reply: Reply): void {
    const headers: Record<string, string | number> = {
      "content-type": JSON_TYPE,
      "content-length": Buffer.byteLength(reply.body),
      ...reply.headers,
    };
    if (this.draining) headers.connection = "close";
    res.writeHead(reply.status, headers);
    res.end(reply.body);
  }

  /** Routes a request. Returns the reply for everything but infer, which still needs its body. */
  private route(method: string, url: string, authorization: string | undefined): Reply | Promise<Reply> | InferTarget {
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    if (path === SERVE_PATHS.live) return method === "GET" ? LIVE : notAllowed("GET");
    if (path === SERVE_PATHS.ready) {
      if (method !== "GET") return notAllowed("GET");
      return this.draining ? READY_NO : this.holder.active === undefined ? this.notLoaded({ ready: false }) : READY_OK;
    }
    if (path === SERVE_PATHS.metrics) {
      if (method !== "GET") return notAllowed("GET");
      return this.metrics.metrics().then((body) => ({ status: 200, body, headers: { "content-type": this.metrics.contentType } }));
    }
    if (path === "/v2") {
      if (method !== "GET") return notAllowed("GET");
      return this.authorized(authorization) ? { status: 200, body: this.serverMetadata } : unauthorized();
    }
    if (!path.startsWith(MODELS_PREFIX)) {
      return error(404, `no such path: ${path}; this server answers /v2, /v2/health/live, /v2/health/ready, /v2/models/{model}[/versions/{version}][/ready|/infer] and /metrics`);
    }
    if (!this.authorized(authorization)) return unauthorized();
    return this.routeModel(method, path);
  }

  private routeModel(method: string, path: string): Reply | InferTarget {
    const parts = path.slice(MODELS_PREFIX.length).split("/");
    const name = safeDecode(parts[0]!);
    let version: string | undefined;
    let i = 1;
    if (parts[1] === "versions" && parts.length >= 3) {
      version = safeDecode(parts[2]!);
      i = 3;
    }
    const action = parts.length === i ? "" : parts.length === i + 1 ? parts[i] : undefined;
    if (action !== "" && action !== "ready" && action !== "infer") {
      return error(404, `no such path: ${path}; model paths are /v2/models/{model}[/versions/{version}][/ready|/infer]`);
    }
    const want = action === "infer" ? "POST" : "GET";
    if (method !== want) return notAllowed(want);
    if (name !== this.holder.name) {
      return error(404, `model ${JSON.stringify(name)} is not served here; this server serves ${JSON.stringify(this.holder.name)}`);
    }
    const active = this.holder.active;
    if (active === undefined) return this.notLoaded(action === "ready" ? { name, ready: false } : {});
    const model = active.model;
    if (version !== undefined && version !== model.versionString) {
      return error(404, `version ${JSON.stringify(version)} of model "${this.holder.name}" is not loaded; this server has version ${model.versionString} loaded (drop /versions/… to use whichever version is loaded)`);
    }
    if (action === "infer") return { infer: true, active };
    if (action === "ready") {
      return this.draining
        ? { status: 503, body: JSON.stringify({ name: model.mv.name, ready: false }) }
        : { status: 200, body: JSON.stringify({ name: model.mv.name, ready: true }) };
    }
    return { status: 200, body: active.metadata };
  }

  /** 503 until the first version is loaded: which model, why not yet, when the next attempt is. */
  private notLoaded(fields: Record<string, unknown>): Reply {
    const { message, retryAfterSeconds } = this.holder.notLoadedReason();
    return { status: 503, body: JSON.stringify({ ...fields, error: message }), headers: { "retry-after": String(retryAfterSeconds) } };
  }

  private authorized(header: string | undefined): boolean {
    const want = this.expectedAuth;
    if (!want) return true;
    if (header === undefined || Buffer.byteLength(header) !== want.length) return false;
    return timingSafeEqual(Buffer.from(header), want);
  }

  /** Parses, checks and runs one infer request, then answers it. */
  private infer(res: ServerResponse, active: Active, body: Buffer, started: number): void {
    const model = active.model;
    let call: InferCall;
    try {
      call = parseInferRequest(body, model);
    } catch (e) {
      this.finishInfer(res, active, failure(e), started);
      return;
    }
    model.acquire();
    active.batcher.submit(call.feeds, call.rows, (err, out) => {
      let reply: Reply;
      try {
        reply = err === undefined ? { status: 200, body: inferResponse(model, call, out!) } : failure(err);
      } catch (e) {
        reply = error(500, `internal error: ${(e as Error).message}`);
      }
      model.release();
      this.finishInfer(res, active, reply, started);
    });
  }

  inject(opts: InjectOptions): Promise<InjectResponse> {
    const body = opts.body === undefined ? "" : typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k.toLowerCase()] = v;
    if (body && headers["content-length"] === undefined) headers["content-length"] = String(Buffer.byteLength(body));
    const req = Object.assign(new PassThrough(), { method: opts.method, url: opts.url, headers });
    return new Promise<InjectResponse>((resolve) => {
      let status = 0;
      let resHeaders: Record<string, string> = {};
      const res = {
        headersSent: false,
        writeHead(code: number, h: Record<string, string | number>) {
          status = code;
          resHeaders = Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), String(v)]));
          this.headersSent = true;
        },
        end(text: string) {
          resolve({ status, headers: resHeaders, body: text, json: () => JSON.parse(text) });
        },
      };
      this.onRequest(req as unknown as IncomingMessage, res as unknown as ServerResponse);
      req.end(body);
    });
  }
}

/** The answer to an infer request that failed. */
function failure(e: unknown): Reply {
  if (e instanceof BadRequest) return error(e.status, e.message);
  // Inputs passed every check against the graph, so what onnxruntime still rejects depends on the
  // values (an index out of range, say): the caller's to fix, so a 400 rather than a 500.
  return error(400, `the model could not run on this input: ${(e as Error).message}`);
}

function notAllowed(allow: string): Reply {
  return error(405, `method not allowed here; use ${allow}`, { allow });
}

function unauthorized(): Reply {
  return error(401, "missing or wrong bearer token; send the header 'Authorization: Bearer <token>'", {
    "www-authenticate": 'Bearer realm="mlops"',
  });
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
