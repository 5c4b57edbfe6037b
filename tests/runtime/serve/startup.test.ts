/**
 * Starting before the model exists: the server listens at once, answers live 200 and ready/infer 503
 * naming why, retries the load with back-off, and becomes ready without a restart.
 */
import { readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { NotFoundError } from "../../../src/errors.js";
import type { Logger } from "../../../src/log.js";
import type { ModelSource } from "../../../runtime/serve/holder.js";
import { startServer, type RunningServer, type StartOptions } from "../../../runtime/serve/main.js";
import { fixture, inferBody, rows, sample, sleep, spec, tempRegistry, waitFor } from "./helpers.js";

const FAST_RETRY = { initialDelayMs: 20, maxDelayMs: 80 };

interface Logged {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

function recordingLogger(into: Logged[]): Logger {
  const at = (level: string) => (msg: string, fields: Record<string, unknown> = {}) => void into.push({ level, msg, fields });
  const logger: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error"), child: () => logger };
  return logger;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A server on a free port for `ref` in a fresh temp registry, not waiting for the model. */
async function startEarly(ref = "logistic@champion", opts: StartOptions = {}) {
  const t = await tempRegistry();
  cleanups.push(t.cleanup);
  const logs: Logged[] = [];
  const s = spec(t.uri, ref, { server: { host: "127.0.0.1" }, pollIntervalSeconds: 0.05 });
  const server = await startServer(
    { ...s, server: { ...s.server, port: 0 } },
    { registry: t.registry, waitForModel: false, loadRetry: FAST_RETRY, logger: recordingLogger(logs), ...opts },
  );
  cleanups.push(() => server.stop());
  return { server, registry: t.registry, dir: t.dir, logs };
}

const get = (server: RunningServer, path: string) => fetch(server.url + path);
const post = (server: RunningServer) => fetch(`${server.url}/v2/models/logistic/infer`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(inferBody(rows(1))) });
const failures = (logs: Logged[]) => logs.filter((l) => l.msg === "model not loaded; will retry");

describe("starting before the model is registered", () => {
  it("answers live with 200 while the model is not loaded", async () => {
    const { server } = await startEarly();
    const r = await get(server, "/v2/health/live");
    expect(r.status).toBe(200);
  });

  // What the registry said (its URI, the models it holds) is in the log only: see leak.test.ts.
  it("answers ready with 503, the reason code and Retry-After", async () => {
    const { server, logs } = await startEarly();
    await waitFor(() => failures(logs).length > 0);
    const r = await get(server, "/v2/health/ready");
    const body = (await r.json()) as { ready: boolean; error: string };
    expect(r.status).toBe(503);
    expect(body).toEqual({ ready: false, error: "model not loaded yet", reason: "not_found" });
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(String(failures(logs)[0]!.fields.error)).toMatch(/logistic/);
  });

  it("answers infer, model ready and model metadata with 503 and Retry-After", async () => {
    const { server } = await startEarly();
    const responses = [await post(server), await get(server, "/v2/models/logistic/ready"), await get(server, "/v2/models/logistic")];
    expect(responses.map((r) => r.status)).toEqual([503, 503, 503]);
    expect(responses.map((r) => Number(r.headers.get("retry-after")))).toEqual([expect.any(Number), expect.any(Number), expect.any(Number)]);
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as { error: string; ready?: boolean }[];
    expect(bodies.every((b) => b.error === "model not loaded yet")).toBe(true);
    expect(bodies[1]).toMatchObject({ name: "logistic", ready: false });
  });

  it("still answers 404 for a model it does not serve", async () => {
    const { server } = await startEarly();
    const r = await get(server, "/v2/models/other/ready");
    expect(r.status).toBe(404);
  });

  it("becomes ready without a restart once the model is registered and aliased", async () => {
    const { server, registry, logs } = await startEarly();
    await waitFor(() => failures(logs).length >= 2);
    expect(server.app.ready).toBe(false);
    await registry.register("logistic", await fixture("logistic"));
    await registry.setAlias("logistic", "champion", 1);
    await waitFor(() => server.app.ready);
    const [ready, infer] = [await get(server, "/v2/health/ready"), await post(server)];
    expect([ready.status, infer.status]).toEqual([200, 200]);
    expect(((await infer.json()) as { model_version: string }).model_version).toBe("1");
  });

  it("follows the alias after the first load as it does when started with the model", async () => {
    const { server, registry } = await startEarly();
    await registry.register("logistic", await fixture("logistic"), { alias: "champion" });
    await waitFor(() => server.app.ready);
    await registry.register("logistic", await fixture("logistic_v2"), { alias: "champion" });
    await waitFor(async () => ((await (await post(server)).json()) as { model_version: string }).model_version === "2");
  });

  it("counts each failed attempt in mlops_model_load_failures_total by reason", async () => {
    const { server, logs } = await startEarly();
    await waitFor(() => failures(logs).length >= 3);
    await server.stop();
    const text = await server.app.metrics.metrics();
    expect(sample(text, "mlops_model_load_failures_total", { model: "logistic", reason: "not_found" })).toBe(failures(logs).length);
    expect(sample(text, "mlops_model_load_failures_total", { model: "logistic", reason: "access_denied" })).toBe(0);
  });

  it("logs each failed attempt once, with its reason, and backs off between them", async () => {
    const { logs } = await startEarly();
    await waitFor(() => failures(logs).length >= 4);
    expect(failures(logs).slice(0, 4).map((l) => [l.level, l.fields.attempt, l.fields.reason])).toEqual([1, 2, 3, 4].map((n) => ["warn", n, "not_found"]));
    const f = failures(logs).slice(0, 4).map((l) => l.fields);
    expect(f.every((x) => /logistic/.test(String(x.error)))).toBe(true);
    const waits = f.map((x) => x.retryInSeconds as number);
    expect(waits[0]).toBeLessThanOrEqual(0.02);
    expect(waits[3]).toBeLessThanOrEqual(0.08);
    expect(waits[2]).toBeGreaterThan(waits[0]!);
  });

  it("stops retrying once stopped", async () => {
    const { server, logs } = await startEarly();
    await waitFor(() => failures(logs).length >= 1);
    await server.stop();
    await expect(server.loaded).rejects.toThrow(/closed before model logistic@champion was loaded/);
    const after = failures(logs).length;
    await sleep(200);
    expect(failures(logs).length).toBe(after);
  });
});

describe("the rollout probe (GET /v2/health/rollout, what the Deployment's readiness probe reads)", () => {
  const deniedSource: ModelSource = {
    resolve: () => Promise.reject(Object.assign(new Error("Access Denied"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } })),
    readArtifact: () => Promise.reject(new Error("unreachable")),
  };

  it("answers 200 with awaitingModel while the registry has no such model, and ready stays 503", async () => {
    const { server, logs } = await startEarly();
    await waitFor(() => failures(logs).length > 0);
    const [rollout, ready] = [await get(server, "/v2/health/rollout"), await get(server, "/v2/health/ready")];
    expect([rollout.status, ready.status]).toEqual([200, 503]);
    const body = (await rollout.json()) as { ready: boolean; awaitingModel: boolean; error: string };
    expect(body).toMatchObject({ ready: false, awaitingModel: true, reason: "not_found" });
  });

  it("answers 200 without awaitingModel once the model is loaded", async () => {
    const { server, registry } = await startEarly();
    await registry.register("logistic", await fixture("logistic"), { alias: "champion" });
    await waitFor(() => server.app.ready);
    const r = await get(server, "/v2/health/rollout");
    expect([r.status, await r.json()]).toEqual([200, { ready: true }]);
  });

  it("answers 503 while the registry refuses access", async () => {
    const { server, logs } = await startEarly("logistic@champion", { registry: deniedSource });
    await waitFor(() => failures(logs).length > 0);
    const r = await get(server, "/v2/health/rollout");
    expect(r.status).toBe(503);
    expect(((await r.json()) as { reason: string }).reason).toBe("access_denied");
  });

  it("answers 503 while the version is found but its artifact is missing", async () => {
    const source: ModelSource = {
      resolve: async () => ({ name: "logistic", version: 1, digest: "sha256:00" }) as never,
      readArtifact: () => Promise.reject(new NotFoundError("artifact is missing")),
    };
    const { server, logs } = await startEarly("logistic@champion", { registry: source });
    await waitFor(() => failures(logs).length > 0);
    expect((await get(server, "/v2/health/rollout")).status).toBe(503);
  });

  it("answers 503 while draining", async () => {
    const { server, logs } = await startEarly();
    await waitFor(() => failures(logs).length > 0);
    server.app.startDraining();
    expect((await get(server, "/v2/health/rollout")).status).toBe(503);
  });
});

describe("an artifact that cannot be loaded", () => {
  it("keeps retrying a corrupt artifact and logs corrupt_artifact", async () => {
    const t = await tempRegistry();
    cleanups.push(t.cleanup);
    const mv = await t.registry.register("logistic", await fixture("logistic"), { alias: "champion" });
    await writeFile(join(t.dir, "blobs", "sha256", mv.digest.slice("sha256:".length)), "not the model");
    const logs: Logged[] = [];
    const s = spec(t.uri, "logistic@champion", { server: { host: "127.0.0.1" } });
    const server = await startServer({ ...s, server: { ...s.server, port: 0 } }, { registry: t.registry, waitForModel: false, loadRetry: FAST_RETRY, logger: recordingLogger(logs) });
    cleanups.push(() => server.stop());
    await waitFor(() => failures(logs).length >= 3);
    expect(failures(logs).map((l) => l.fields.reason)).toEqual(failures(logs).map(() => "corrupt_artifact"));
    expect(String(failures(logs)[0]!.fields.error)).toMatch(/is corrupt/);
    expect((await get(server, "/v2/health/ready")).status).toBe(503);
  });

  it("keeps retrying a missing artifact and logs not_found", async () => {
    const t = await tempRegistry();
    cleanups.push(t.cleanup);
    await t.registry.register("logistic", await fixture("logistic"), { alias: "champion" });
    const blobs = join(t.dir, "blobs", "sha256");
    for (const f of await readdir(blobs)) await rm(join(blobs, f));
    const logs: Logged[] = [];
    const s = spec(t.uri, "logistic@champion", { server: { host: "127.0.0.1" } });
    const server = await startServer({ ...s, server: { ...s.server, port: 0 } }, { registry: t.registry, waitForModel: false, loadRetry: FAST_RETRY, logger: recordingLogger(logs) });
    cleanups.push(() => server.stop());
    await waitFor(() => failures(logs).length >= 2);
    expect(failures(logs).map((l) => l.fields.reason)).toEqual(failures(logs).map(() => "not_found"));
    expect(String(failures(logs)[0]!.fields.error)).toMatch(/artifact .* is missing/);
  });

  it("keeps retrying bytes onnxruntime rejects and logs corrupt_artifact", async () => {
    const t = await tempRegistry();
    cleanups.push(t.cleanup);
    const mv = await t.registry.register("logistic", await fixture("logistic"), { alias: "champion" });
    const garbage: ModelSource = { resolve: async () => mv, readArtifact: async () => Buffer.from("not onnx at all") };
    const { server, logs } = await startEarly("logistic@champion", { registry: garbage });
    await waitFor(() => failures(logs).length >= 2);
    expect(failures(logs).map((l) => l.fields.reason)).toEqual(failures(logs).map(() => "corrupt_artifact"));
    expect(String(failures(logs)[0]!.fields.error)).toMatch(/onnxruntime cannot load logistic:1/);
    expect((await post(server)).status).toBe(503);
  });

  it("names an access error access_denied in the log, the metric and the 503", async () => {
    const denied: ModelSource = {
      resolve: () => Promise.reject(Object.assign(new Error("Access Denied"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } })),
      readArtifact: () => Promise.reject(new Error("unreachable")),
    };
    const { server, logs } = await startEarly("logistic@champion", { registry: denied });
    await waitFor(() => failures(logs).length >= 1);
    const ready = (await (await get(server, "/v2/health/ready")).json()) as { reason: string };
    const text = await server.app.metrics.metrics();
    expect(failures(logs)[0]!.fields.reason).toBe("access_denied");
    expect(failures(logs)[0]!.fields.hint).toMatch(/IAM role/);
    expect(ready.reason).toBe("access_denied");
    expect(sample(text, "mlops_model_load_failures_total", { model: "logistic", reason: "access_denied" })).toBeGreaterThanOrEqual(1);
  });
});

describe("startServer waiting for the model", () => {
  it("resolves once the model registered during the wait is loaded", async () => {
    const t = await tempRegistry();
    cleanups.push(t.cleanup);
    const s = spec(t.uri, "logistic@champion", { server: { host: "127.0.0.1" } });
    const starting = startServer({ ...s, server: { ...s.server, port: 0 } }, { registry: t.registry, loadRetry: FAST_RETRY });
    await sleep(100);
    await t.registry.register("logistic", await fixture("logistic"), { alias: "champion" });
    const server = await starting;
    cleanups.push(() => server.stop());
    expect(server.app.ready).toBe(true);
    expect((await post(server)).status).toBe(200);
  });

  it("fails naming the model and the reason when it is not loaded within waitForModelSeconds, and stops listening", async () => {
    const t = await tempRegistry();
    cleanups.push(t.cleanup);
    const s = spec(t.uri, "logistic@champion", { server: { host: "127.0.0.1" } });
    const logs: Logged[] = [];
    const opts = { registry: t.registry, loadRetry: FAST_RETRY, waitForModelSeconds: 0.3, logger: recordingLogger(logs) };
    const started = Date.now();
    const err = await startServer({ ...s, server: { ...s.server, port: 0 } }, opts).catch((e: Error) => e);
    expect(Date.now() - started).toBeLessThan(3000);
    expect((err as Error).message).toMatch(/^model: was not loaded within 0\.3 s \(model logistic@champion is not loaded yet: .*not_found/);
    expect(logs.map((l) => l.msg)).toContain("stopped");
  });
});
