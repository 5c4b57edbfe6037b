import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runFromEnv, startServer, type RunningServer } from "../../../runtime/serve/main.js";
import { fixture, inferBody, rows, spec, tempRegistry } from "./helpers.js";

let t: Awaited<ReturnType<typeof tempRegistry>>;
beforeAll(async () => {
  t = await tempRegistry();
  await t.registry.register("logistic", await fixture("logistic"), { alias: "champion" });
});
afterAll(() => t.cleanup());

function start(overrides: Parameters<typeof spec>[2] = {}): Promise<RunningServer> {
  const s = spec(t.uri, "logistic@champion", { server: { host: "127.0.0.1", maxBodyBytes: 4096, drainSeconds: 5 }, ...overrides });
  // The spec allows ports 1-65535; tests pass 0 through a copy to get a free one.
  return startServer({ ...s, server: { ...s.server, port: 0 } });
}

/** A POST whose body is held back after `head` bytes until `finish()` is called. */
function heldPost(url: string, body: string, head: number, headers: Record<string, string> = {}) {
  let finish!: () => void;
  const done = new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = request(`${url}/v2/models/logistic/infer`, { method: "POST", headers }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    req.write(body.slice(0, head));
    finish = () => req.end(body.slice(head));
  });
  return { done, finish: () => finish() };
}

describe("startServer", () => {
  it("listens on the port it reports and answers over HTTP", async () => {
    const server = await start();
    try {
      expect(server.port).toBeGreaterThan(0);
      expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
      const ready = await fetch(`${server.url}/v2/health/ready`);
      const r = await fetch(`${server.url}/v2/models/logistic/infer`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(inferBody(rows(2))) });
      expect([ready.status, r.status]).toEqual([200, 200]);
      expect(((await r.json()) as { outputs: { shape: number[] }[] }).outputs[0]!.shape).toEqual([2, 1]);
    } finally {
      await server.stop();
    }
  });

  it("fails with 413 when a chunked body without Content-Length grows past the limit", async () => {
    const server = await start();
    try {
      const big = JSON.stringify(inferBody(rows(60)));
      const held = heldPost(server.url, big, 1000, { "transfer-encoding": "chunked" });
      held.finish();
      const r = await held.done;
      expect(r.status).toBe(413);
      expect(JSON.parse(r.body).error).toMatch(/limit is 4096 bytes/);
    } finally {
      await server.stop();
    }
  });

  it("answers a request in flight during stop(), with Connection: close, then refuses new ones", async () => {
    const server = await start();
    const body = JSON.stringify(inferBody(rows(1)));
    const held = heldPost(server.url, body, 50, { "content-length": String(body.length) });
    await new Promise((r) => setTimeout(r, 50));
    const stopped = server.stop();
    expect(server.app.ready).toBe(false);
    held.finish();
    const r = await held.done;
    await stopped;
    expect(r.status).toBe(200);
    expect(r.headers.connection).toBe("close");
    await expect(fetch(`${server.url}/v2/health/live`)).rejects.toThrow();
  });

  it("cuts off connections still open after drainSeconds", async () => {
    const server = await start({ server: { host: "127.0.0.1", drainSeconds: 0.2 } });
    const body = JSON.stringify(inferBody(rows(1)));
    const held = heldPost(server.url, body, 50, { "content-length": String(body.length) });
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await server.stop();
    expect(Date.now() - started).toBeLessThan(2000);
    await expect(held.done).rejects.toThrow();
  });

  it("fails with a message naming the port when it is taken", async () => {
    const first = await start();
    try {
      const s = spec(t.uri, "logistic@champion", { server: { host: "127.0.0.1", port: first.port } });
      await expect(startServer(s)).rejects.toThrow(/server\.port: cannot listen \(EADDRINUSE\)/);
    } finally {
      await first.stop();
    }
  });
});

describe("runFromEnv", () => {
  it("fails naming the field when MLOPS_ENDPOINT_SPEC is invalid", async () => {
    const env = { MLOPS_ENDPOINT_SPEC: JSON.stringify({ name: "x", model: "logistic", registry: t.uri }) };
    await expect(runFromEnv(env)).rejects.toThrow(/model.*"<name>@<alias>"/);
  });

  it("fails when auth is enabled and MLOPS_AUTH_TOKEN is empty", async () => {
    const env = { MLOPS_ENDPOINT_SPEC: JSON.stringify({ name: "x", model: "logistic@champion", registry: t.uri, auth: { enabled: true } }) };
    await expect(runFromEnv(env)).rejects.toThrow(/MLOPS_AUTH_TOKEN/);
  });
});
