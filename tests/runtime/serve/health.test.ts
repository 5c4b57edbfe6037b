import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFor } from "./helpers.js";

describe("health: GET /v2/health/live and /v2/health/ready", () => {
  let h: Awaited<ReturnType<typeof appFor>>;
  beforeAll(async () => {
    h = await appFor("logistic");
  });
  afterAll(() => h.cleanup());

  it("answers live with 200", async () => {
    const r = await h.app.inject({ method: "GET", url: "/v2/health/live" });
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ live: true });
  });

  it("answers ready with 200 once the model is loaded", async () => {
    const r = await h.app.inject({ method: "GET", url: "/v2/health/ready" });
    expect(r.status).toBe(200);
    expect(h.app.ready).toBe(true);
  });

  it("ignores a query string", async () => {
    const r = await h.app.inject({ method: "GET", url: "/v2/health/ready?probe=kubelet" });
    expect(r.status).toBe(200);
  });

  it("fails with 405 when a probe is POSTed", async () => {
    const r = await h.app.inject({ method: "POST", url: "/v2/health/live", body: "{}" });
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe("GET");
    expect(r.json().error).toMatch(/GET/);
  });

  it("fails with 404 and the list of paths for an unknown path", async () => {
    const r = await h.app.inject({ method: "GET", url: "/v1/models/x:predict" });
    expect(r.status).toBe(404);
    expect(r.json().error).toMatch(/\/v2\/health\/ready/);
  });
});

describe("health while draining", () => {
  it("answers ready and model ready with 503, live with 200, and closes connections", async () => {
    const h = await appFor("logistic");
    try {
      h.app.startDraining();
      const ready = await h.app.inject({ method: "GET", url: "/v2/health/ready" });
      const modelReady = await h.app.inject({ method: "GET", url: "/v2/models/logistic/ready" });
      const live = await h.app.inject({ method: "GET", url: "/v2/health/live" });
      expect([ready.status, modelReady.status, live.status]).toEqual([503, 503, 200]);
      expect(h.app.ready).toBe(false);
      expect(live.headers.connection).toBe("close");
    } finally {
      await h.cleanup();
    }
  });
});
