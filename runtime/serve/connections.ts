/**
 * What a connection may cost the server, and how every refusal is answered: time-bounded headers, bodies
 * and idle keep-alive connections; a cap on open connections answered with a 503; the errors of Node's
 * HTTP parser answered in the same `{"error": …}` shape as every other error; and running out of file
 * descriptors survived (logged, not a crash).
 *
 * Keep-alive: the side that closes an idle connection first must be the client's side (a pooling load
 * balancer, kube-proxy passes connections through untouched), or the client may send a request on a
 * connection the server is closing at that moment and get a reset it cannot tell from a lost request.
 * So the server's idle timeout sits above the idle timeouts of what pools connections in front of it:
 * 65 s by default, above AWS ALB's default 60 s (AWS's guidance is that the target's keep-alive be longer
 * than the ALB's idle timeout, or the ALB answers 502 for requests it sent on a connection the target just
 * closed) and below AWS NLB's 350 s TCP idle timeout (past which an NLB forgets the flow without telling
 * either side, so the server should close first there). Clients that keep connections idle longer than
 * 65 s (Go's default transport: 90 s) see the server close first and reconnect, which their pools handle.
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#connection-idle-timeout
 */
import { STATUS_CODES, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "../../src/log.js";
import type { EndpointSpec } from "../../src/spec/endpoint.js";

/** Node's default (16 KiB); requests with larger headers get 431. */
const MAX_HEADER_BYTES = 16 * 1024;
/**
 * How long a connection answered here may keep sending before it is cut. Closing a socket that still has
 * unread input makes the kernel reset it, and a reset can discard the answer before the client reads it;
 * so the server stops writing, reads and drops the rest for a moment, then closes (a lingering close).
 */
const LINGER_MS = 2000;
/** At most one "out of file descriptors" log line per this long; the ones in between are counted in it. */
const ACCEPT_ERROR_LOG_INTERVAL_MS = 10_000;

/** `http.createServer` options from the spec: Node's defaults (60 s headers, 300 s request) are far too patient. */
export function httpServerOptions(server: EndpointSpec["server"]): ServerOptions {
  const headersTimeout = Math.round(server.headersTimeoutSeconds * 1000);
  return {
    headersTimeout,
    requestTimeout: Math.round(server.requestTimeoutSeconds * 1000),
    keepAliveTimeout: Math.round(server.keepAliveTimeoutSeconds * 1000),
    maxHeaderSize: MAX_HEADER_BYTES,
    // Node checks the two timeouts above on this interval (30 s by default, which would let a 10 s limit run
    // to 40 s). The check walks the connections still receiving a request: cheap.
    connectionsCheckingInterval: Math.min(1000, Math.max(250, Math.round(headersTimeout / 4))),
  };
}

export interface ConnectionGuardOptions {
  readonly maxConnections: number;
  readonly limits: Pick<EndpointSpec["server"], "headersTimeoutSeconds" | "requestTimeoutSeconds">;
  readonly logger: Logger;
  /** Called for every answer written here (the 503 of the cap, the parser's 4xx), for `mlops_requests_total`. */
  readonly count: (status: number) => void;
}

/** What {@link guardConnections} returns: the request listener to use instead of the app's own. */
export interface ConnectionGuard {
  /** The app's listener, skipping requests on connections already answered 503 by the cap. */
  wrap(listener: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void;
  /** Connections open now, refused ones included until they close. */
  readonly open: number;
}

/**
 * Installs the connection cap, the parser-error answers and the accept-error handling on `server`. Call it
 * once the server is listening (a failed `listen` is the caller's to report, not an accept error).
 */
export function guardConnections(server: Server, opts: ConnectionGuardOptions): ConnectionGuard {
  /** Connections answered here (over the cap, or refused by the parser): nothing more is written to them. */
  const answered = new WeakSet<Socket>();
  let open = 0;
  const answerAndClose = (socket: Socket, status: number, message: string, headers?: Record<string, string>) => {
    answered.add(socket);
    opts.count(status);
    socket.end(rawResponse(status, message, headers));
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
  };

  server.on("connection", (socket: Socket) => {
    open++;
    socket.once("close", () => open--);
    if (open <= opts.maxConnections) return;
    // Over the cap: say so rather than drop the connection without a word (what `server.maxConnections` does).
    // The 503 goes out before any request is read; the requests that follow on it are read and ignored.
    answerAndClose(socket, 503, `too many connections: this server takes ${opts.maxConnections} at once (spec.server.maxConnections); retry shortly or on another replica`, {
      "retry-after": "1",
    });
  });

  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    // Answered already: the parser reports each later chunk again; the lingering close deals with them.
    if (answered.has(socket)) return;
    // The client went away (a reset, or its end of the connection closed mid-request): nobody to answer.
    if (err.code === "ECONNRESET" || err.code === "HPE_INVALID_EOF_STATE" || !socket.writable) {
      socket.destroy();
      return;
    }
    // A response already under way on this connection cannot be followed by another one.
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
    if (inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const { status, message } = parserAnswer(err, opts.limits);
    answerAndClose(socket, status, message);
  });

  // Accept failures arrive as server errors; without a listener the first EMFILE would end the process.
  // libuv already sheds the connection it could not take, so the server itself only has to carry on.
  let lastLogAt = -Infinity;
  let suppressed = 0;
  server.on("error", (err: NodeJS.ErrnoException) => {
    const now = performance.now();
    if (now - lastLogAt < ACCEPT_ERROR_LOG_INTERVAL_MS) {
      suppressed++;
      return;
    }
    const fdLimit = err.code === "EMFILE" || err.code === "ENFILE";
    opts.logger.error(fdLimit ? "cannot accept connections: out of file descriptors" : "cannot accept a connection", {
      code: err.code,
      error: err.message,
      openConnections: open,
      sinceLastLog: suppressed,
      ...(fdLimit ? { hint: "raise the open-files limit (ulimit -n) or lower spec.server.maxConnections below it" } : {}),
    });
    lastLogAt = now;
    suppressed = 0;
  });

  return {
    wrap: (listener) => (req, res) => {
      if (answered.has(req.socket)) {
        // Already answered 503; read and drop what this connection sends until it closes.
        req.resume();
        return;
      }
      listener(req, res);
    },
    get open() {
      return open;
    },
  };
}

/** Status and message for an error of Node's HTTP parser or its request timer. */
export function parserAnswer(
  err: NodeJS.ErrnoException,
  limits: Pick<EndpointSpec["server"], "headersTimeoutSeconds" | "requestTimeoutSeconds">,
): { status: number; message: string } {
  switch (err.code) {
    case "HPE_HEADER_OVERFLOW":
      return { status: 431, message: `request headers are larger than ${MAX_HEADER_BYTES} bytes; send fewer or shorter headers` };
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return { status: 413, message: "chunk extensions of the request body are too large; send the body without chunk extensions" };
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return {
        status: 408,
        message: `request not received in time: the headers must arrive within ${limits.headersTimeoutSeconds} s and the whole request within ${limits.requestTimeoutSeconds} s (spec.server.headersTimeoutSeconds, requestTimeoutSeconds)`,
      };
    default: {
      // `reason` is llhttp's description of what it could not parse; it holds no request bytes.
      const reason = (err as { reason?: string }).reason;
      return { status: 400, message: `malformed HTTP request (${err.code ?? "parse error"}${reason ? `: ${reason}` : ""})` };
    }
  }
}

/** A whole HTTP/1.1 response with a JSON error body, for sockets that have no ServerResponse. */
export function rawResponse(status: number, message: string, headers: Record<string, string> = {}): string {
  const body = JSON.stringify({ error: message });
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\n` +
    `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n${extra}\r\n${body}`
  );
}
