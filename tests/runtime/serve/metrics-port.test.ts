/**
 * `/metrics` that cannot be used to saturate the server (one render per interval, shared by concurrent
 * scrapes), optionally on a port of its own, and `mlops_requests_total` counting every response with label
 * values from a fixed set, whatever paths and model names clients send.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { buildApp, type ServeApp } from "../../../runtime/serve/app.js";
import { ROUTES } from "../../../runtime/serve/metrics.js";
import { startServer } from "../../../runtime/serve/main.js";
import { appFor, fixture, infer, inferBody, rows, sample, spec, tempRegistry } from "./helpers.js";

/** Every label set of `name` in the exposition text. */
function series(text: string, name: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const m of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} `, "gm"))) {
    out.push(Object.fromEntries([...m[1]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => [k!, v!])));
  }
  return out;
}

describe("rendering /metrics", () => {
  it("renders once for many concurrent scrapes, which all get the same text", async () => {
    const h = await appFor("logistic");
    try {
      const render = vi.spyOn(h.app.metrics, "metrics");
      const replies = await Promise.all(Array.from({ length: 50 }, () => h.app.inject({ method: "GET", url: "/metrics" })));
      expect(replies.map((r) => r.status)).toEqual(replies.map(() => 200));
      expect(new Set(replies.map((r) => r.body)).size).toBe(1);
      expect(render).toHaveBeenCalledTimes(1);
    } finally {
      await h.cleanup();
    }
  });

  it("serves scrapes within metricsMaxAgeMs from the text already rendered, and renders again after", async () => {
    const t = await tempRegistry();
    await t.registry.register("logistic", await fixture("logistic"), { alias: "champion" });
    const app = await buildApp({ spec: spec(t.uri, "logistic@champion"), registry: t.registry, metricsMaxAgeMs: 200 });
    try {
      const render = vi.spyOn(app.metrics, "metrics");
      for (let i = 0; i < 20; i++) await app.inject({ method: "GET", url: "/metrics" });
      expect(render).toHaveBeenCalledTimes(1);
      await new Promise((r) => setTimeout(r, 250));
      const fresh = await app.inject({ method: "GET", url: "/metrics" });
      expect(render).toHaveBeenCalledTimes(2);
      // The new text counts the scrapes answered from the cache.
      expect(sample(fresh.body, "mlops_requests_total", { route: "metrics", status: "200" })).toBe(20);
    } finally {
      await app.close();
      await t.cleanup();
    }
  });
});

describe("mlops_requests_total", () => {
  let h: Awaited<ReturnType<typeof appFor>>;
  let text: string;
  beforeAll(async () => {
    h = await appFor("logistic", { authToken: "tok", spec: { auth: { enabled: true } } });
    const auth = { authorization: "Bearer tok" };
    const app: ServeApp = h.app;
    await app.inject({ method: "POST", url: "/v2/models/logistic/infer", headers: { "content-type": "application/json" }, body: inferBody(rows(1)) }); // 401
    await app.inject({ method: "GET", url: "/v2/health/live" }); // 200 live
    await app.inject({ method: "POST", url: "/v2/health/ready", body: "{}" }); // 405 ready
    await app.inject({ method: "GET", url: "/v2/models/logistic", headers: auth }); // 200 model_metadata
    await app.inject({ method: "GET", url: "/v2/models/logistic/infer", headers: auth }); // 405 infer
    await app.inject({ method: "POST", url: "/v2/models/logistic/infer", headers: { ...auth, "content-type": "text/plain" }, body: "x" }); // 415 infer
    await app.inject({ method: "POST", url: "/v2/models/logistic/infer", headers: { ...auth, "content-type": "application/json", "content-length": String(64 << 20) }, body: "{}" }); // 413 infer
    await infer(app, "logistic", "not json"); // 401: no token
    for (let i = 0; i < 1000; i++) {
      await app.inject({ method: "GET", url: `/random-${i}/${"x".repeat(i % 7)}` }); // 404 other
      await app.inject({ method: "GET", url: `/v2/models/model-${i}/ready`, headers: auth }); // 404 model_ready, not served here
    }
    text = (await app.inject({ method: "GET", url: "/metrics" })).body;
  }, 60_000);
  afterAll(() => h.cleanup());

  it("counts 401, 404, 405, 413 and 415 answers, by route", () => {
    const count = (route: string, status: string, model?: string) => sample(text, "mlops_requests_total", { route, status, ...(model !== undefined ? { model } : {}) });
    expect(count("other", "401")).toBe(2);
    expect(count("ready", "405")).toBe(1);
    expect(count("infer", "405")).toBe(1);
    expect(count("infer", "415", "logistic")).toBe(1);
    expect(count("infer", "413", "logistic")).toBe(1);
    expect(count("model_metadata", "200", "logistic")).toBe(1);
    expect(count("live", "200")).toBe(1);
    expect(count("other", "404")).toBe(1000);
    expect(count("model_ready", "404", "")).toBe(1000);
  });

  it("keeps label values to a fixed set after 1000 random paths and model names", () => {
    const all = series(text, "mlops_requests_total");
    expect(new Set(all.map((s) => s.route)).size).toBeLessThanOrEqual(ROUTES.length);
    expect(all.every((s) => (ROUTES as readonly string[]).includes(s.route!))).toBe(true);
    expect([...new Set(all.map((s) => s.model))].sort()).toEqual(["", "logistic"]);
    expect(all.length).toBeLessThan(40);
    expect(text).not.toMatch(/random-|model-\d/);
  });
});

describe("/metrics on a port of its own (spec.server.metricsPort)", () => {
  it("serves /metrics only there, and the model only on the main port", async () => {
    const t = await tempRegistry();
    await t.registry.register("logistic", await fixture("logistic"), { alias: "champion" });
    const s = spec(t.uri, "logistic@champion", { server: { host: "127.0.0.1", metricsPort: 0 } });
    const server = await startServer({ ...s, server: { ...s.server, port: 0 } }, { registry: t.registry });
    try {
      expect(server.metricsUrl).toBeDefined();
      expect(server.metricsUrl).not.toBe(server.url);
      const onMetrics = await fetch(`${server.metricsUrl}/metrics`);
      expect(onMetrics.status).toBe(200);
      expect(await onMetrics.text()).toMatch(/^mlops_requests_total/m);
      const onMain = await fetch(`${server.url}/metrics`);
      expect(onMain.status).toBe(404);
      expect(((await onMain.json()) as { error: string }).error).toMatch(/metrics port/);
      const modelOnMetricsPort = await fetch(`${server.metricsUrl}/v2/models/logistic`);
      expect(modelOnMetricsPort.status).toBe(404);
      expect((await fetch(`${server.url}/v2/models/logistic`)).status).toBe(200);
    } finally {
      await server.stop();
      await t.cleanup();
    }
  });

  it("fails when metricsPort is the serving port, naming the field", async () => {
    const t = await tempRegistry();
    try {
      expect(() => spec(t.uri, "logistic@champion", { server: { port: 9000, metricsPort: 9000 } })).toThrow(/server\.metricsPort.*same as port/);
    } finally {
      await t.cleanup();
    }
  });
});
