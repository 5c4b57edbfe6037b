/**
 * The payload log's buffer on its own (runtime/serve/payload-log.ts), against stores that answer, refuse
 * or hang: batching, partitions by hour, the sampler, and the bounds and counters under back-pressure.
 */
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/log.js";
import { parseEndpointSpec, type PayloadLoggingInput } from "../../../src/spec/endpoint.js";
import type { ObjectStore } from "../../../src/store/index.js";
import { PayloadLog, payloadLogMetrics, seededRandom } from "../../../runtime/serve/payload-log.js";
import type { PayloadEvent } from "../../../runtime/serve/payload-record.js";
import { sample, sleep, waitFor } from "./helpers.js";

/** A store whose put does what `put` says; every put is recorded. */
function fakeStore(put: (key: string, body: string) => Promise<void> = async () => {}) {
  const puts: { key: string; body: string }[] = [];
  const store = {
    uri: "mem://",
    put: (key: string, body: Buffer | string) => {
      puts.push({ key, body: String(body) });
      return put(key, String(body));
    },
  } as unknown as ObjectStore;
  return { store, puts };
}

const event = (i: number): PayloadEvent => ({
  model: "fraud",
  version: "3",
  requestId: i % 2 ? `req-${i}` : undefined,
  input: `{"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[${i},0.5]}]}`,
  output: `{"model_name":"fraud","model_version":"3","outputs":[{"name":"y","datatype":"FP32","shape":[1],"data":[0.25]}]}`,
});

function makeLog(store: ObjectStore, logging: Partial<PayloadLoggingInput> = {}, deps: { now?: () => number; random?: () => number } = {}) {
  const spec = parseEndpointSpec({ name: "fraud-ep", model: "fraud@champion", registry: "file:///r", logging: { sampleRate: 1, uri: "file:///p", ...logging } });
  const registry = new Registry();
  const log = new PayloadLog({ store, settings: spec.logging!, endpoint: spec.name, metrics: payloadLogMetrics(registry), logger: silentLogger, ...deps });
  const counts = async () => {
    const text = await registry.metrics();
    const dropped = (reason: string) => sample(text, "mlops_payload_records_dropped_total", { reason }) ?? 0;
    const reasons = ["queue_full", "too_large", "write_failed", "write_timeout", "shutdown"];
    return {
      sampled: sample(text, "mlops_payload_records_sampled_total")!,
      written: sample(text, "mlops_payload_records_written_total")!,
      dropped: Object.fromEntries(reasons.map((r) => [r, dropped(r)])) as Record<string, number>,
      droppedAll: reasons.reduce((a, r) => a + dropped(r), 0),
      text,
    };
  };
  return { log, counts };
}

const T = Date.UTC(2026, 4, 1, 12, 34, 56, 789);

describe("PayloadLog", () => {
  it("writes a batch once it holds batchSize records, as Data Capture JSON lines under <model>/<endpoint>/<variant>/yyyy/mm/dd/hh/", async () => {
    const { store, puts } = fakeStore();
    const { log, counts } = makeLog(store, { batchSize: 3, flushIntervalSeconds: 3600 }, { now: () => T });
    for (let i = 0; i < 3; i++) log.offer(event(i));
    await waitFor(async () => (await counts()).written === 3);
    expect(puts).toHaveLength(1);
    expect(puts[0]!.key).toMatch(/^fraud\/fraud-ep\/primary\/2026\/05\/01\/12\/20260501T123456Z-[0-9a-f-]{36}\.jsonl$/);
    const lines = puts[0]!.body.trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    expect(lines[1]).toEqual({
      captureData: {
        endpointInput: { observedContentType: "application/json", mode: "INPUT", data: event(1).input, encoding: "JSON" },
        endpointOutput: { observedContentType: "application/json", mode: "OUTPUT", data: event(1).output, encoding: "JSON" },
      },
      eventMetadata: { eventId: expect.stringMatching(/^[0-9a-f-]{36}$/), inferenceId: "req-1", inferenceTime: "2026-05-01T12:34:56.789Z" },
      eventVersion: "0",
      endpointName: "fraud-ep",
      variant: "primary",
      modelName: "fraud",
      modelVersion: "3",
    });
    // No request id: the generated event id stands in.
    expect(lines[0].eventMetadata.inferenceId).toBe(lines[0].eventMetadata.eventId);
    await log.close();
  });

  it("writes a partial batch after flushIntervalSeconds", async () => {
    const { store, puts } = fakeStore();
    const { log } = makeLog(store, { batchSize: 1000, flushIntervalSeconds: 0.05 });
    log.offer(event(1));
    await waitFor(() => puts.length === 1);
    expect(puts[0]!.body.trimEnd().split("\n")).toHaveLength(1);
    await log.close();
  });

  it("starts a new object in the next hour's partition when the hour turns", async () => {
    const { store, puts } = fakeStore();
    let now = Date.UTC(2026, 11, 31, 23, 59, 59, 900);
    const { log } = makeLog(store, { batchSize: 1000, flushIntervalSeconds: 3600 }, { now: () => now });
    log.offer(event(1));
    log.offer(event(2));
    now = Date.UTC(2027, 0, 1, 0, 0, 0, 100);
    log.offer(event(3));
    await log.close();
    expect(puts.map((p) => [p.key.split("/").slice(3, 7).join("/"), p.body.trimEnd().split("\n").length])).toEqual([
      ["2026/12/31/23", 2],
      ["2027/01/01/00", 1],
    ]);
  });

  it("samples exactly the calls the seeded random source puts under sampleRate, about 10% at 0.1", () => {
    const { log } = makeLog(fakeStore().store, { sampleRate: 0.1 }, { random: seededRandom(42) });
    let picked = 0;
    for (let i = 0; i < 10_000; i++) if (log.sample()) picked++;
    const replay = seededRandom(42);
    let expected = 0;
    for (let i = 0; i < 10_000; i++) if (replay() < 0.1) expected++;
    expect(picked).toBe(expected);
    expect(picked).toBeGreaterThan(900);
    expect(picked).toBeLessThan(1100);
    void log.close();
  });

  it("samples every request at 1 and none at 0, without calling the random source", () => {
    const never = () => {
      throw new Error("random source called");
    };
    const all = makeLog(fakeStore().store, { sampleRate: 1 }, { random: never }).log;
    const none = makeLog(fakeStore().store, { sampleRate: 0 }, { random: never }).log;
    expect([all.sample(), all.sample(), none.sample(), none.sample()]).toEqual([true, true, false, false]);
    void all.close();
    void none.close();
  });

  it("drops and counts the records of a batch the store refuses: written + dropped = sampled", async () => {
    const { store } = fakeStore(async () => {
      throw new Error("AccessDenied");
    });
    const { log, counts } = makeLog(store, { batchSize: 5, flushIntervalSeconds: 3600 });
    for (let i = 0; i < 12; i++) log.offer(event(i));
    await log.close();
    const c = await counts();
    expect(c.sampled).toBe(12);
    expect(c.written).toBe(0);
    expect(c.dropped.write_failed).toBe(12);
    expect(c.written + c.droppedAll).toBe(c.sampled);
    expect(log.buffered).toEqual({ records: 0, bytes: 0 });
  });

  it("holds at most maxBufferedRecords against a store that hangs, drops the rest as queue_full, times writes out, and never waits", async () => {
    const { store, puts } = fakeStore(() => new Promise<void>(() => {}));
    const { log, counts } = makeLog(store, { batchSize: 10, maxBufferedRecords: 100, writeTimeoutSeconds: 0.05, flushTimeoutSeconds: 0.05, flushIntervalSeconds: 3600 });
    let most = 0;
    for (let i = 0; i < 1000; i++) {
      log.offer(event(i));
      most = Math.max(most, log.buffered.records);
    }
    expect(most).toBe(100);
    const during = await counts();
    expect(during.dropped.queue_full).toBe(900);
    // Timed-out writes free their slot, not their memory: the store still holds their bodies.
    await sleep(150);
    for (let i = 0; i < 50; i++) log.offer(event(i));
    expect(log.buffered.records).toBeLessThanOrEqual(100);
    await log.close();
    const c = await counts();
    expect(c.sampled).toBe(1050);
    expect(c.written).toBe(0);
    expect(c.dropped.write_timeout).toBeGreaterThan(0);
    expect(c.written + c.droppedAll).toBe(c.sampled);
    expect(puts.length).toBeGreaterThan(2);
  });

  it("bounds the bytes held too (maxBufferedBytes), and drops a record over maxRecordBytes as too_large", async () => {
    const { store } = fakeStore(() => new Promise<void>(() => {}));
    const { log, counts } = makeLog(store, { batchSize: 1000, maxBufferedBytes: 4096, maxRecordBytes: 1024, flushTimeoutSeconds: 0.01, flushIntervalSeconds: 3600 });
    for (let i = 0; i < 100; i++) log.offer(event(i));
    expect(log.buffered.bytes).toBeLessThanOrEqual(4096);
    log.offer({ ...event(0), input: "x".repeat(2000) });
    await log.close();
    const c = await counts();
    expect(c.dropped.too_large).toBe(1);
    expect(c.dropped.queue_full).toBeGreaterThan(80);
    expect(c.written + c.droppedAll).toBe(c.sampled);
  });

  it("writes non-ASCII payloads as UTF-8, and takes back a record whose UTF-8 bytes exceed maxRecordBytes though its length did not", async () => {
    const { store, puts } = fakeStore();
    const { log, counts } = makeLog(store, { batchSize: 1000, maxRecordBytes: 2048, flushIntervalSeconds: 3600 });
    const words = (w: string, n: number) => `{"inputs":[{"name":"s","datatype":"BYTES","shape":[${n}],"data":${JSON.stringify(Array(n).fill(w))}}]}`;
    log.offer({ ...event(1), input: words("é日本", 3) });
    // About 1,200 UTF-16 units (under 2,048) but over 2,048 bytes in UTF-8: refused once encoded.
    log.offer({ ...event(2), input: words("日本語", 150) });
    log.offer({ ...event(3), input: words("ß", 2) });
    await log.close();
    const lines = puts[0]!.body.trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => JSON.parse(l.captureData.endpointInput.data).inputs[0].data)).toEqual([["é日本", "é日本", "é日本"], ["ß", "ß"]]);
    expect((await counts()).dropped.too_large).toBe(1);
    expect(log.buffered).toEqual({ records: 0, bytes: 0 });
  });

  it("writes everything held on close, and counts a record offered after close as dropped (shutdown)", async () => {
    const { store, puts } = fakeStore(async () => sleep(20));
    const { log, counts } = makeLog(store, { batchSize: 7, flushIntervalSeconds: 3600 });
    for (let i = 0; i < 30; i++) log.offer(event(i));
    await log.close();
    log.offer(event(99));
    const c = await counts();
    expect(c.written).toBe(30);
    expect(puts.reduce((n, p) => n + p.body.trimEnd().split("\n").length, 0)).toBe(30);
    expect(c.dropped.shutdown).toBe(1);
    expect(c.sampled).toBe(31);
  });

  it("gives up on close after flushTimeoutSeconds, counting what was unwritten as shutdown", async () => {
    const { store } = fakeStore(() => new Promise<void>(() => {}));
    const { log, counts } = makeLog(store, { batchSize: 5, flushTimeoutSeconds: 0.1, flushIntervalSeconds: 3600 });
    for (let i = 0; i < 23; i++) log.offer(event(i));
    await log.close();
    const c = await counts();
    expect(c.dropped.shutdown).toBe(23);
    expect(c.written + c.droppedAll).toBe(23);
  });
});
