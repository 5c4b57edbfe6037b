/**
 * The MLflow tracking subset ({@link TrackingApi}) over HTTP on 127.0.0.1, for one training run: a
 * command trainer gets its URL as `MLFLOW_TRACKING_URI`, so `mlflow.log_metric(…)` works unchanged.
 * Paths are MLflow's, `/api/2.0/mlflow/<endpoint>` (and the older `/api/2.0/preview/mlflow/…`); GET
 * reads the query string, POST a JSON body of at most {@link MAX_REQUEST_BYTES} bytes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../../../src/log.js";
import { MlflowApiError, TrackingApi, type TrackingApiOptions, type TrackingSink } from "./api.js";
import { MAX_JSON_DEPTH, jsonDepthOver } from "./limits.js";

/** The largest request body accepted: a full log-batch (100 params of 6000 characters, 100 tags of 8000, 1000 metrics) fits. */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
const PREFIX = /^\/api\/2\.0\/(?:preview\/)?mlflow\/(.+)$/;

export interface TrackingServer {
  /** `http://127.0.0.1:<port>`: the value of `MLFLOW_TRACKING_URI`. */
  readonly uri: string;
  close(): Promise<void>;
}

export interface TrackingServerOptions extends TrackingApiOptions {
  readonly logger?: Logger;
  /** @default MAX_REQUEST_BYTES */
  readonly maxRequestBytes?: number;
  /** How long a client may take to send a request's headers, and the whole request (a slow client is cut). @default 10 s, 30 s */
  readonly headersTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
}

/** Starts the tracking server on a free 127.0.0.1 port. */
export async function startTrackingServer(sink: TrackingSink, opts: TrackingServerOptions): Promise<TrackingServer> {
  const api = new TrackingApi(sink, opts);
  const limit = opts.maxRequestBytes ?? MAX_REQUEST_BYTES;
  const headersTimeout = opts.headersTimeoutMs ?? 10_000;
  const server = createServer(
    {
      headersTimeout,
      requestTimeout: opts.requestTimeoutMs ?? 30_000,
      keepAliveTimeout: 5_000,
      maxHeaderSize: 16 * 1024,
      // Node checks the two timeouts on this interval (30 s by default, which would let 10 s run to 40 s).
      connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.round(headersTimeout / 4))),
    },
    (req, res) => {
      void answer(api, req, res, limit).catch((err: Error) => {
        opts.logger?.warn("MLflow tracking request failed", { error: err.message });
        if (!res.headersSent) send(res, 500, { error_code: "INTERNAL_ERROR", message: "internal error in the tracking server" });
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    uri: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function answer(api: TrackingApi, req: IncomingMessage, res: ServerResponse, limit: number): Promise<void> {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  const m = PREFIX.exec(url.pathname);
  if (!m) {
    drain(req);
    return send(res, 404, { error_code: "ENDPOINT_NOT_FOUND", message: `No API endpoint at ${JSON.stringify(url.pathname)}: the MLflow tracking API is under /api/2.0/mlflow/.` });
  }
  let input: Record<string, unknown>;
  try {
    input = req.method === "GET" ? Object.fromEntries(url.searchParams) : await jsonBody(req, limit);
    const a = api.handle(req.method ?? "GET", m[1]!, input);
    send(res, a.status, a.body);
  } catch (err) {
    if (!(err instanceof MlflowApiError)) throw err;
    send(res, err.status, { error_code: err.code, message: err.message });
  }
}

/** The JSON object a POST carries; bad JSON and oversized bodies are MLflow-shaped errors. */
async function jsonBody(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    drain(req);
    throw tooLarge(declared, limit);
  }
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Answer now; what is still coming is read and dropped.
        chunks.length = 0;
        reject(tooLarge(size, limit));
      } else chunks.push(chunk);
    });
    req.on("end", () => resolve());
    req.on("error", reject);
  });
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return {};
  if (jsonDepthOver(text, MAX_JSON_DEPTH)) {
    throw new MlflowApiError(400, "MALFORMED_REQUEST", `Malformed request: the body nests arrays/objects more than ${MAX_JSON_DEPTH} deep; MLflow's requests nest at most 3.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new MlflowApiError(400, "MALFORMED_REQUEST", `Malformed request: the body is not JSON (${(err as Error).message}).`);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new MlflowApiError(400, "MALFORMED_REQUEST", "Malformed request: the body must be a JSON object.");
  }
  return parsed as Record<string, unknown>;
}

function tooLarge(size: number, limit: number): MlflowApiError {
  return new MlflowApiError(413, "REQUEST_LIMIT_EXCEEDED", `The request body is ${size} bytes, more than the ${limit} this server accepts; split the batch into smaller requests.`);
}

/** Reads and discards the rest of a request we answer early (so the connection is left clean). */
function drain(req: IncomingMessage): void {
  req.resume();
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
