import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFor, inferBody, rows } from "./helpers.js";

const TOKEN = "s3cret-token";

describe("bearer-token auth", () => {
  let h: Awaited<ReturnType<typeof appFor>>;
  beforeAll(async () => {
    h = await appFor("logistic", { authToken: TOKEN, spec: { auth: { enabled: true } } });
  });
  afterAll(() => h.cleanup());

  const call = (headers: Record<string, string>, url = "/v2/models/logistic/infer", method = "POST") =>
    h.app.inject({ method, url, headers, ...(method === "POST" ? { body: inferBody(rows(1)) } : {}) });

  it("fails with 401 when the token is missing", async () => {
    const r = await call({});
    expect(r.status).toBe(401);
    expect(r.headers["www-authenticate"]).toMatch(/^Bearer/);
    expect(r.json().error).toMatch(/Authorization: Bearer/);
  });

  it("fails with 401 when the token is wrong", async () => {
    expect((await call({ authorization: "Bearer s3cret-tokeN" })).status).toBe(401);
  });

  it("fails with 401 when the scheme is not Bearer", async () => {
    expect((await call({ authorization: `Basic ${TOKEN}` })).status).toBe(401);
  });

  it("fails with 401 on model metadata and server metadata without the token", async () => {
    const model = await call({}, "/v2/models/logistic", "GET");
    const server = await call({}, "/v2", "GET");
    expect([model.status, server.status]).toEqual([401, 401]);
  });

  it("answers 200 with the right token", async () => {
    const r = await call({ authorization: `Bearer ${TOKEN}` });
    expect(r.status).toBe(200);
  });

  it("leaves the health probes and /metrics open", async () => {
    const paths = ["/v2/health/live", "/v2/health/ready", "/metrics"];
    const statuses = await Promise.all(paths.map((url) => h.app.inject({ method: "GET", url }).then((r) => r.status)));
    expect(statuses).toEqual([200, 200, 200]);
  });
});
