// The feature server's /metrics after traffic (lookups found and not, a push, a refused request), so that
// every family has samples: `promtool check metrics` passes (Debian's prometheus package), the freshness
// gauge and the lookup histogram are there, and the histogram's buckets are `mlops serve`'s of the same name.
import { spawnSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { LOOKUP_BUCKETS_SECONDS } from "../../../runtime/features/server-metrics.js";
import { startFeatureServer, type RunningFeatureServer } from "../../../runtime/features/server-listen.js";
import { featureLookupMetrics } from "../../../runtime/serve/feature-input/metrics.js";
import { Registry } from "prom-client";
import { advanceWatermark } from "../../../src/features/watermarks.js";
import { openStore } from "../../../src/store/index.js";
import { ONLINE_KINDS, useOnline } from "./online/helpers.js";

const T0 = Date.UTC(2026, 0, 2, 3, 0, 0) * 1000; // µs
const NOW_MS = T0 / 1000 + 30_000;
const JSON_HEADERS = { "content-type": "application/json" };

function promtoolCheck(text: string): { code: number | null; output: string } {
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  if (r.error) throw new Error(`promtool is not installed (apt-get install -y prometheus): ${r.error.message}`);
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

let server: RunningFeatureServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe.each(ONLINE_KINDS)("the feature server's /metrics over the %s store", (kind) => {
  const fx = useOnline(kind);

  it("passes promtool check metrics after traffic, with freshness, watermark age and lookup latency", async () => {
    const { spec, store } = fx();
    await store.write(spec.views[0]!, [{ key: "1", eventMicros: T0, createdMicros: -1, values: ["1.5", "2", '"a"'] }]);
    await advanceWatermark(openStore(spec.registry), { view: "txn_stats", end: new Date(NOW_MS - 5_000).toISOString(), ranAt: new Date(NOW_MS).toISOString(), rowsWritten: 1 });
    server = await startFeatureServer(spec, { store, port: 0, now: () => NOW_MS });
    const post = (path: string, body: unknown) => fetch(`${server!.url}${path}`, { method: "POST", headers: JSON_HEADERS, body: JSON.stringify(body) });
    expect((await post("/get-online-features", { features: ["txn_stats:spend_7d", "txn_stats:tier"], entities: { customer_id: [1, 2] } })).status).toBe(200);
    expect((await post("/get-online-features", { features: ["txn_stats:nope"], entities: { customer_id: [1] } })).status).toBe(404);
    expect((await post("/push", { push_source_name: "txn_stats", df: { customer_id: [3], event_timestamp: ["2026-01-02T02:59:00Z"], spend_7d: [1], txn_count_7d: [1], tier: ["b"] } })).status).toBe(200);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(promtoolCheck(text)).toEqual({ code: 0, output: "" });
    expect(text).toMatch(/^# TYPE mlops_feature_freshness_seconds gauge$/m);
    expect(text).toContain('mlops_feature_freshness_seconds{view="txn_stats"} 30');
    expect(text).toContain('mlops_feature_watermark_age_seconds{view="txn_stats"} 5');
    expect(text).toMatch(/^# TYPE mlops_feature_lookup_duration_seconds histogram$/m);
    expect(text).toMatch(/^mlops_feature_lookup_duration_seconds_count 1$/m);
  });
});

describe("mlops_feature_lookup_duration_seconds", () => {
  it("has the buckets of mlops serve's histogram of that name, so the dashboard's quantile sums like buckets", () => {
    const registry = new Registry();
    featureLookupMetrics(registry, []);
    const serve = registry.getSingleMetric("mlops_feature_lookup_duration_seconds") as unknown as { upperBounds: number[] };
    expect(serve.upperBounds).toEqual([...LOOKUP_BUCKETS_SECONDS]);
  });
});
