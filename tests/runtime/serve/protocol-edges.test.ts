// How real clients speak to the server beyond plain JSON: compressed bodies (tritonclient's
// request_compression_algorithm), HEAD probes, `/v2/` with its slash, and bodies that are not JSON.
import { gzipSync, deflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../../../runtime/serve/main.js";
import { fixture, inferBody, rows, spec, tempRegistry } from "./helpers.js";

let t: Awaited<ReturnType<typeof tempRegistry>>;
let server: RunningServer;
beforeAll(async () => {
  t = await tempRegistry();
  await t.registry.register("logistic", await fixture("logistic"), { alias: "champion" });
  const s = spec(t.uri, "logistic@champion", { server: { host: "127.0.0.1", maxBodyBytes: 64 * 1024, drainSeconds: 1 } });
  server = await startServer({ ...s, server: { ...s.server, port: 0 } });
  await server.loaded;
});
afterAll(async () => {
  await server.stop();
  await t.cleanup();
});

const json = JSON.stringify(inferBody(rows(2)));
const post = (body: Buffer | string, headers: Record<string, string>) =>
  fetch(`${server.url}/v2/models/logistic/infer`, { method: "POST", body, headers });

describe("compressed request bodies", () => {
  it("answers a gzip body as the same JSON body", async () => {
    const plain = await (await post(json, { "content-type": "application/json" })).json();
    const r = await post(gzipSync(json), { "content-type": "application/json", "content-encoding": "gzip" });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual(plain);
  });

  it("answers a deflate body (zlib, as tritonclient sends it)", async () => {
    const r = await post(deflateSync(json), { "content-type": "application/json", "content-encoding": "deflate" });
    expect(r.status).toBe(200);
  });

  it("fails with 415 for an encoding it does not read", async () => {
    const r = await post(json, { "content-type": "application/json", "content-encoding": "br" });
    expect(r.status).toBe(415);
    expect(((await r.json()) as { error: string }).error).toMatch(/Content-Encoding "br" is not supported/);
  });

  it("fails with 400 when the body is not what its encoding says", async () => {
    const r = await post(json, { "content-type": "application/json", "content-encoding": "gzip" });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toMatch(/not valid gzip data/);
  });

  it("fails with 413 when the body inflates past the limit", async () => {
    const bomb = gzipSync(Buffer.alloc(1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const r = await post(bomb, { "content-type": "application/json", "content-encoding": "gzip" });
    expect(r.status).toBe(413);
    expect(((await r.json()) as { error: string }).error).toMatch(/inflates to more than 65536 bytes/);
  });
});

describe("content types", () => {
  it("fails with 415 for a form or text post, which a browser may send cross-site", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const r = await post(json, { "content-type": type });
      expect(r.status).toBe(415);
      expect(((await r.json()) as { error: string }).error).toMatch(/infer takes a JSON body/);
    }
  });

  it("accepts application/json with a charset", async () => {
    expect((await post(json, { "content-type": "application/json; charset=utf-8" })).status).toBe(200);
  });
});

describe("paths and methods", () => {
  it("answers GET /v2/ like /v2", async () => {
    const a = await (await fetch(`${server.url}/v2`)).json();
    const r = await fetch(`${server.url}/v2/`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual(a);
  });

  it.each(["/v2/health/live", "/v2/health/ready", "/v2", "/v2/models/logistic", "/v2/models/logistic/ready"])("answers HEAD %s with GET's status and no body", async (path) => {
    const get = await fetch(`${server.url}${path}`);
    const head = await fetch(`${server.url}${path}`, { method: "HEAD" });
    expect(head.status).toBe(get.status);
    expect(head.headers.get("content-type")).toMatch(/application\/json/);
    expect(await head.text()).toBe("");
  });
});
