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

export interface StartOptions {
  /** Registry to load from. @default Registry.open(spec.registry) */
  readonly registry?: ModelSource;
  /** Bearer token for the model routes. @default - no auth */
  readonly authToken?: string;
  /** @default silentLogger */
  readonly logger?: Logger;
  /** Drain and exit the process (code 0) on SIGTERM and SIGINT. @default false */
  readonly handleSignals?: boolean;
}

export interface RunningServer {
  /** `http://host:port`, with the port actually bound (the spec may say 0 in tests). */
  readonly url: string;
  readonly port: number;
  readonly app: ServeApp;
  /**
   * Graceful stop: readiness turns false, the listener closes, idle keep-alive connections close, requests
   * in flight (and ones already read on open connections) are answered with `Connection: close`; after
   * `spec.server.drainSeconds` whatever is left is cut off.
   */
  stop(): Promise<void>;
}

/** Loads the model and listens on `spec.server.host:port`. Resolves once the socket is bound. */
export async function startServer(spec: EndpointSpec, opts: StartOptions = {}): Promise<RunningServer> {
  const logger = opts.logger ?? silentLogger;
  const registry = opts.registry ?? (await Registry.open(spec.registry));
  const app = await buildApp({ spec, registry, logger, ...(opts.authToken ? { authToken: opts.authToken } : {}) });
  const server = createServer({ keepAliveTimeout: 5000 }, app.handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(spec.server.port, spec.server.host, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch(async (e: NodeJS.ErrnoException) => {
    await app.close();
    throw e.code === "EADDRINUSE" || e.code === "EACCES"
      ? MlopsError.of("server.port", `cannot listen (${e.code})`, spec.server.port, "Pick a free port, or stop whatever holds it.")
      : e;
  });
  const port = (server.address() as AddressInfo).port;
  const host = spec.server.host === "0.0.0.0" || spec.server.host === "::" ? "127.0.0.1" : spec.server.host;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  logger.info("serving", { endpoint: spec.name, model: spec.model, url, auth: Boolean(opts.authToken), batching: spec.batching });

  let stopping: Promise<void> | undefined;
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
  }
  return { url, port, app, stop };
}

/**
 * Container boot: spec from MLOPS_ENDPOINT_SPEC, token from MLOPS_AUTH_TOKEN when auth is on, JSON logs at
 * `spec.logLevel`; resolves once listening, and the process then runs until SIGTERM/SIGINT drains it.
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
  return startServer(spec, { logger, handleSignals: true, ...(authToken ? { authToken } : {}) });
}
