import { describe, expect, it } from "vitest";
import { buildApp } from "../../../runtime/serve/app.js";
import type { ModelSource } from "../../../runtime/serve/holder.js";
import { fixture, infer, inferBody, rows, sleep, spec, tempRegistry, waitFor } from "./helpers.js";

const POLL = 0.05;

async function twoVersions() {
  const t = await tempRegistry();
  await t.registry.register("logistic", await fixture("logistic"), { alias: "champion" });
  await t.registry.register("logistic", await fixture("logistic_v2"));
  return t;
}

describe("alias following", () => {
  it("moves from v1 to v2 under load with zero failed requests", async () => {
    const t = await twoVersions();
    const app = await buildApp({ spec: spec(t.uri, "logistic@champion", { pollIntervalSeconds: POLL }), registry: t.registry });
    const pinned2 = await buildApp({ spec: spec(t.uri, "logistic:2"), registry: t.registry });
    try {
      const bodies = Array.from({ length: 8 }, (_, w) => inferBody(rows(1, 30, w + 100)));
      const expected = { "1": [] as unknown[], "2": [] as unknown[] };
      for (const b of bodies) {
        expected["1"].push((await infer(app, "logistic", b)).json().outputs);
        expected["2"].push((await infer(pinned2, "logistic", b)).json().outputs);
      }
      expect(expected["1"]).not.toEqual(expected["2"]);

      const seen: { status: number; version: string; ok: boolean }[] = [];
      let moved = false;
      let v2After = 0;
      const deadline = Date.now() + 15_000;
      const worker = async (w: number) => {
        while (v2After < 100 && Date.now() < deadline) {
          const r = await infer(app, "logistic", bodies[w]!);
          const version = r.status === 200 ? (r.json().model_version as "1" | "2") : "?";
          const ok = r.status === 200 && JSON.stringify(r.json().outputs) === JSON.stringify(expected[version as "1" | "2"][w]);
          seen.push({ status: r.status, version, ok });
          if (moved && version === "2") v2After++;
        }
      };
      const load = Promise.all(bodies.map((_, w) => worker(w)));
      await sleep(100);
      await t.registry.setAlias("logistic", "champion", 2);
      moved = true;
      await load;

      expect(seen.filter((s) => s.status !== 200)).toEqual([]);
      expect(seen.filter((s) => !s.ok)).toEqual([]);
      expect(seen.some((s) => s.version === "1")).toBe(true);
      expect(seen.slice(-20).map((s) => s.version)).toEqual(Array(20).fill("2"));
    } finally {
      await app.close();
      await pinned2.close();
      await t.cleanup();
    }
  });

  it("answers /versions/{old} with 404 naming the version now loaded", async () => {
    const t = await twoVersions();
    const app = await buildApp({ spec: spec(t.uri, "logistic@champion", { pollIntervalSeconds: POLL }), registry: t.registry });
    try {
      await t.registry.setAlias("logistic", "champion", 2);
      await waitFor(async () => (await app.inject({ method: "GET", url: "/v2/models/logistic" })).json().versions[0] === "2");
      const r = await infer(app, "logistic", inferBody(rows(1)), "1");
      expect(r.status).toBe(404);
      expect(r.json().error).toMatch(/version 2 loaded/);
      expect((await infer(app, "logistic", inferBody(rows(1)), "2")).status).toBe(200);
    } finally {
      await app.close();
      await t.cleanup();
    }
  });

  it("updates the model info gauge to the new version only", async () => {
    const t = await twoVersions();
    const app = await buildApp({ spec: spec(t.uri, "logistic@champion", { pollIntervalSeconds: POLL }), registry: t.registry });
    try {
      await t.registry.setAlias("logistic", "champion", 2);
      await waitFor(async () => (await app.metrics.metrics()).includes('mlops_model_info{model="logistic",version="2"'));
      expect(await app.metrics.metrics()).not.toContain('mlops_model_info{model="logistic",version="1"');
    } finally {
      await app.close();
      await t.cleanup();
    }
  });

  it("stays on a pinned version when the alias moves", async () => {
    const t = await twoVersions();
    const app = await buildApp({ spec: spec(t.uri, "logistic:1", { pollIntervalSeconds: POLL }), registry: t.registry });
    try {
      await t.registry.setAlias("logistic", "champion", 2);
      await sleep(POLL * 1000 * 5);
      expect((await infer(app, "logistic", inferBody(rows(1)))).json().model_version).toBe("1");
    } finally {
      await app.close();
      await t.cleanup();
    }
  });

  it("keeps serving the loaded version when the registry cannot be read", async () => {
    const t = await twoVersions();
    let failing = false;
    const flaky: ModelSource = {
      resolve: (ref) => (failing ? Promise.reject(new Error("registry unreachable")) : t.registry.resolve(ref)),
      readArtifact: (mv) => t.registry.readArtifact(mv),
    };
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (m: string) => void warnings.push(m), child: () => logger };
    const app = await buildApp({ spec: spec(t.uri, "logistic@champion", { pollIntervalSeconds: POLL }), registry: flaky, logger });
    try {
      failing = true;
      await waitFor(async () => warnings.length > 0);
      const r = await infer(app, "logistic", inferBody(rows(1)));
      expect([r.status, r.json().model_version]).toEqual([200, "1"]);
      expect(warnings[0]).toMatch(/still serving/);
    } finally {
      await app.close();
      await t.cleanup();
    }
  });

  it("fails to build when the alias does not exist", async () => {
    const t = await twoVersions();
    try {
      await expect(buildApp({ spec: spec(t.uri, "logistic@nope"), registry: t.registry })).rejects.toThrow(/nope/);
    } finally {
      await t.cleanup();
    }
  });
});
