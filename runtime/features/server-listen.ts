/**
 * `mlops features serve`: the feature app (server.ts) on a socket, with the online store the spec names,
 * the watermark-age gauge fed from the registry's watermarks, and a drain on SIGTERM.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { MlopsError } from "../../src/errors.js";
import { readWatermarks } from "../../src/features/watermarks.js";
import { silentLogger, type Logger } from "../../src/log.js";
import { FEATURE_DEFAULTS, type FeatureStoreSpec } from "../../src/spec/features.js";
import { openStore, type ObjectStore } from "../../src/store/index.js";
import { openOnlineStore } from "./online/index.js";
import type { OnlineStore } from "./online/types.js";
import { buildFeatureApp, type FeatureApp, type FeatureServerLimits } from "./server.js";

/** Header and request timeouts: a slow or stalled client cannot hold a connection open. */
export const FEATURE_SERVER_TIMEOUTS = { headersMs: 10_000, requestMs: 30_000, keepAliveMs: 5_000, drainMs: 10_000 } as const;
/** Open connections at most; more are refused by the listener. */
const MAX_CONNECTIONS = 4096;
/** How long a read of the watermarks is reused by the watermark-age gauge. */
const WATERMARK_CACHE_MS = 10_000;

export interface FeatureServerOptions {
  /** @default "127.0.0.1" */
  readonly host?: string;
  /** @default 6566 (Feast's) */
  readonly port?: number;
  /** @default - the spec's online store, opened here and closed on stop */
  readonly store?: OnlineStore;
  /** Where watermarks are read from. @default openStore(spec.registry) */
  readonly registry?: ObjectStore;
  readonly limits?: Partial<FeatureServerLimits>;
  readonly now?: () => number;
  readonly logger?: Logger;
  /** Drain and exit on SIGTERM/SIGINT. @default false */
  readonly handleSignals?: boolean;
}

export interface RunningFeatureServer {
  readonly url: string;
  readonly port: number;
  readonly app: FeatureApp;
  /** Stops listening, lets requests in flight finish (up to 10 s), closes the store if opened here. */
  stop(): Promise<void>;
}

export async function startFeatureServer(spec: FeatureStoreSpec, opts: FeatureServerOptions = {}): Promise<RunningFeatureServer> {
  const logger = opts.logger ?? silentLogger;
  const host = opts.host ?? "127.0.0.1";
  const port = opts.port ?? FEATURE_DEFAULTS.servePort;
  const store = opts.store ?? (await openOnlineStore(spec, { logger }));
  const registry = opts.registry ?? openStore(spec.registry);
  const online = spec.views.filter((v) => v.online).map((v) => v.name);
  let cached: { at: number; ends: Promise<Map<string, number>> } | undefined;
  const watermarks = (): Promise<Map<string, number>> => {
    if (!cached || Date.now() - cached.at > WATERMARK_CACHE_MS) {
      const ends = readWatermarks(registry, online).then((w) => new Map([...w].map(([v, m]) => [v, Date.parse(m.end)])));
      ends.catch((e: unknown) => logger.debug("watermarks unreadable", { error: (e as Error).message }));
      cached = { at: Date.now(), ends };
    }
    return cached.ends;
  };
  const app = buildFeatureApp({ spec, store, watermarks, logger, ...(opts.limits ? { limits: opts.limits } : {}), ...(opts.now ? { now: opts.now } : {}) });
  const server = createServer({ keepAliveTimeout: FEATURE_SERVER_TIMEOUTS.keepAliveMs, headersTimeout: FEATURE_SERVER_TIMEOUTS.headersMs, requestTimeout: FEATURE_SERVER_TIMEOUTS.requestMs }, app.handle);
  server.maxConnections = MAX_CONNECTIONS;
  // Node's own parser refusals (a malformed request, headers too large, a timeout) in the JSON error shape.
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const [status, text] = err.code === "HPE_HEADER_OVERFLOW" ? [431, "request headers too large"] : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? [408, "request not received in time"] : [400, "malformed HTTP request"];
    const body = JSON.stringify({ error: text });
    socket.end(`HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch(async (e: NodeJS.ErrnoException) => {
    if (!opts.store) await store.close();
    const fix = e.code === "EADDRINUSE" ? "Stop whatever listens there, or pass another --port." : "Pass a host this machine has (e.g. 127.0.0.1 or 0.0.0.0).";
    throw MlopsError.of("--port", `cannot be listened on at ${host} (${e.code ?? e.message})`, port, fix);
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  const url = `http://${shown.includes(":") ? `[${shown}]` : shown}:${bound}`;
  logger.info("feature server listening", { store: spec.name, online: store.kind, url });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      app.startDraining();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, FEATURE_SERVER_TIMEOUTS.drainMs)))]);
      clearTimeout(timer);
      server.closeAllConnections();
      if (!opts.store) await store.close();
      logger.info("feature server stopped", { store: spec.name });
    })());

  if (opts.handleSignals) {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info("draining", { signal });
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
  return { url, port: bound, app, stop };
}
