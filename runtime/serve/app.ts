/**
 * The `mlops serve` application: Open Inference Protocol v2 over bare `node:http`, without a listener.
 * `buildApp` loads the model (or starts loading it in the background, answering 503 until it is in) and
 * returns a request handler plus `inject` for in-process tests; main.ts puts it on a socket.
 *
 * This file is the plumbing: dispatch (path and method to a handler), auth, writing and counting replies,
 * holding the served version for as long as a request needs it, and the 500 for a bug. What each route
 * answers lives in routes/, one file per route group: health.ts (probes and metadata), infer.ts, metrics.ts.
 *
 * Auth: when a token is configured, the model routes (`/v2/models/…`) and server metadata (`/v2`) need
 * `Authorization: Bearer <token>`; the health probes and `/metrics` stay open, because kubelet probes and
 * Prometheus scrapes carry no token and those paths reveal nothing about the model's inputs or outputs
 * (nor about the registry: see routes/health.ts notLoaded).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Registry as PromRegistry } from "prom-client";
import type { EndpointSpec } from "../../src/spec/endpoint.js";
import { SERVE_PATHS } from "../../src/spec/endpoint.js";
import { silentLogger, type Logger } from "../../src/log.js";
import { BearerAuth } from "./auth.js";
import { FeatureInput } from "./feature-input/index.js";
import { ModelHolder, type HolderOptions, type ModelSource, type ServingVersion } from "./holder.js";
import { inject, type InjectOptions, type InjectResponse } from "./inject.js";
import type { RetryOptions } from "./load-retry.js";
import { createMetrics, ExpositionCache, type RouteLabel, type ServeMetrics } from "./metrics.js";
import { openPayloadLog, type PayloadLog, type PayloadLogDeps } from "./payload-log.js";
import * as health from "./routes/health.js";
import { infer } from "./routes/infer.js";
import { scrape } from "./routes/metrics.js";
import { errorReply, notAllowed, type Reply, type RouteContext } from "./routes/reply.js";
import { isRolloutBackend, openVariants, type AnalysisSource, type RolloutBackend, type Variants } from "./variants/index.js";

export type { InjectOptions, InjectResponse };

/** How old the `/metrics` text may be before a scrape renders it again. */
export const DEFAULT_METRICS_MAX_AGE_MS = 1000;

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
  /** How old the `/metrics` text may be before a scrape renders it again. @default DEFAULT_METRICS_MAX_AGE_MS */
  readonly metricsMaxAgeMs?: number;
  /** Stand-ins for payload logging's store, random source and clock (with `spec.logging`). @default - the real ones */
  readonly payloadLog?: PayloadLogDeps;
  /** Stand-ins for the variants' registry (state, alias moves), analysis numbers and random source (with `spec.variants`). @default - the registry, this process's metrics, Math.random */
  readonly variants?: { readonly backend?: RolloutBackend; readonly analysisSource?: AnalysisSource; readonly random?: () => number };
}

export interface ServeApp {
  /** `node:http` request listener for the main port. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Request listener for the metrics port (`spec.server.metricsPort`): `/metrics` only. */
  handleMetrics(req: IncomingMessage, res: ServerResponse): void;
  /** Runs one request on the main port's listener in-process, without a socket (tests). */
  inject(opts: InjectOptions): Promise<InjectResponse>;
  /** True once the model is loaded, until draining starts. */
  readonly ready: boolean;
  /** Resolves once the first version is loaded; rejects if the app is closed before that. */
  readonly loaded: Promise<void>;
  /** Why no version is loaded yet and when the next attempt is; undefined once one is loaded. */
  notLoadedReason(): string | undefined;
  /** This app's own Prometheus registry. */
  readonly metrics: PromRegistry;
  /** Counts a response written outside the app (Node's parser errors, the connection cap) under route `other`. */
  countRejected(status: number): void;
  /** Readiness turns false and every later response carries `Connection: close`; requests still get served. */
  startDraining(): void;
  /** Stops following the alias and frees the model once in-flight requests are done. */
  close(): Promise<void>;
  /** The canary/shadow router and rollout (spec `variants`); undefined without variants. */
  readonly variants?: Variants;
}

/** An infer request that passed routing and auth, waiting for its body. */
interface InferTarget {
  readonly infer: true;
  readonly serving: ServingVersion;
  /** The path named a version: served by it, never split between variants. */
  readonly pinned: boolean;
}

/** A routed request: the reply (or infer, which still needs its body) and the labels it is counted under. */
interface Routed {
  readonly target: Reply | Promise<Reply> | InferTarget;
  readonly route: RouteLabel;
  /** The served model's name when the path named it; "" otherwise. */
  readonly model?: string;
  /** The version that answered; "" when none did. */
  readonly version?: string;
}

const JSON_TYPE = "application/json";
const MODELS_PREFIX = "/v2/models/";
const ACTION_ROUTES: Record<string, RouteLabel> = { "": "model_metadata", ready: "model_ready", infer: "infer" };

/** Returns the app serving the model named by `spec.model`, once it is loaded unless `firstLoad` is `"background"`. */
export async function buildApp(deps: ServeAppDeps): Promise<ServeApp> {
  const { spec } = deps;
  const metrics = createMetrics();
  const logger = deps.logger ?? silentLogger;
  // Serving by entity id: the online store is opened once, here; a store that cannot be opened fails the boot.
  const featureInput = spec.features ? await FeatureInput.open(spec.features, { registry: metrics.registry, logger }) : undefined;
  const opts: HolderOptions = {
    source: deps.registry,
    ref: spec.model,
    batching: spec.batching,
    metrics,
    logger,
    pollIntervalSeconds: spec.pollIntervalSeconds,
    ...(deps.loadRetry ? { retry: deps.loadRetry } : {}),
    ...(featureInput ? { featureInput } : {}),
  };
  const payloadLog = openPayloadLog(spec, metrics.registry, logger, deps.payloadLog);
  const holder = deps.firstLoad === "background" ? ModelHolder.start(opts) : await ModelHolder.open(opts).catch(async (e: unknown) => {
    await payloadLog?.close();
    await featureInput?.close();
    throw e;
  });
  let variants: Variants | undefined;
  try {
    const v = deps.variants ?? {};
    const backend = v.backend ?? (isRolloutBackend(deps.registry) ? deps.registry : undefined);
    variants = openVariants({ spec, stable: holder, holderOptions: opts, metrics, logger, ...(backend ? { backend } : {}), ...(v.analysisSource ? { analysisSource: v.analysisSource } : {}), ...(v.random ? { random: v.random } : {}) });
  } catch (e) {
    holder.close();
    await payloadLog?.close();
    await featureInput?.close();
    throw e;
  }
  return new App(holder, metrics, logger, {
    ...(variants ? { variants } : {}),
    maxBodyBytes: spec.server.maxBodyBytes,
    maxResponseBytes: spec.server.maxResponseBytes,
    metricsOnMainPort: spec.server.metricsPort === undefined,
    metricsMaxAgeMs: deps.metricsMaxAgeMs ?? DEFAULT_METRICS_MAX_AGE_MS,
    ...(deps.authToken ? { authToken: deps.authToken } : {}),
    ...(payloadLog ? { payloadLog } : {}),
    ...(featureInput ? { featureInput } : {}),
  });
}

interface AppSettings {
  readonly maxBodyBytes: number;
  readonly maxResponseBytes: number;
  readonly metricsOnMainPort: boolean;
  readonly metricsMaxAgeMs: number;
  readonly authToken?: string;
  readonly payloadLog?: PayloadLog;
  readonly featureInput?: FeatureInput;
  readonly variants?: Variants;
}

/** The app; also the {@link RouteContext} its route handlers read. */
class App implements ServeApp, RouteContext {
  draining = false;
  readonly metrics: PromRegistry;
  readonly maxBodyBytes: number;
  readonly maxResponseBytes: number;
  readonly payloadLog: PayloadLog | undefined;
  private readonly featureInput: FeatureInput | undefined;
  private readonly auth: BearerAuth | undefined;
  private readonly exposition: ExpositionCache;
  private readonly metricsOnMainPort: boolean;
  readonly variants: Variants | undefined;
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => this.onRequest(req, res, false);
  readonly handleMetrics = (req: IncomingMessage, res: ServerResponse): void => this.onRequest(req, res, true);

  constructor(
    readonly holder: ModelHolder,
    private readonly serveMetrics: ServeMetrics,
    private readonly logger: Logger,
    settings: AppSettings,
  ) {
    this.metrics = serveMetrics.registry;
    this.maxBodyBytes = settings.maxBodyBytes;
    this.maxResponseBytes = settings.maxResponseBytes;
    this.metricsOnMainPort = settings.metricsOnMainPort;
    this.payloadLog = settings.payloadLog;
    this.featureInput = settings.featureInput;
    this.variants = settings.variants;
    this.auth = settings.authToken ? new BearerAuth(settings.authToken) : undefined;
    this.exposition = new ExpositionCache(this.metrics, settings.metricsMaxAgeMs);
    // Zero-valued series for the answers Node's parser and the connection cap give, so `increase()` sees the first.
    for (const status of [400, 408, 413, 431, 503]) serveMetrics.requests.inc({ model: "", version: "", route: "other", status: String(status), variant: "" }, 0);
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

  /** Also writes the payload log's last records (bounded by spec.logging.flushTimeoutSeconds). */
  async close(): Promise<void> {
    this.draining = true;
    this.variants?.close();
    this.holder.close();
    await this.payloadLog?.close();
    await this.featureInput?.close();
  }

  countRejected(status: number): void {
    this.count("other", status, "", "");
  }

  inject(opts: InjectOptions): Promise<InjectResponse> {
    return inject(this.handle, opts);
  }

  private count(route: RouteLabel, status: number, model: string, version: string): void {
    this.serveMetrics.requests.inc({ model, version, route, status: String(status), variant: version === "" ? "" : "stable" });
  }

  private onRequest(req: IncomingMessage, res: ServerResponse, metricsPort: boolean): void {
    let routed: Routed | undefined;
    try {
      routed = metricsPort ? this.routeMetricsPort(req.method ?? "GET", req.url ?? "/") : this.route(req);
      this.dispatch(routed, req, res);
    } catch (e) {
      // A bug, not bad input (that is a 4xx above): answer rather than let it take the process down. The
      // message goes to the log only: it may hold anything (paths, registry words).
      this.logger.error("internal error answering a request", { error: (e as Error).message, stack: (e as Error).stack });
      if (!res.headersSent) this.answer(res, INTERNAL_ERROR, routed ?? OTHER);
    }
  }

  private dispatch(routed: Routed, req: IncomingMessage, res: ServerResponse): void {
    const { target } = routed;
    if ("infer" in target) {
      // The version this request was routed to stays alive until its response is written or its connection
      // is gone, however long the body takes to arrive: an alias move meanwhile retires it, and the holder
      // frees it once the last such request lets go (LoadedModel.release).
      const model = target.serving.model;
      model.acquire();
      let held = true;
      res.on("close", () => {
        if (held) model.release();
        held = false;
      });
      if (this.variants) this.variants.router.infer(this, req, res, target.serving, performance.now(), target.pinned);
      else infer(this, req, res, target.serving, performance.now());
    } else if ("then" in target) {
      target.then(
        (r) => this.answer(res, r, routed),
        (e: unknown) => {
          this.logger.error("internal error answering a request", { error: (e as Error).message });
          this.answer(res, INTERNAL_ERROR, routed);
        },
      );
    } else {
      this.answer(res, target, routed);
    }
  }

  /** Writes a reply and counts it (infer counts its own, on the version's bound children). */
  private answer(res: ServerResponse, reply: Reply, routed: Omit<Routed, "target">): void {
    this.send(res, reply);
    this.count(routed.route, reply.status, routed.model ?? "", routed.version ?? "");
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

  /** The metrics port: `/metrics` and nothing else. */
  private routeMetricsPort(rawMethod: string, url: string): Routed {
    const method = rawMethod === "HEAD" ? "GET" : rawMethod;
    if (pathOf(url) !== SERVE_PATHS.metrics) return { target: errorReply(404, "this port serves /metrics only"), route: "other" };
    return { target: method === "GET" ? scrape(this.exposition) : notAllowed("GET"), route: "metrics" };
  }

  /** Routes a request to its reply, or to infer, which still needs its body. */
  private route(req: IncomingMessage): Routed {
    // HEAD answers what GET would, headers only (health checks and load balancers use it).
    const method = req.method === "HEAD" ? "GET" : (req.method ?? "GET");
    const path = pathOf(req.url ?? "/");
    // The model routes first: infer is the hot path.
    if (path.startsWith(MODELS_PREFIX)) {
      if (!this.authorized(req)) return { target: unauthorized(), route: "other" };
      return this.routeModel(method, path);
    }
    const get = (route: RouteLabel, reply: () => Reply | Promise<Reply>): Routed => ({ target: method === "GET" ? reply() : notAllowed("GET"), route });
    if (path === SERVE_PATHS.live) return get("live", health.live);
    if (path === SERVE_PATHS.ready) return get("ready", () => health.ready(this));
    if (path === health.ROLLOUT_READY_PATH) return get("rollout", () => health.rolloutReady(this));
    if (path === SERVE_PATHS.metrics && this.metricsOnMainPort) return get("metrics", () => scrape(this.exposition));
    if (path === "/v2") return get("server_metadata", () => (this.authorized(req) ? health.serverMetadata() : unauthorized()));
    const also = this.metricsOnMainPort ? " and /metrics" : " (/metrics is on the metrics port)";
    return {
      target: errorReply(404, `no such path: ${path.slice(0, 200)}; this server answers /v2, /v2/health/live, /v2/health/ready, /v2/health/rollout and /v2/models/{model}[/versions/{version}][/ready|/infer]${also}`),
      route: "other",
    };
  }

  /** `/v2/models/{model}[/versions/{version}][/ready|/infer]`, checked against the version being served. */
  private routeModel(method: string, path: string): Routed {
    const parts = path.slice(MODELS_PREFIX.length).split("/");
    const name = safeDecode(parts[0]!);
    let version: string | undefined;
    let i = 1;
    if (parts[1] === "versions" && parts.length >= 3) {
      version = safeDecode(parts[2]!);
      i = 3;
    }
    const action = parts.length === i ? "" : parts.length === i + 1 ? parts[i]! : undefined;
    const route = action === undefined ? undefined : ACTION_ROUTES[action];
    if (route === undefined) {
      return { target: errorReply(404, `no such path: ${path.slice(0, 200)}; model paths are /v2/models/{model}[/versions/{version}][/ready|/infer]`), route: "other" };
    }
    const want = action === "infer" ? "POST" : "GET";
    if (method !== want) return { target: notAllowed(want), route };
    if (name !== this.holder.name) {
      return { target: errorReply(404, `model ${JSON.stringify(name.slice(0, 200))} is not served here; this server serves ${JSON.stringify(this.holder.name)}`), route };
    }
    const model = this.holder.name;
    const serving = this.holder.serving;
    // Only a client that proved it holds the token reads the registry's own words (there is one only with auth on).
    if (serving === undefined) return { target: health.notLoaded(this, action === "ready" ? { name, ready: false } : {}, this.auth !== undefined), route, model };
    const loadedVersion = serving.model.versionString;
    if (version !== undefined && version !== loadedVersion) {
      return {
        target: errorReply(404, `version ${JSON.stringify(version.slice(0, 100))} of model "${model}" is not loaded; this server has version ${loadedVersion} loaded (drop /versions/… to use whichever version is loaded)`),
        route,
        model,
      };
    }
    if (action === "infer") return { target: { infer: true, serving, pinned: version !== undefined }, route, model, version: loadedVersion };
    const reply = action === "ready" ? health.modelReady(this, serving) : health.modelMetadata(serving);
    return { target: reply, route, model, version: loadedVersion };
  }

  private authorized(req: IncomingMessage): boolean {
    return this.auth === undefined || this.auth.accepts(req.headers.authorization);
  }
}

const OTHER = { route: "other" } as const;
const INTERNAL_ERROR = errorReply(500, "internal error (a bug in the server; its log has the details)");

/** The path without the query; `/v2/` is `/v2` (as Triton and KServe answer it), likewise any path with one trailing slash. */
function pathOf(url: string): string {
  const q = url.indexOf("?");
  const raw = q < 0 ? url : url.slice(0, q);
  return raw.length > 1 && raw.endsWith("/") ? raw.slice(0, -1) : raw;
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
