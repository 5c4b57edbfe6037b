/**
 * Running one request through a `node:http` request listener in-process, without a socket (tests,
 * embedding): a stream for the request, and a response stand-in that records what the handler writes.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { PassThrough } from "node:stream";

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
  /** The body as UTF-8 text. */
  readonly body: string;
  /** The body's bytes (binary tensor data, compressed answers). */
  readonly rawBody: Buffer;
  json(): any;
}

/** Sends `opts` to `listener` and resolves with what it answered. */
export function inject(listener: (req: IncomingMessage, res: ServerResponse) => void, opts: InjectOptions): Promise<InjectResponse> {
  const body = opts.body === undefined ? "" : typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k.toLowerCase()] = v;
  if (body && headers["content-length"] === undefined) headers["content-length"] = String(Buffer.byteLength(body));
  const req = Object.assign(new PassThrough(), { method: opts.method, url: opts.url, headers });
  return new Promise<InjectResponse>((resolve) => {
    let status = 0;
    let resHeaders: Record<string, string> = {};
    const onClose: (() => void)[] = [];
    const res = {
      headersSent: false,
      writeHead(code: number, h: Record<string, string | number>) {
        status = code;
        resHeaders = Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), String(v)]));
        this.headersSent = true;
      },
      end(data: string | Buffer = "") {
        const rawBody = typeof data === "string" ? Buffer.from(data) : data;
        const text = typeof data === "string" ? data : data.toString();
        resolve({ status, headers: resHeaders, body: text, rawBody, json: () => JSON.parse(text) });
        // A real response emits "close" once it is written; handlers release what they hold on it.
        for (const f of onClose.splice(0)) f();
      },
      on(event: string, f: () => void) {
        if (event === "close") onClose.push(f);
        return this;
      },
      once(event: string, f: () => void) {
        return this.on(event, f);
      },
    };
    listener(req as unknown as IncomingMessage, res as unknown as ServerResponse);
    req.end(body);
  });
}
