/**
 * The MLflow tracking server against a client it does not control: deeply nested JSON, bodies over the
 * cap sent without a length, slow clients (headers, body), over-limit batches, metric names that are not
 * the same name as paths, and a script that logs without end: every refusal is an MLflow-shaped error
 * (never a 500), and the run record stays bounded (limits.ts RECORD_LIMITS).
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Registry } from "../../../src/registry/index.js";
import { findRun } from "../../../src/runs/store.js";
import { MAX_JSON_DEPTH, RECORD_LIMITS } from "../../../runtime/train/mlflow/limits.js";
import { startTrackingServer, type TrackingServer } from "../../../runtime/train/mlflow/server.js";
import { RunTracker } from "../../../runtime/train/runs.js";
import { captureLogger, PYTHON, specIn, tempDir } from "./helpers.js";

let server: TrackingServer;
const metrics: [string, number, number, number][] = [];
const params: [string, string][] = [];
beforeAll(async () => {
  server = await startTrackingServer(
    { logMetric: (...m) => metrics.push(m), logParam: (...p) => params.push(p) },
    { artifactRoot: "file:///tmp/mlops-mlflow-hostile", defaultRunName: "run-hostile", maxRequestBytes: 256 * 1024, headersTimeoutMs: 300, requestTimeoutMs: 600 },
  );
});
afterAll(() => server.close());

async function post(endpoint: string, body: unknown) {
  const res = await fetch(`${server.uri}/api/2.0/mlflow/${endpoint}`, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": "application/json" } });
  return { status: res.status, body: (await res.json()) as { error_code?: string; message?: string } & Record<string, any> };
}
const newRun = async () => (await post("runs/create", {})).body.run.info.run_id as string;
const batch = (runId: string, keys: string[], step = 0) => post("runs/log-batch", { run_id: runId, metrics: keys.map((key) => ({ key, value: 1, timestamp: 1, step })) });

/** Writes `parts` to a raw connection one by one, `gapMs` apart; resolves with what came back once it closes. */
function slowClient(parts: string[], gapMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const { port } = new URL(server.uri);
    const socket = connect(Number(port), "127.0.0.1");
    let got = "";
    let timer: NodeJS.Timeout | undefined;
    socket.on("data", (d) => (got += d.toString()));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(got);
    });
    let i = 0;
    const next = () => {
      if (socket.destroyed) return;
      if (i < parts.length) socket.write(parts[i++]!);
      timer = setTimeout(next, gapMs);
    };
    socket.once("connect", next);
    setTimeout(() => reject(new Error("the server kept a slow client's connection open")), 20_000).unref();
  });
}

describe("request bodies", () => {
  it(`refuses a body nested deeper than ${MAX_JSON_DEPTH} with 400 MALFORMED_REQUEST, not a 500`, async () => {
    const deep = 100_000;
    const r = await post("runs/log-metric", `{"run_id": ${"[".repeat(deep)}${"]".repeat(deep)}, "key": "a", "value": 1, "timestamp": 1}`);
    expect(r.status).toBe(400);
    expect(r.body.error_code).toBe("MALFORMED_REQUEST");
    expect(r.body.message).toMatch(/more than 32 deep/);
  });

  it("a bad value is echoed bounded in the error message", async () => {
    const r = await post("runs/log-metric", { run_id: "x".repeat(200_000), key: "a", value: 1, timestamp: 1 });
    expect(r.status).toBe(404);
    const s = await post("runs/log-metric", { run_id: await newRun(), key: "a", value: { v: "y".repeat(200_000) }, timestamp: 1 });
    expect(s).toMatchObject({ status: 400, body: { error_code: "INVALID_PARAMETER_VALUE" } });
    expect(s.body.message!.length).toBeLessThan(400);
    expect(s.body.message).toMatch(/… \(\d+ characters\)/);
  });

  it("a body over the cap sent without a length (chunked) is answered 413 REQUEST_LIMIT_EXCEEDED", async () => {
    const chunk = "x".repeat(64 * 1024);
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 8; i++) c.enqueue(new TextEncoder().encode(chunk));
        c.close();
      },
    });
    const res = await fetch(`${server.uri}/api/2.0/mlflow/runs/log-batch`, { method: "POST", body: stream, duplex: "half", headers: { "content-type": "application/json" } } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error_code: string }).error_code).toBe("REQUEST_LIMIT_EXCEEDED");
  });
});

describe("slow clients are cut", () => {
  it("headers sent a byte at a time past the headers timeout: 408 and the connection closed", async () => {
    const head = "POST /api/2.0/mlflow/runs/create HTTP/1.1\r\nHost: x\r\nX-Slow: " + "a".repeat(40);
    const got = await slowClient(head.split(""), 50);
    expect(got).toMatch(/^HTTP\/1\.1 408/);
  });

  it("a body trickled past the request timeout: the connection is closed", async () => {
    const head = "POST /api/2.0/mlflow/runs/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n";
    const got = await slowClient([head, ..."{".repeat(100).split("")], 100);
    expect(got).not.toMatch(/^HTTP\/1\.1 200/);
  });
});

describe("MLflow's limits", () => {
  it("a log-batch over MLflow's limits logs nothing", async () => {
    const run = await newRun();
    const before = metrics.length;
    const tooMany = await batch(run, Array.from({ length: 1001 }, (_, i) => `m${i}`));
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.message).toMatch(/at most 1000 metrics/);
    const params101 = await post("runs/log-batch", { run_id: run, params: Array.from({ length: 101 }, (_, i) => ({ key: `p${i}`, value: "1" })) });
    expect(params101.body.message).toMatch(/at most 100 params/);
    expect(metrics.length).toBe(before);
  });

  it.each(["../x", "/etc/passwd", "a//b", "a/./b", "a/", "a/../../b", "a\\b", "a\0b"])("refuses the metric key %j, which is not itself as a path", async (key) => {
    const r = await post("runs/log-metric", { run_id: await newRun(), key, value: 1, timestamp: 1 });
    expect(r.status).toBe(400);
    expect(r.body.error_code).toBe("INVALID_PARAMETER_VALUE");
    expect(r.body.message).toContain(JSON.stringify(key));
  });

  it("accepts a key with slashes that is its own path", async () => {
    expect((await post("runs/log-metric", { run_id: await newRun(), key: "eval/auc", value: 1, timestamp: 1 })).status).toBe(200);
  });
});

describe("the record is bounded", () => {
  it(`past ${RECORD_LIMITS.metricKeys} distinct metric keys and ${RECORD_LIMITS.metricPoints} points: 400 RESOURCE_LIMIT_EXCEEDED, nothing of it logged`, async () => {
    const mine = await startTrackingServer({ logMetric: (...m) => metrics.push(m), logParam: () => {} }, { artifactRoot: "file:///tmp/x", defaultRunName: "r" });
    const call = async (endpoint: string, body: unknown) => {
      const res = await fetch(`${mine.uri}/api/2.0/mlflow/${endpoint}`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
      return { status: res.status, body: (await res.json()) as any };
    };
    try {
      const run = (await call("runs/create", {})).body.run.info.run_id;
      const keys = Array.from({ length: 1000 }, (_, i) => `k${i}`);
      expect((await call("runs/log-batch", { run_id: run, metrics: keys.map((key) => ({ key, value: 1, timestamp: 1 })) })).status).toBe(200);
      // A second MLflow run of the same script counts towards the same record.
      const other = (await call("runs/create", {})).body.run.info.run_id;
      const over = await call("runs/log-metric", { run_id: other, key: "one-more", value: 1, timestamp: 1 });
      expect(over).toMatchObject({ status: 400, body: { error_code: "RESOURCE_LIMIT_EXCEEDED" } });
      expect(over.body.message).toMatch(/at most 1000 distinct metric keys; this request would make it 1001/);
      // Known keys at new steps are fine until the points run out.
      for (let step = 1; step < RECORD_LIMITS.metricPoints / 1000; step++) {
        const r = await call("runs/log-batch", { run_id: run, metrics: keys.map((key) => ({ key, value: step, timestamp: 1, step })) });
        expect(r.status).toBe(200);
      }
      const full = await call("runs/log-metric", { run_id: run, key: "k0", value: 1, timestamp: 1, step: 999_999 });
      expect(full.body).toMatchObject({ error_code: "RESOURCE_LIMIT_EXCEEDED" });
      expect(full.body.message).toMatch(/at most 100000 metric points/);
      const params = Array.from({ length: 100 }, (_, i) => ({ key: `p${i}`, value: "v" }));
      for (let i = 0; i < 10; i++) expect((await call("runs/log-batch", { run_id: run, params: params.map((p) => ({ ...p, key: `${p.key}-${i}` })) })).status).toBe(200);
      expect((await call("runs/log-parameter", { run_id: run, key: "p-last", value: "v" })).body.message).toMatch(/at most 1000 params/);
    } finally {
      await mine.close();
    }
  }, 120_000);

  it("the run record itself stops at the bounds whatever the channel, keeping the holdout scores; a point logged twice is kept once", async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const spec = specIn(dir, { trainer: { command: [PYTHON, "-c", "pass"] } });
      const registry = await Registry.open(spec.registry);
      const { logger, lines } = captureLogger();
      const t = await RunTracker.start({ spec, runId: "run-20261202T000000Z-abcdef", registry, cwd: dir, work: dir, log: logger });
      for (let k = 0; k < RECORD_LIMITS.metricKeys + 5; k++) t.logMetric(`k${k}`, 1, 0);
      t.logMetric("k0", 1, 0); // the same point again
      for (let step = 1; step <= RECORD_LIMITS.metricPoints; step++) t.logMetric("k1", step, step);
      for (let p = 0; p < RECORD_LIMITS.params + 50; p++) t.logParam(`p${p}`, "v");
      await t.ended({ status: "gate-failed", runId: t.runId, metrics: { auc: 0.5 }, reason: "gate" } as never);
      await t.close();
      const run = (await findRun(registry.store, t.runId))!;
      const keys = Object.keys(run.metrics);
      expect(keys).toContain("auc");
      expect(keys.length).toBe(RECORD_LIMITS.metricKeys + 1);
      expect(run.metrics.k0!.length).toBe(1);
      expect(Object.values(run.metrics).reduce((n, pts) => n + pts.length, 0)).toBe(RECORD_LIMITS.metricPoints + 1);
      expect(Object.keys(run.params).length).toBeLessThanOrEqual(RECORD_LIMITS.params + 10);
      expect(lines.join("\n")).toMatch(/the run record is full/);
      expect(lines.filter((l) => l.includes("the run record is full"))).toHaveLength(1);
    } finally {
      await cleanup();
    }
  }, 120_000);
});
