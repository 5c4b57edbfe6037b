// A Redis that stops answering (SIGSTOP: connections stay open, nothing replies) while the feature server
// reads from it. Without a per-command timer in node-redis, the store's own whole-read deadline
// (runtime/features/online/deadline.ts) must still answer every lookup, with a 503 and {"error"}; health
// must say the store is not answering; and the server must recover once Redis does.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Deadlines, DeadlineError } from "../../../../runtime/features/online/deadline.js";
import { RedisOnlineStore } from "../../../../runtime/features/online/redis.js";
import { startFeatureServer, type RunningFeatureServer } from "../../../../runtime/features/server-listen.js";
import { baseSpec, startRedis, type TestRedis } from "./helpers.js";

const T0 = Date.UTC(2026, 0, 2, 3, 0, 0) * 1000; // µs
const JSON_HEADERS = { "content-type": "application/json" };

describe("the Redis store when Redis stops answering", () => {
  let dir: string;
  let redis: TestRedis;
  let store: RedisOnlineStore | undefined;
  let server: RunningFeatureServer | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "mlops-stall-"));
    redis = await startRedis();
  });
  afterEach(async () => {
    redis.resume();
    await server?.stop();
    await store?.close();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
    server = store = undefined;
  });

  const lookup = async (url: string) => {
    const r = await fetch(`${url}/get-online-features`, { method: "POST", headers: JSON_HEADERS, body: JSON.stringify({ features: ["txn_stats:spend_7d"], entities: { customer_id: [1] } }) });
    return { status: r.status, type: r.headers.get("content-type"), body: (await r.json()) as Record<string, unknown> };
  };

  it("answers lookups 503 with {error} by its own deadline, reports unhealthy, and recovers when Redis does", async () => {
    const spec = baseSpec(dir, { redis: { url: redis.url } });
    store = await RedisOnlineStore.open(spec, { url: redis.url }, { readTimeoutMs: 300 });
    await store.write(spec.views[0]!, [{ key: "1", eventMicros: T0, createdMicros: -1, values: ["12.5", "3", '"gold"'] }]);
    server = await startFeatureServer(spec, { store, port: 0, now: () => T0 / 1000 + 1000 });
    expect((await lookup(server.url)).status).toBe(200);

    redis.pause();
    const stuck = await lookup(server.url);
    expect(stuck).toEqual({ status: 503, type: "application/json", body: { error: "the online store did not answer (Redis did not answer a read within 300 ms)" } });
    // node-redis still sees an open connection; the store knows Redis has gone quiet.
    expect((await fetch(`${server.url}/health`)).status).toBe(503);
    // While stalled, lookups still answer (503), whether sent as the probe or refused at once.
    const more = await Promise.all([lookup(server.url), lookup(server.url), lookup(server.url)]);
    for (const r of more) {
      expect(r.status).toBe(503);
      expect(String(r.body.error)).toMatch(/^the online store did not answer \(Redis (did not answer a read within 300 ms|has not answered for \d+ ms; a read not sent until it does)\)$/);
    }

    redis.resume();
    let after = await lookup(server.url);
    for (let i = 0; i < 20 && after.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await lookup(server.url);
    }
    expect(after.status).toBe(200);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it("closes without waiting for replies a stalled Redis never sends", async () => {
    const spec = baseSpec(dir, { redis: { url: redis.url } });
    store = await RedisOnlineStore.open(spec, { url: redis.url }, { readTimeoutMs: 200 });
    redis.pause();
    await expect(store.read([{ view: spec.views[0]!, features: ["spend_7d"], keys: ["1"] }])).rejects.toThrow(/did not answer a read within 200 ms/);
    expect(store.healthy).toBe(false);
    await store.close();
    store = undefined;
  });
});

describe("Deadlines", () => {
  it("passes results and errors through, and fails what outlives its deadline", async () => {
    const d = new Deadlines(10);
    await expect(d.run(async () => 7, 1000, "x")).resolves.toBe(7);
    await expect(d.run(async () => Promise.reject(new Error("boom")), 1000, "x")).rejects.toThrow("boom");
    const never = new Promise<number>(() => {});
    await expect(d.run(() => never, 30, "a read")).rejects.toBeInstanceOf(DeadlineError);
    expect(d.stalled).toBe(true);
    // Stalled: one probe goes out, a second is refused at once.
    const probe = d.run(() => never, 30, "a read");
    await expect(d.run(async () => 1, 30, "a read")).rejects.toThrow(/has not answered for \d+ ms; a read not sent until it does/);
    await expect(probe).rejects.toThrow(/within 30 ms/);
    d.replied();
    expect(d.stalled).toBe(false);
    await expect(d.run(async () => 2, 30, "a read")).resolves.toBe(2);
    d.close();
  });
});
