/**
 * What a client without the token learns: nothing about the registry. The probes and the 503s of a server
 * whose model is not loaded yet say "model not loaded yet" and a reason code; the registry's own words (its
 * URI, the other models it holds) go to the log, and to authenticated model routes when a token is set.
 * And the bearer scheme is matched as RFC 7235 says: case-insensitively.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Logger } from "../../../src/log.js";
import { startServer, type RunningServer } from "../../../runtime/serve/main.js";
import { appFor, fixture, inferBody, rows, spec, tempRegistry, waitFor } from "./helpers.js";

const FAST_RETRY = { initialDelayMs: 20, maxDelayMs: 80 };
const TOKEN = "s3cret-token";

/** A registry holding `secret-project` but not the served `logistic`, and a server for `logistic@champion`. */
async function serveMissing(authToken?: string) {
  const t = await tempRegistry();
  await t.registry.register("secret-project", await fixture("logistic"), { alias: "champion" });
  const warnings: Record<string, unknown>[] = [];
  const logger: Logger = { debug() {}, info() {}, error() {}, warn: (_m, f = {}) => void warnings.push(f), child: () => logger };
  const s = spec(t.uri, "logistic@champion", { server: { host: "127.0.0.1" }, ...(authToken ? { auth: { enabled: true } } : {}) });
  const server = await startServer(
    { ...s, server: { ...s.server, port: 0 } },
    { registry: t.registry, waitForModel: false, loadRetry: FAST_RETRY, logger, ...(authToken ? { authToken } : {}) },
  );
  await waitFor(() => warnings.length > 0);
  return { server, t, warnings };
}

const open: { server: RunningServer; cleanup(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.server.stop();
    await o.cleanup();
  }
});

describe("a server whose model is not loaded yet, asked without a token", () => {
  it("answers ready, rollout and the model routes without the registry URI, the model reference or other models' names", async () => {
    const { server, t, warnings } = await serveMissing();
    open.push({ server, cleanup: t.cleanup });
    const paths = ["/v2/health/ready", "/v2/health/rollout", "/v2/models/logistic/ready", "/v2/models/logistic"];
    for (const path of paths) {
      const r = await fetch(server.url + path);
      const text = await r.text();
      expect(text, path).not.toContain(t.dir);
      expect(text, path).not.toContain("secret-project");
      expect(text, path).not.toContain("logistic@champion");
      expect(JSON.parse(text), path).toMatchObject({ error: "model not loaded yet", reason: "not_found" });
    }
    // The details are in the log.
    expect(String(warnings[0]!.error)).toContain("secret-project");
  });
});

describe("a server with a token whose model is not loaded yet", () => {
  it("keeps the probes terse and tells an authenticated model route what the registry said", async () => {
    const { server, t } = await serveMissing(TOKEN);
    open.push({ server, cleanup: t.cleanup });
    const probe = await (await fetch(`${server.url}/v2/health/ready`)).text();
    expect(probe).not.toContain("secret-project");
    const anonymous = await fetch(`${server.url}/v2/models/logistic/ready`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).not.toContain("secret-project");
    const authed = await fetch(`${server.url}/v2/models/logistic/ready`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = (await authed.json()) as { error: string; reason: string };
    expect(authed.status).toBe(503);
    expect(body.reason).toBe("not_found");
    expect(body.error).toMatch(/^model logistic@champion is not loaded yet: attempt \d+ failed \(not_found: .*secret-project/);
  });
});

describe("the bearer scheme", () => {
  let h: Awaited<ReturnType<typeof appFor>>;
  beforeAll(async () => {
    h = await appFor("logistic", { authToken: TOKEN, spec: { auth: { enabled: true } } });
  });
  afterAll(() => h.cleanup());
  const withAuth = (authorization: string) =>
    h.app.inject({ method: "POST", url: "/v2/models/logistic/infer", headers: { authorization, "content-type": "application/json" }, body: inferBody(rows(1)) });

  it("is matched in any case (RFC 7235)", async () => {
    const statuses = await Promise.all(["bearer", "BEARER", "BeArEr", "Bearer"].map(async (scheme) => (await withAuth(`${scheme} ${TOKEN}`)).status));
    expect(statuses).toEqual([200, 200, 200, 200]);
  });

  it("allows extra spaces around and between the scheme and the token", async () => {
    const statuses = await Promise.all([`Bearer   ${TOKEN}`, ` Bearer ${TOKEN} `, `Bearer\t${TOKEN}`].map(async (h) => (await withAuth(h)).status));
    expect(statuses).toEqual([200, 200, 200]);
  });

  it("fails with 401 for a wrong token, a token with a different case, extra words, or another scheme", async () => {
    const headers = [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.toUpperCase()}`, `Bearer ${TOKEN} extra`, `Basic ${TOKEN}`, `Bearer`, `${TOKEN}`, ""];
    const statuses = await Promise.all(headers.map(async (h) => (await withAuth(h)).status));
    expect(statuses).toEqual(headers.map(() => 401));
  });
});
