/**
 * The listener around `buildApp`: puts the app on a socket (and `/metrics` on a port of its own when the
 * spec says so), bounds what connections may cost (connections.ts), and drains on SIGTERM (drain.ts).
 * `runFromEnv` is the container's boot path (spec from MLOPS_ENDPOINT_SPEC, token from MLOPS_AUTH_TOKEN).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { MlopsError } from "../../src/errors.js";
import { createLogger, silentLogger, type Logger } from "../../src/log.js";
import { Registry } from "../../src/registry/index.js";
import { AUTH_TOKEN_ENV, endpointSpecFromEnv, type EndpointSpec } from "../../src/spec/endpoint.js";
import { buildApp, type ServeApp } from "./app.js";
import { guardConnections, httpServerOptions } from "./connections.js";
import { drain } from "./drain.js";
import type { ModelSource } from "./holder.js";
import type { RetryOptions } from "./load-retry.js";

const DEFAULT_WAIT_FOR_MODEL_SECONDS = 30;

export interface StartOptions {
  /** Registry to load from. @default Registry.open(spec.registry) */
  readonly registry?: ModelSource;
  /** Bearer token for the model routes. @default - no auth */
  readonly authToken?: string;
  /** @default silentLogger */
  readonly logger?: Logger;
  /** Drain and exit the process (code 0) on SIGTERM (after `spec.server.shutdownDelaySeconds`) and SIGINT (at once). @default false */
  readonly handleSignals?: boolean;
  /**
   * Resolve only once the first model version is loaded, for in-process callers that send requests right
   * away; retries for up to `waitForModelSeconds`, then stops the server and rejects. With `false` it
   * resolves once listening: live answers 200 and ready 503 while the load is retried in the background.
   * @default true
   */
  readonly waitForModel?: boolean;
  /** How long `waitForModel` waits. @default 30 */
  readonly waitForModelSeconds?: number;
  /** Back-off between failed load attempts. @default DEFAULT_LOAD_RETRY (0.5 s doubling to 30 s, less up to 20% jitter) */
  readonly loadRetry?: RetryOptions;
}

export interface RunningServer {
  /** `http://host:port`, with the port actually bound (the spec may say 0 in tests). */
  readonly url: string;
  readonly port: number;
  /** `http://host:port` of the metrics listener, when `spec.server.metricsPort` is set. */
  readonly metricsUrl?: string;
  readonly app: ServeApp;
  /** Resolves once the first model version is loaded; rejects if the server stops before that. */
  readonly loaded: Promise<void>;
  /**
   * Graceful stop (drain.ts): readiness turns false and every response carries `Connection: close`; with
   * `shutdownDelay` the server keeps accepting for `spec.server.shutdownDelaySeconds` first (what SIGTERM
   * does); then the listener and idle keep-alive connections close, and requests in flight get up to
   * `spec.server.drainSeconds` before whatever is left is cut off.
   */
  stop(opts?: { readonly shutdownDelay?: boolean }): Promise<void>;
}

/**
 * Listens on `spec.server.host:port` at once and loads the model in the background, retrying with back-off
 * until it loads. Resolves once the socket is bound and, with `waitForModel` (the default), the first
 * version is loaded. Bad settings (the registry URI, the model reference) still fail before listening.
 */
export async function startServer(spec: EndpointSpec, opts: StartOptions = {}): Promise<RunningServer> {
  const logger = opts.logger ?? silentLogger;
  const registry = opts.registry ?? (await Registry.open(spec.registry));
  const app = await buildApp({
    spec,
    registry,
    logger,
    firstLoad: "background",
    ...(opts.loadRetry ? { loadRetry: opts.loadRetry } : {}),
    ...(opts.authToken ? { authToken: opts.authToken } : {}),
  });
  const s = spec.server;
  const server = createServer(httpServerOptions(s));
  const metricsServer = s.metricsPort === undefined ? undefined : createServer(httpServerOptions(s));
  try {
    await listen(server, s.host, s.port, "server.port");
    if (metricsServer) await listen(metricsServer, s.host, s.metricsPort!, "server.metricsPort");
  } catch (e) {
    server.close();
    await app.close();
    throw e;
  }
  // Each listener gets its own connection cap, parser-error answers and accept-error handling (connections.ts).
  const guarded = (srv: Server, handler: typeof app.handle) => {
    const limits = { headersTimeoutSeconds: s.headersTimeoutSeconds, requestTimeoutSeconds: s.requestTimeoutSeconds };
    const guard = guardConnections(srv, { maxConnections: s.maxConnections, limits, logger, count: (status) => app.countRejected(status) });
    srv.on("request", guard.wrap(handler));
  };
  guarded(server, app.handle);
  if (metricsServer) guarded(metricsServer, app.handleMetrics);
  const port = (server.address() as AddressInfo).port;
  const url = urlOf(s.host, port);
  const metricsUrl = metricsServer ? urlOf(s.host, (metricsServer.address() as AddressInfo).port) : undefined;
  logger.info("serving", { endpoint: spec.name, model: spec.model, url, ...(metricsUrl ? { metricsUrl } : {}), auth: Boolean(opts.authToken), batching: spec.batching, loaded: app.ready, ...(spec.variants ? { variants: spec.variants } : {}) });

  let stopping: Promise<void> | undefined;
  let removeSignalHandlers = (): void => {};
  const stop = (stopOpts: { readonly shutdownDelay?: boolean } = {}): Promise<void> =>
    (stopping ??= (async () => {
      const shutdownDelaySeconds = stopOpts.shutdownDelay ? s.shutdownDelaySeconds : 0;
      await drain({ app, server, logger, ...(metricsServer ? { metricsServer } : {}) }, { shutdownDelaySeconds, drainSeconds: s.drainSeconds });
      logger.info("stopped", { endpoint: spec.name });
    })());

  if (opts.handleSignals) {
    const onSignal = (signal: NodeJS.Signals) => {
      // SIGTERM is what orchestrators send (Kubernetes, docker stop, systemd): keep accepting while they stop
      // sending. SIGINT is someone's Ctrl-C on a local server: nothing routes traffic here, so no delay.
      const shutdownDelay = signal === "SIGTERM";
      logger.info("draining", { signal, shutdownDelaySeconds: shutdownDelay && app.ready ? s.shutdownDelaySeconds : 0, drainSeconds: s.drainSeconds });
      void stop({ shutdownDelay }).then(
        () => process.exit(0),
        (e: unknown) => {
          logger.error("shutdown failed", { error: (e as Error).message });
          process.exit(1);
        },
      );
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
    removeSignalHandlers = () => {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
    };
  }
  if (opts.waitForModel ?? true) {
    const seconds = opts.waitForModelSeconds ?? DEFAULT_WAIT_FOR_MODEL_SECONDS;
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      app.loaded.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), seconds * 1000))),
    ]).finally(() => clearTimeout(timer));
    if (!inTime) {
      const why = app.notLoadedReason();
      removeSignalHandlers();
      await stop();
      throw MlopsError.of(
        "model",
        `was not loaded within ${seconds} s (${why})`,
        spec.model,
        "Register the model and set its alias, or fix the registry access; or start with waitForModel: false to listen at once and keep retrying in the background.",
      );
    }
  }
  return { url, port, ...(metricsUrl ? { metricsUrl } : {}), app, loaded: app.loaded, stop };
}

/** Binds `server`; a failure the user can fix (busy port, unknown host) becomes an MlopsError naming `portField`. */
function listen(server: Server, host: string, port: number, portField: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch((e: NodeJS.ErrnoException) => {
    throw listenError(e, host, port, portField);
  });
}

function urlOf(host: string, port: number): string {
  const h = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return `http://${h.includes(":") ? `[${h}]` : h}:${port}`;
}

/**
 * Container boot: spec from MLOPS_ENDPOINT_SPEC, token from MLOPS_AUTH_TOKEN when auth is on, JSON logs at
 * `spec.logLevel`; resolves once listening, without waiting for the model (readiness says when it is in),
 * and the process then runs until SIGTERM/SIGINT drains it.
 */
export async function runFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<RunningServer> {
  const spec = endpointSpecFromEnv(env);
  const logger = createLogger({ level: spec.logLevel, fields: { endpoint: spec.name } });
  let authToken: string | undefined;
  if (spec.auth.enabled) {
    authToken = env[AUTH_TOKEN_ENV];
    if (!authToken) {
      throw MlopsError.of(
        AUTH_TOKEN_ENV,
        "is empty but the spec has auth.enabled = true",
        authToken,
        `Set ${AUTH_TOKEN_ENV} (from a Kubernetes Secret), or turn auth off in the spec.`,
      );
    }
  }
  // A container must not crash-loop while its model does not exist yet: listen, and let readiness wait.
  return startServer(spec, { logger, handleSignals: true, waitForModel: false, ...(authToken ? { authToken } : {}) });
}

/** A listen failure the user can fix (a busy or forbidden port, a host this machine does not have) as an MlopsError. */
function listenError(e: NodeJS.ErrnoException, host: string, port: number, portField: string): Error {
  switch (e.code) {
    case "EADDRINUSE":
    case "EACCES":
      return MlopsError.of(portField, `cannot listen (${e.code})`, port, "Pick a free port, or stop whatever holds it.");
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EADDRNOTAVAIL":
      return MlopsError.of("server.host", `is not an address of this machine (${e.code})`, host, "Use 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or one of this machine's own addresses.");
    default:
      return e;
  }
}
