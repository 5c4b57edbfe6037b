/**
 * What a connection may cost: header and body timeouts of seconds, a connection cap answered with 503, and
 * every answer of Node's HTTP parser (400, 408, 413, 431) in the server's own `{"error": …}` shape, counted
 * in mlops_requests_total. Raw TCP sockets, because a well-behaved client cannot send what these test.
 */
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpServerOptions } from "../../../runtime/serve/connections.js";
import { startServer, type RunningServer } from "../../../runtime/serve/main.js";
import { parseEndpointSpec, type EndpointSpecInput } from "../../../src/spec/endpoint.js";
import { fixture, sample, spec, tempRegistry } from "./helpers.js";

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Writes `chunks` to a new connection (a function gets the socket) and resolves with what comes back once the server closes it. */
function exchange(port: number, send: (s: Socket) => void, waitMs = 8000): Promise<RawResponse & { raw: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let raw = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${waitMs} ms; received so far: ${JSON.stringify(raw)}`));
    }, waitMs);
    socket.on("data", (d: Buffer) => (raw += d.toString("latin1")));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ ...parseResponse(raw), raw });
    });
    socket.on("connect", () => send(socket));
  });
}

function parseResponse(raw: string): RawResponse {
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) return { status: 0, headers: {}, body: raw };
  const [statusLine, ...lines] = raw.slice(0, end).split("\r\n");
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(":");
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(statusLine!.split(" ")[1]), headers, body: raw.slice(end + 4) };
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(server: EndpointSpecInput["server"] = {}): Promise<RunningServer> {
  const t = await tempRegistry();
  await t.registry.register("logistic", await fixture("logistic"), { alias: "champion" });
  const s = spec(t.uri, "logistic@champion", { server: { host: "127.0.0.1", ...server } });
  const running = await startServer({ ...s, server: { ...s.server, port: 0 } }, { registry: t.registry });
  cleanups.push(async () => {
    await running.stop();
    await t.cleanup();
  });
  return running;
}

describe("connection limits by default", () => {
  it("uses header and request timeouts of seconds, not Node's minutes, and a keep-alive above an ALB's 60 s", () => {
    const o = httpServerOptions(parseEndpointSpec({ name: "x", model: "m@a", registry: "file:///r" }).server);
    expect(o).toMatchObject({ headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 65_000, maxHeaderSize: 16 * 1024 });
    // Node checks the timeouts on this interval; its own 30 s default would let a 10 s limit run to 40 s.
    expect(o.connectionsCheckingInterval).toBeLessThanOrEqual(1000);
  });

  it("fails when the header timeout is longer than the whole-request timeout, naming both fields", () => {
    expect(() =>
      parseEndpointSpec({ name: "x", model: "m@a", registry: "file:///r", server: { headersTimeoutSeconds: 40, requestTimeoutSeconds: 30 } }),
    ).toThrow(/server\.headersTimeoutSeconds.*requestTimeoutSeconds/);
  });
});

describe("slow and malformed clients", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await serve({ headersTimeoutSeconds: 1, requestTimeoutSeconds: 1.5 });
  });

  it("answers headers that do not arrive in time with 408 in the JSON error shape", async () => {
    const r = await exchange(server.port, (s) => s.write("GET /v2/health/live HTTP/1.1\r\nHost: x\r\n"));
    expect(r.status).toBe(408);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(r.headers.connection).toBe("close");
    expect(JSON.parse(r.body).error).toMatch(/headers must arrive within 1 s/);
  });

  it("answers a body that does not arrive in time with 408", async () => {
    const r = await exchange(server.port, (s) =>
      s.write("POST /v2/models/logistic/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"inputs\":"),
    );
    expect(r.status).toBe(408);
    expect(JSON.parse(r.body).error).toMatch(/whole request within 1\.5 s/);
  });

  it("answers headers larger than 16 KiB with 431 in the JSON error shape", async () => {
    const r = await exchange(server.port, (s) => s.write(`GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`));
    expect(r.status).toBe(431);
    expect(JSON.parse(r.body).error).toMatch(/larger than 16384 bytes/);
  });

  it("answers a request line that is not HTTP with 400 in the JSON error shape", async () => {
    const r = await exchange(server.port, (s) => s.write("HELLO THERE\r\n\r\n"));
    expect(r.status).toBe(400);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(r.body).error).toMatch(/^malformed HTTP request \(HPE_/);
  });

  it("answers oversized chunk extensions with 413 in the JSON error shape", async () => {
    const r = await exchange(server.port, (s) =>
      s.write(`POST /v2/models/logistic/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1;${"x".repeat(20_000)}\r\n`),
    );
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body).error).toMatch(/chunk extensions/);
  });

  it("keeps serving after a client resets its connection mid-request", async () => {
    await new Promise<void>((resolve) => {
      const s = connect(server.port, "127.0.0.1", () => {
        s.write("POST /v2/models/logistic/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{");
        s.resetAndDestroy();
        resolve();
      });
      s.on("error", () => {});
    });
    expect((await fetch(`${server.url}/v2/health/live`)).status).toBe(200);
  });

  it("counts each of these answers in mlops_requests_total under route other", async () => {
    const text = await server.app.metrics.metrics();
    const counts = Object.fromEntries(["400", "408", "413", "431"].map((status) => [status, sample(text, "mlops_requests_total", { route: "other", status })]));
    expect(counts).toEqual({ "400": 1, "408": 2, "413": 1, "431": 1 });
  });
});

describe("the connection cap", () => {
  it("answers the connection over spec.server.maxConnections with 503 JSON and Connection: close, and serves again once one closes", async () => {
    const server = await serve({ maxConnections: 2 });
    const held: Socket[] = [];
    for (let i = 0; i < 2; i++) {
      held.push(await new Promise<Socket>((resolve) => {
        const s = connect(server.port, "127.0.0.1", () => resolve(s));
      }));
    }
    // Both held connections have been accepted once a request on one of them is answered.
    const first = held[0]!;
    const answered = new Promise<string>((resolve) => {
      let raw = "";
      first.on("data", (d: Buffer) => {
        raw += d.toString();
        if (raw.includes('{"live":true}')) resolve(raw);
      });
    });
    first.write("GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n");
    await answered;

    const over = await exchange(server.port, (s) => s.write("GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n"));
    expect(over.status).toBe(503);
    expect(over.headers.connection).toBe("close");
    expect(over.headers["retry-after"]).toBe("1");
    expect(JSON.parse(over.body).error).toMatch(/too many connections: this server takes 2 at once \(spec\.server\.maxConnections\)/);

    await new Promise<void>((resolve) => {
      first.once("close", () => resolve());
      first.destroy();
    });
    // The close reaches the server a moment after the client's: retry briefly until a slot is free.
    let status = 0;
    let refused = 1;
    for (let i = 0; i < 50 && status !== 200; i++) {
      const r = await exchange(server.port, (s) => s.write("GET /v2/health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
      status = r.status;
      if (status === 503) refused++;
    }
    expect(status).toBe(200);
    expect(sample(await server.app.metrics.metrics(), "mlops_requests_total", { route: "other", status: "503" })).toBe(refused);
    for (const s of held) s.destroy();
  });
});
