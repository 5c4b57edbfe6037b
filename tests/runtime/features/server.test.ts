import { afterEach, describe, expect, it } from "vitest";
import { openOnlineStore } from "../../../runtime/features/online/index.js";
import type { OnlineStore } from "../../../runtime/features/online/types.js";
import { startFeatureServer, type RunningFeatureServer } from "../../../runtime/features/server-listen.js";
import { advanceWatermark } from "../../../src/features/watermarks.js";
import type { FeatureStoreSpec } from "../../../src/spec/features.js";
import { openStore } from "../../../src/store/index.js";
import { baseSpec, ONLINE_KINDS, startRedis, useOnline } from "./online/helpers.js";

const T0 = Date.UTC(2026, 0, 2, 3, 0, 0) * 1000; // µs
const NOW_MS = T0 / 1000 + 60_000;
const JSON_HEADERS = { "content-type": "application/json" };

let server: RunningFeatureServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function start(spec: FeatureStoreSpec, store: OnlineStore, limits = {}) {
  server = await startFeatureServer(spec, { store, port: 0, now: () => NOW_MS, limits });
  return server.url;
}

async function post(url: string, body: unknown, headers: Record<string, string> = JSON_HEADERS) {
  const r = await fetch(url, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, json: () => JSON.parse(text) };
}

describe.each(ONLINE_KINDS)("feature server over the %s store", (kind) => {
  const fx = useOnline(kind);

  async function seeded() {
    const { spec, store } = fx();
    await store.write(spec.views[0]!, [
      { key: "1001", eventMicros: T0, createdMicros: -1, values: ["12.5", "3", '"gold"'] },
      { key: "1002", eventMicros: T0 - 2 * 3600e6, createdMicros: -1, values: ["1", "1", '"old"'] },
    ]);
    return start(spec, store);
  }

  it("answers POST /get-online-features in Feast's column-major shape, field by field", async () => {
    const url = await seeded();
    const r = await post(`${url}/get-online-features`, { features: ["txn_stats:spend_7d", "txn_stats:tier"], entities: { customer_id: [1001, 1002, 1003] }, full_feature_names: false });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json");
    const got = r.json();
    expect(Object.keys(got)).toEqual(["metadata", "results"]);
    expect(got.metadata).toEqual({ feature_names: ["customer_id", "spend_7d", "tier"] });
    expect(got.results).toHaveLength(3);
    for (const res of got.results) expect(Object.keys(res)).toEqual(["values", "statuses", "event_timestamps"]);
    expect(got.results[0]).toEqual({ values: [1001, 1002, 1003], statuses: ["PRESENT", "PRESENT", "PRESENT"], event_timestamps: ["1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"] });
    // 1002 is two hours old against a 1 h TTL: withheld, with its timestamp; 1003 was never written.
    expect(got.results[1]).toEqual({ values: [12.5, null, null], statuses: ["PRESENT", "OUTSIDE_MAX_AGE", "NOT_FOUND"], event_timestamps: ["2026-01-02T03:00:00Z", "2026-01-02T01:00:00Z", "1970-01-01T00:00:00Z"] });
    expect(got.results[2]).toEqual({ values: ["gold", null, null], statuses: ["PRESENT", "OUTSIDE_MAX_AGE", "NOT_FOUND"], event_timestamps: ["2026-01-02T03:00:00Z", "2026-01-02T01:00:00Z", "1970-01-01T00:00:00Z"] });
  });

  it("takes Feast's /push shape, answers 200 with an empty body, and never lets an older push win", async () => {
    const url = await seeded();
    const push = (ts: string, tier: string) =>
      post(`${url}/push`, { push_source_name: "txn_stats", df: { customer_id: [1001], event_timestamp: [ts], created_at: [ts], spend_7d: [99.5], txn_count_7d: [7], tier: [tier] }, to: "online" });
    const newer = await push("2026-01-02T03:00:30Z", "platinum");
    expect([newer.status, newer.text]).toEqual([200, ""]);
    expect((await push("2026-01-02T02:59:00Z", "stale-push")).status).toBe(200);
    const got = (await post(`${url}/get-online-features`, { features: ["txn_stats:tier", "txn_stats:spend_7d"], entities: { customer_id: [1001] } })).json();
    expect(got.results[1]).toEqual({ values: ["platinum"], statuses: ["PRESENT"], event_timestamps: ["2026-01-02T03:00:30Z"] });
    expect(got.results[2].values).toEqual([99.5]);
  });

  it("takes what Feast's remote online store client sends to /write-to-online-store", async () => {
    const url = await seeded();
    const r = await post(`${url}/write-to-online-store`, {
      feature_view_name: "txn_stats",
      df: { customer_id: [2001], spend_7d: [1.25], txn_count_7d: [2], tier: [null], event_timestamp: ["2026-01-02T03:00:00.250000"], created: [null] },
      allow_registry_cache: false,
    });
    expect([r.status, r.text]).toEqual([200, ""]);
    const got = (await post(`${url}/get-online-features`, { features: ["txn_stats:spend_7d", "txn_stats:tier"], entities: { customer_id: [2001] } })).json();
    expect(got.results.slice(1)).toEqual([
      { values: [1.25], statuses: ["PRESENT"], event_timestamps: ["2026-01-02T03:00:00.250Z"] },
      { values: [null], statuses: ["NULL_VALUE"], event_timestamps: ["2026-01-02T03:00:00.250Z"] },
    ]);
  });

  it("answers GET /health 200 with an empty body", async () => {
    const url = await seeded();
    const r = await fetch(`${url}/health`);
    expect([r.status, await r.text()]).toEqual([200, ""]);
  });

  it("counts requests, durations and values by status on /metrics, and the freshness of each view", async () => {
    const { spec } = fx();
    await advanceWatermark(openStore(spec.registry), { view: "txn_stats", end: new Date(NOW_MS - 90_000).toISOString(), ranAt: new Date(NOW_MS).toISOString(), rowsWritten: 2 });
    const url = await seeded();
    const scrape = async () => (await fetch(`${url}/metrics`)).text();
    // Nothing seen yet: no freshness sample (an absent series, not a made-up age).
    expect(await scrape()).not.toMatch(/^mlops_feature_freshness_seconds\{/m);
    await post(`${url}/get-online-features`, { features: ["txn_stats:spend_7d"], entities: { customer_id: [1001, 1002, 1003] } });
    await post(`${url}/get-online-features`, { features: ["nope:x"], entities: { customer_id: [1] } });
    const text = await scrape();
    expect(text).toContain('mlops_feature_requests_total{route="/get-online-features",status="200"} 1');
    expect(text).toContain('mlops_feature_requests_total{route="/get-online-features",status="404"} 1');
    expect(text).toMatch(/mlops_feature_request_duration_seconds_count\{route="\/get-online-features"\} 2/);
    expect(text).toContain('mlops_feature_values_total{view="txn_stats",status="PRESENT"} 1');
    expect(text).toContain('mlops_feature_values_total{view="txn_stats",status="OUTSIDE_MAX_AGE"} 1');
    expect(text).toContain('mlops_feature_values_total{view="txn_stats",status="NOT_FOUND"} 1');
    // The newest value the lookup found (1001, stamped T0) is 60 s old on the server's clock; 1002 is older.
    expect(text).toContain('mlops_feature_freshness_seconds{view="txn_stats"} 60');
    expect(text).toContain('mlops_feature_watermark_age_seconds{view="txn_stats"} 90');
    // Lookups: the one answered (the 404 never reached the store), in the serving histogram's buckets.
    expect(text).toMatch(/^mlops_feature_lookup_duration_seconds_count 1$/m);
    expect(text).toContain('mlops_feature_lookup_duration_seconds_bucket{le="0.0001"}');
    // A pushed row newer than anything read makes the view fresher; an older one changes nothing.
    const push = (ts: string) => post(`${url}/push`, { push_source_name: "txn_stats", df: { customer_id: [1005], event_timestamp: [ts], spend_7d: [1], txn_count_7d: [1], tier: ["a"] } });
    expect((await push("2026-01-02T03:00:50Z")).status).toBe(200);
    expect(await scrape()).toContain('mlops_feature_freshness_seconds{view="txn_stats"} 10');
    expect((await push("2026-01-02T02:00:00Z")).status).toBe(200);
    expect(await scrape()).toContain('mlops_feature_freshness_seconds{view="txn_stats"} 10');
  });

  const bad: Array<[string, string, string | object, Record<string, string>, number, RegExp]> = [
    ["invalid JSON", "/get-online-features", "{not json", JSON_HEADERS, 400, /^\(body\): is not valid JSON/],
    ["an empty body", "/get-online-features", "", JSON_HEADERS, 400, /^\(body\): is empty/],
    ["a text/plain body", "/get-online-features", "{}", { "content-type": "text/plain" }, 415, /must be JSON/],
    ["an unknown feature", "/get-online-features", { features: ["txn_stats:nope"], entities: { customer_id: [1] } }, JSON_HEADERS, 404, /^features\[0\]: is not a feature of view txn_stats/],
    ["a bad entity value", "/get-online-features", { features: ["txn_stats:tier"], entities: { customer_id: [true] } }, JSON_HEADERS, 400, /^entities\.customer_id\[0\]: is not a valid int64 join key value; received true/],
    ["too many entities", "/get-online-features", { features: ["txn_stats:tier"], entities: { customer_id: [1, 2, 3, 4, 5, 6] } }, JSON_HEADERS, 400, /^entities\.customer_id: holds more than 5 entity rows/],
    ["a push to the offline store", "/push", { push_source_name: "txn_stats", df: {}, to: "offline" }, JSON_HEADERS, 422, /^to: asks for an offline write/],
    ["an unknown push source", "/push", { push_source_name: "nope", df: {} }, JSON_HEADERS, 422, /^push_source_name: is not a push source of this store.*txn_stats/],
    ["a push missing a feature column", "/push", { push_source_name: "txn_stats", df: { customer_id: [1], event_timestamp: ["2026-01-01T00:00:00Z"], spend_7d: [1], txn_count_7d: [1] } }, JSON_HEADERS, 400, /^df\.tier: is missing/],
    ["a push with a bad value", "/push", { push_source_name: "txn_stats", df: { customer_id: [1], event_timestamp: ["2026-01-01T00:00:00Z"], spend_7d: ["lots"], txn_count_7d: [1], tier: ["a"] } }, JSON_HEADERS, 400, /^df\.spend_7d\[0\]: is not a float64 value; received "lots"/],
    ["a push with a bad timestamp", "/push", { push_source_name: "txn_stats", df: { customer_id: [1], event_timestamp: [1700000000], spend_7d: [1], txn_count_7d: [1], tier: ["a"] } }, JSON_HEADERS, 400, /^df\.event_timestamp\[0\]: is not an ISO 8601 timestamp string/],
  ];
  it.each(bad)("answers %s with a 4xx and {error} naming the field", async (_what, path, body, headers, status, message) => {
    const { spec, store } = fx();
    const url = await start(spec, store, { maxEntities: 5 });
    const r = await post(`${url}${path}`, body, headers);
    expect(r.status).toBe(status);
    expect(r.headers.get("content-type")).toBe("application/json");
    expect(Object.keys(r.json())).toEqual(["error"]);
    expect(r.json().error).toMatch(message);
  });

  it("refuses a body over the limit with 413, reading no further", async () => {
    const { spec, store } = fx();
    const url = await start(spec, store, { maxBodyBytes: 1000 });
    const r = await post(`${url}/get-online-features`, { features: ["txn_stats:tier"], entities: { customer_id: Array.from({ length: 500 }, (_, i) => i) } });
    expect(r.status).toBe(413);
    expect(r.json().error).toMatch(/more than the 1000 this server accepts/);
  });

  it("answers a wrong method with 405 and Allow, and an unknown path with 404 listing the paths", async () => {
    const url = await seeded();
    const r = await fetch(`${url}/get-online-features`);
    expect([r.status, r.headers.get("allow")]).toEqual([405, "POST"]);
    const nf = await fetch(`${url}/v2/models`);
    expect(nf.status).toBe(404);
    expect(((await nf.json()) as { error: string }).error).toMatch(/POST \/get-online-features/);
  });
});

describe("feature server HTTP edges", () => {
  const fx = useOnline("embedded");

  it("answers a malformed request line in the JSON error shape", async () => {
    const { createConnection } = await import("node:net");
    const url = new URL(await start(fx().spec, fx().store));
    const reply = await new Promise<string>((resolve) => {
      const socket = createConnection({ host: url.hostname, port: Number(url.port) }, () => socket.write("NOT HTTP\r\n\r\n"));
      let text = "";
      socket.on("data", (b: Buffer) => (text += b.toString()));
      socket.on("close", () => resolve(text));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(reply).toMatch(/\{"error":"malformed HTTP request"\}$/);
  });
});

describe("feature server with Redis gone", () => {
  it("answers 503 for lookups and health when Redis stops, naming the store, not a 500", async () => {
    const { mkdtemp, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = await mkdtemp(join(tmpdir(), "mlops-online-"));
    const redis = await startRedis();
    const spec = baseSpec(dir, { redis: { url: redis.url } });
    const store = await openOnlineStore(spec);
    try {
      const url = await start(spec, store);
      await redis.stop();
      await new Promise((r) => setTimeout(r, 200));
      const r = await post(`${url}/get-online-features`, { features: ["txn_stats:tier"], entities: { customer_id: [1] } });
      expect(r.status).toBe(503);
      expect(r.json().error).toMatch(/the online store did not answer/);
      expect((await fetch(`${url}/health`)).status).toBe(503);
    } finally {
      await server?.stop();
      server = undefined;
      await store.close().catch(() => {});
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
