/**
 * The listener around `buildApp`: puts the app on a socket, and drains on SIGTERM. `runFromEnv` is the
 * container's boot path (spec from MLOPS_ENDPOINT_SPEC, token from MLOPS_AUTH_TOKEN).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { MlopsError } from "../../src/errors.js";
import { createLogger, silentLogger, type Logger } from "../../src/log.js";
import { Registry } from "../../src/registry/index.js";
import { AUTH_TOKEN_ENV, endpointSpecFromEnv, type EndpointSpec } from "../../src/spec/endpoint.js";
import { buildApp, type ServeApp } from "./app.js";
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
  /** Drain and exit the process (code 0) on SIGTERM and SIGINT. @default false */
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
  readonly app: ServeApp;
  /** Resolves once the first model version is loaded; rejects if the server stops before that. */
  readonly loaded: Promise<void>;
  /**
   * Graceful stop: readiness turns false, the listener closes, idle keep-alive connections close, requests
   * in flight (and ones already read on open connections) are answered with `Connection: close`; after
   * `spec.server.drainSeconds` whatever is left is cut off.
   */
  stop(): Promise<void>;
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
  const server = createServer({ keepAliveTimeout: 5000 }, app.handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(spec.server.port, spec.server.host, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch(async (e: NodeJS.ErrnoException) => {
    await app.close();
    throw listenError(e, spec.server.host, spec.server.port);
  });
  const port = (server.address() as AddressInfo).port;
  const host = spec.server.host === "0.0.0.0" || spec.server.host === "::" ? "127.0.0.1" : spec.server.host;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  logger.info("serving", { endpoint: spec.name, model: spec.model, url, auth: Boolean(opts.authToken), batching: spec.batching, loaded: app.ready });

  let stopping: Promise<void> | undefined;
  let removeSignalHandlers = (): void => {};
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      app.startDraining();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Node closes idle keep-alive sockets on close(); busy ones close after their response, which
      // carries `Connection: close` now that the app is draining.
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        closed.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), spec.server.drainSeconds * 1000))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        logger.warn("drain time is up; closing the connections still open", { drainSeconds: spec.server.drainSeconds });
        server.closeAllConnections();
      }
      await app.close();
      logger.info("stopped", { endpoint: spec.name });
    })());

  if (opts.handleSignals) {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info("draining", { signal, drainSeconds: spec.server.drainSeconds });
      void stop().then(
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
  return { url, port, app, loaded: app.loaded, stop };
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
function listenError(e: NodeJS.ErrnoException, host: string, port: number): Error {
  switch (e.code) {
    case "EADDRINUSE":
    case "EACCES":
      return MlopsError.of("server.port", `cannot listen (${e.code})`, port, "Pick a free port, or stop whatever holds it.");
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EADDRNOTAVAIL":
      return MlopsError.of("server.host", `is not an address of this machine (${e.code})`, host, "Use 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or one of this machine's own addresses.");
    default:
      return e;
  }
}
