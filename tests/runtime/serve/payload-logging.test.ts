/**
 * Payload logging in `mlops serve` end to end: requests over a real socket (JSON and binary tensor data),
 * records written to a file:// store by the app, read back with readPayloadLogs and matched against the
 * tensors sent and answered; stores that refuse or hang; the seeded sampler; partitions by hour.
 */
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildApp, type ServeApp } from "../../../runtime/serve/app.js";
import { startServer } from "../../../runtime/serve/main.js";
import { seededRandom } from "../../../runtime/serve/payload-log.js";
import { readPayloadLogs } from "../../../runtime/serve/payload-reader.js";
import type { PayloadLoggingInput } from "../../../src/spec/endpoint.js";
import { parseEndpointSpec } from "../../../src/spec/endpoint.js";
import type { ObjectStore } from "../../../src/store/index.js";
import { fixture, infer, inferBody, rows, sample, spec, tempRegistry } from "./helpers.js";
import { decodeAnswer, encodeRequest, post, type Answer } from "./oip-client.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mlops-payloads-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function registry() {
  const t = await tempRegistry();
  cleanups.push(() => t.cleanup());
  await t.registry.register("logistic", await fixture("logistic"), { alias: "champion" });
  return t;
}

/** Runs `n` calls of `one` with at most `concurrency` at once. */
async function load<T>(n: number, concurrency: number, one: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await one(i);
    }
  }));
  return out;
}

async function counters(app: ServeApp) {
  const text = await app.metrics.metrics();
  const dropped = Object.fromEntries(
    ["queue_full", "too_large", "write_failed", "write_timeout", "shutdown"].map((r) => [r, sample(text, "mlops_payload_records_dropped_total", { reason: r })!]),
  );
  const droppedAll = Object.values(dropped).reduce((a, b) => a + b, 0);
  return { sampled: sample(text, "mlops_payload_records_sampled_total")!, written: sample(text, "mlops_payload_records_written_total")!, dropped, droppedAll };
}

/** An app serving logistic@champion with logging on, its store and clock replaceable. */
async function loggingApp(logging: Partial<PayloadLoggingInput>, deps: { store?: ObjectStore; random?: () => number; now?: () => number } = {}) {
  const t = await registry();
  const uri = logging.uri ?? `file://${await tempDir()}`;
  const app = await buildApp({ spec: spec(t.uri, "logistic@champion", { logging: { sampleRate: 1, ...logging, uri } }), registry: t.registry, payloadLog: deps });
  cleanups.push(() => app.close());
  return { app, uri };
}

/** A JSON request with ids, answered 200; the status of each. */
const jsonRequests = (app: ServeApp, n: number, concurrency: number) =>
  load(n, concurrency, (i) => infer(app, "logistic", inferBody(rows(1 + (i % 3), 30, i + 1), { id: `r${i}` })).then((r) => r.status));

describe("payload logging under load", () => {
  it("logs every one of 2,000 requests at concurrency 32 (JSON and binary, JSON and binary answers) with zero failed, each record matching the tensors sent and answered", async () => {
    const t = await registry();
    const dir = await tempDir();
    const uri = `file://${dir}`;
    const s = spec(t.uri, "logistic@champion", { server: { host: "127.0.0.1", port: 0 }, logging: { sampleRate: 1, uri, batchSize: 100, flushIntervalSeconds: 0.2 } });
    const server = await startServer(s, { registry: t.registry });
    let stopped = false;
    cleanups.push(async () => void (stopped ? undefined : await server.stop()));
    const url = `${server.url}/v2/models/logistic/infer`;
    const N = 2000;
    const sent = new Map<string, { data: number[][]; binaryIn: boolean; answer: Answer }>();
    const statuses = await load(N, 32, async (i) => {
      const data = rows(1 + (i % 3), 30, i + 1);
      const binaryIn = i % 2 === 1;
      const { body, headers } = encodeRequest({
        id: `req-${i}`,
        inputs: [{ name: "x", datatype: "FP32", shape: [data.length, 30], values: data.flat(), binary: binaryIn }],
        ...(i % 4 >= 2 ? { binaryDataOutput: true } : {}),
      });
      const r = await post(url, body, headers);
      const answer = decodeAnswer(r.status, r.headers, r.body);
      sent.set(`req-${i}`, { data, binaryIn, answer });
      return r.status;
    });
    expect(statuses.filter((st) => st !== 200)).toEqual([]);
    // The drain writes what is still held.
    await server.stop();
    stopped = true;
    const c = await counters(server.app);
    expect(c).toMatchObject({ sampled: N, written: N, droppedAll: 0 });

    const table = await readPayloadLogs(uri, { model: "logistic" });
    expect(table.records).toBe(N);
    expect(table.columns).toEqual(Array.from({ length: 30 }, (_, j) => `f${j}`));
    const byId = new Map<string, number[][]>();
    table.rows.forEach((row, k) => byId.set(table.inferenceIds[k]!, [...(byId.get(table.inferenceIds[k]!) ?? []), [...row]]));
    expect(byId.size).toBe(N);
    for (const [id, { data, binaryIn }] of sent) {
      // JSON requests are logged as sent; binary ones carried float32, which is what the record holds
      // (JSON has no -0: it reads back as 0, as JSON.stringify writes it).
      const want = data.map((r) => r.map((v) => (binaryIn ? Math.fround(v) : v) + 0));
      expect(byId.get(id), id).toEqual(want);
    }
    expect(new Set(table.modelVersions)).toEqual(new Set(["1"]));

    // Each record's output is the answer the client read, in JSON whatever form it was sent in.
    const files: string[] = [];
    const walk = async (d: string) => {
      for (const e of await readdir(d, { withFileTypes: true })) e.isDirectory() ? await walk(join(d, e.name)) : files.push(join(d, e.name));
    };
    await walk(dir);
    expect(files.every((f) => /\/logistic\/test\/primary\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/\d{8}T\d{6}Z-[0-9a-f-]+\.jsonl$/.test(f))).toBe(true);
    let checked = 0;
    for (const f of files) {
      for (const line of (await readFile(f, "utf8")).trimEnd().split("\n")) {
        const rec = JSON.parse(line);
        const answer = sent.get(rec.eventMetadata.inferenceId)!.answer;
        const logged = JSON.parse(rec.captureData.endpointOutput.data);
        expect(logged.outputs[0].data).toEqual(answer.outputs.probability!.values);
        expect(logged.id).toBe(rec.eventMetadata.inferenceId);
        checked++;
      }
    }
    expect(checked).toBe(N);
  }, 120_000);
});

describe("payload logging under back-pressure", () => {
  it("answers every request 200 while the store throws, and counts each record dropped: written + dropped = sampled", async () => {
    const refusing = { uri: "mem://", put: async () => Promise.reject(new Error("SlowDown")) } as unknown as ObjectStore;
    const { app } = await loggingApp({ batchSize: 20, flushIntervalSeconds: 0.05 }, { store: refusing });
    const statuses = await jsonRequests(app, 400, 32);
    expect(statuses.filter((st) => st !== 200)).toEqual([]);
    await app.close();
    const c = await counters(app);
    expect(c.sampled).toBe(400);
    expect(c.written).toBe(0);
    expect(c.dropped.write_failed).toBe(400);
    expect(c.written + c.droppedAll).toBe(c.sampled);
  });

  it("answers every request 200 while the store hangs, holding no more than its bounds, and counts each record dropped", async () => {
    const hanging = { uri: "mem://", put: () => new Promise<void>(() => {}) } as unknown as ObjectStore;
    const { app } = await loggingApp({ batchSize: 10, maxBufferedRecords: 50, writeTimeoutSeconds: 0.1, flushTimeoutSeconds: 0.1, flushIntervalSeconds: 0.05 }, { store: hanging });
    const statuses = await jsonRequests(app, 400, 32);
    expect(statuses.filter((st) => st !== 200)).toEqual([]);
    const text = await app.metrics.metrics();
    expect(sample(text, "mlops_payload_buffered_records")).toBeLessThanOrEqual(50);
    await app.close();
    const c = await counters(app);
    expect(c.sampled).toBe(400);
    expect(c.written).toBe(0);
    expect(c.dropped.queue_full).toBeGreaterThan(0);
    expect(c.written + c.droppedAll).toBe(c.sampled);
  });
});

describe("payload logging: what is sampled, and where it goes", () => {
  it("logs exactly the requests the seeded sampler picks at sampleRate 0.1 (about 10%)", async () => {
    const { app, uri } = await loggingApp({ sampleRate: 0.1, flushIntervalSeconds: 0.05 }, { random: seededRandom(7) });
    const N = 1000;
    expect((await jsonRequests(app, N, 16)).every((st) => st === 200)).toBe(true);
    await app.close();
    const replay = seededRandom(7);
    let expected = 0;
    for (let i = 0; i < N; i++) if (replay() < 0.1) expected++;
    const table = await readPayloadLogs(uri);
    expect(table.records).toBe(expected);
    expect(expected).toBeGreaterThan(70);
    expect(expected).toBeLessThan(130);
    expect((await counters(app)).written).toBe(expected);
  });

  it("partitions records by the hour of their inference time (injectable clock), and reads back one hour with since/until", async () => {
    let now = Date.UTC(2026, 2, 3, 10, 59, 58);
    const { app, uri } = await loggingApp({ flushIntervalSeconds: 3600 }, { now: () => now });
    for (let i = 0; i < 5; i++) expect((await infer(app, "logistic", inferBody(rows(1, 30, i + 1)))).status).toBe(200);
    now = Date.UTC(2026, 2, 3, 11, 0, 2);
    for (let i = 0; i < 7; i++) expect((await infer(app, "logistic", inferBody(rows(2, 30, i + 1)))).status).toBe(200);
    await app.close();
    const dir = uri.slice("file://".length);
    expect((await readdir(join(dir, "logistic/test/primary/2026/03/03/10"))).length).toBe(1);
    expect((await readdir(join(dir, "logistic/test/primary/2026/03/03/11"))).length).toBe(1);
    expect((await readPayloadLogs(uri)).records).toBe(12);
    const eleven = await readPayloadLogs(uri, { since: "2026-03-03T11:00:00Z", until: "2026-03-03T12:00:00Z" });
    expect(eleven.records).toBe(7);
    expect(eleven.rows).toHaveLength(14);
    expect(new Set(eleven.times.map((x) => x.slice(0, 13)))).toEqual(new Set(["2026-03-03T11"]));
  });

  it("logs answered requests only: a request refused with 400 makes no record", async () => {
    const { app } = await loggingApp({});
    expect((await infer(app, "logistic", { inputs: [{ name: "x", datatype: "FP32", shape: [1, 3], data: [1, 2, 3] }] })).status).toBe(400);
    expect((await counters(app)).sampled).toBe(0);
  });

  it("fails naming the field for a bad logging setting", () => {
    const base = { name: "e", model: "m@champion", registry: "file:///r" };
    expect(() => parseEndpointSpec({ ...base, logging: { sampleRate: 1.5, uri: "file:///p" } })).toThrow(/logging\.sampleRate/);
    expect(() => parseEndpointSpec({ ...base, logging: { sampleRate: 1, uri: "http://x" } })).toThrow(/logging\.uri.*file:\/\/ or s3:\/\//);
    expect(() => parseEndpointSpec({ ...base, logging: { sampleRate: 1, uri: "file:///p", batchSize: 500, maxBufferedRecords: 100 } })).toThrow(/logging\.batchSize.*maxBufferedRecords/);
  });
});
