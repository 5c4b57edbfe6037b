/**
 * The `mlops serve` application: Open Inference Protocol v2 over bare `node:http`, without a listener.
 * `buildApp` loads the model (or starts loading it in the background, answering 503 until it is in) and
 * returns a request handler plus `inject` for in-process tests; main.ts puts it on a socket.
 *
 * This file is the plumbing: dispatch (path and method to a handler), auth, writing replies, and the
 * 500 for a bug. What each route answers lives in routes/, one file per route group: health.ts (probes
 * and metadata), infer.ts, metrics.ts.
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
import { ModelHolder, type HolderOptions, type ModelSource, type ServingVersion } from "./holder.js";
import type { RetryOptions } from "./load-retry.js";
import { createMetrics } from "./metrics.js";
import * as health from "./routes/health.js";
import { infer } from "./routes/infer.js";
import { scrape } from "./routes/metrics.js";
import { errorReply, notAllowed, type Reply, type RouteContext } from "./routes/reply.js";

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

/** An infer request that passed routing and auth, waiting for its body. */
interface InferTarget {
  readonly infer: true;
  readonly serving: ServingVersion;
}

const JSON_TYPE = "application/json";
const MODELS_PREFIX = "/v2/models/";

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

/** The app; also the {@link RouteContext} its route handlers read. */
class App implements ServeApp, RouteContext {
  draining = false;
  private readonly expectedAuth: Buffer | undefined;
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => this.onRequest(req, res);

  constructor(
    readonly holder: ModelHolder,
    readonly metrics: PromRegistry,
    readonly maxBodyBytes: number,
    authToken: string | undefined,
  ) {
    this.expectedAuth = authToken ? Buffer.from(`Bearer ${authToken}`) : undefined;
  }

  get ready(): boolean {
    return !this.draining && this.holder.serving !== undefined;
  }

  get loaded(): Promise<void> {
    return this.holder.loaded;
  }

  notLoadedReason(): string | undefined {
    return this.holder.serving === undefined ? this.holder.notLoadedReason().message : undefined;
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
      if (!res.headersSent) this.send(res, errorReply(500, `internal error: ${(e as Error).message}`));
    }
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    // HEAD answers what GET would, headers only (health checks and load balancers use it).
    const method = req.method === "HEAD" ? "GET" : (req.method ?? "GET");
    const target = this.route(method, req.url ?? "/", req.headers.authorization);
    if ("infer" in target) infer(this, req, res, target.serving, started);
    else if ("then" in target) target.then((r) => this.send(res, r), (e: unknown) => this.send(res, errorReply(500, (e as Error).message)));
    else this.send(res, target);
  }

  send(res: ServerResponse, reply: Reply): void {
    const headers: Record<string, string | number> = {
      "content-type": JSON_TYPE,
      "content-length": Buffer.byteLength(reply.body),
      ...reply.headers,
    };
    if (this.draining) headers.connection = "close";
    res.writeHead(reply.status, headers);
    // Node sends no body for a HEAD request's response: the headers (Content-Length included) are GET's.
    res.end(reply.body);
  }

  /** Routes a request. Returns the reply for everything but infer, which still needs its body. */
  private route(method: string, url: string, authorization: string | undefined): Reply | Promise<Reply> | InferTarget {
    const q = url.indexOf("?");
    const raw = q < 0 ? url : url.slice(0, q);
    // `/v2/` is `/v2` (as Triton and KServe answer it); likewise any path with one trailing slash.
    const path = raw.length > 1 && raw.endsWith("/") ? raw.slice(0, -1) : raw;
    if (path === SERVE_PATHS.live) return method === "GET" ? health.live() : notAllowed("GET");
    if (path === SERVE_PATHS.ready) return method === "GET" ? health.ready(this) : notAllowed("GET");
    if (path === health.ROLLOUT_READY_PATH) return method === "GET" ? health.rolloutReady(this) : notAllowed("GET");
    if (path === SERVE_PATHS.metrics) return method === "GET" ? scrape(this) : notAllowed("GET");
    if (path === "/v2") {
      if (method !== "GET") return notAllowed("GET");
      return this.authorized(authorization) ? health.serverMetadata() : unauthorized();
    }
    if (!path.startsWith(MODELS_PREFIX)) {
      return errorReply(404, `no such path: ${path}; this server answers /v2, /v2/health/live, /v2/health/ready, /v2/health/rollout, /v2/models/{model}[/versions/{version}][/ready|/infer] and /metrics`);
    }
    if (!this.authorized(authorization)) return unauthorized();
    return this.routeModel(method, path);
  }

  /** `/v2/models/{model}[/versions/{version}][/ready|/infer]`, checked against the version being served. */
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
      return errorReply(404, `no such path: ${path}; model paths are /v2/models/{model}[/versions/{version}][/ready|/infer]`);
    }
    const want = action === "infer" ? "POST" : "GET";
    if (method !== want) return notAllowed(want);
    if (name !== this.holder.name) {
      return errorReply(404, `model ${JSON.stringify(name)} is not served here; this server serves ${JSON.stringify(this.holder.name)}`);
    }
    const serving = this.holder.serving;
    if (serving === undefined) return health.notLoaded(this, action === "ready" ? { name, ready: false } : {});
    const loadedVersion = serving.model.versionString;
    if (version !== undefined && version !== loadedVersion) {
      return errorReply(404, `version ${JSON.stringify(version)} of model "${this.holder.name}" is not loaded; this server has version ${loadedVersion} loaded (drop /versions/… to use whichever version is loaded)`);
    }
    if (action === "infer") return { infer: true, serving };
    if (action === "ready") return health.modelReady(this, serving);
    return health.modelMetadata(serving);
  }

  private authorized(header: string | undefined): boolean {
    const want = this.expectedAuth;
    if (!want) return true;
    if (header === undefined || Buffer.byteLength(header) !== want.length) return false;
    return timingSafeEqual(Buffer.from(header), want);
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

function unauthorized(): Reply {
  return errorReply(401, "missing or wrong bearer token; send the header 'Authorization: Bearer <token>'", {
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
