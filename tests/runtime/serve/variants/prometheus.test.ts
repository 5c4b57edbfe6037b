/**
 * The Prometheus analysis source (spec `analysis.prometheus`), against a stand-in Prometheus HTTP API on
 * 127.0.0.1: the PromQL it sends (requests, errors with fallbacks, p99 per variant over the bake window,
 * with the spec's selector), empty vectors and NaN as no traffic, a failed query as an error, and a
 * canary rolled back on the numbers all replicas' series give.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { PrometheusAnalysisSource } from "../../../../runtime/serve/variants/index.js";
import { readRollout } from "../../../../src/registry/rollouts.js";
import { eventsUntil, waitFor } from "../helpers.js";
import { load, MODEL, serveVariants, tally } from "./fixture.js";

let prom: Server | undefined;
afterEach(async () => {
  prom?.closeAllConnections();
  await new Promise<void>((r) => (prom ? prom.close(() => r()) : r()));
  prom = undefined;
});

/** A Prometheus API answering each query with `answer(query)` (a number, NaN, undefined for an empty vector, or an HTTP status). */
async function fakePrometheus(answer: (q: string) => number | undefined | { status: number }): Promise<{ url: string; queries: string[] }> {
  const queries: string[] = [];
  prom = createServer((req, res) => {
    const q = new URL(req.url!, "http://x").searchParams.get("query") ?? "";
    queries.push(q);
    const a = answer(q);
    if (typeof a === "object") {
      res.writeHead(a.status, { "content-type": "application/json" }).end(JSON.stringify({ status: "error", errorType: "bad_data", error: "parse error" }));
      return;
    }
    const result = a === undefined ? [] : [{ metric: {}, value: [Date.now() / 1000, String(a)] }];
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "success", data: { resultType: "vector", result } }));
  });
  await new Promise<void>((r) => prom!.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(prom.address() as AddressInfo).port}`, queries };
}

describe("PrometheusAnalysisSource", () => {
  it("queries both variants over the window with the selector, and reads the first sample", async () => {
    const p = await fakePrometheus((q) => {
      if (q.startsWith("histogram_quantile")) return q.includes('variant="canary"') ? 0.08 : 0.02;
      if (q.includes("mlops_canary_fallbacks_total")) return 7;
      if (q.includes('status=~"5.."')) return 3;
      return q.includes('variant="canary"') ? 100 : 900;
    });
    const src = new PrometheusAnalysisSource({ url: p.url + "/", model: MODEL, selector: 'mlops_endpoint="fraud"', timeoutSeconds: 5, now: () => 61_000 });
    expect(await src.read(1_000)).toEqual({ stable: { requests: 900, errors: 3, p99Seconds: 0.02 }, canary: { requests: 100, errors: 7, p99Seconds: 0.08 } });
    expect(p.queries).toContain('sum(increase(mlops_requests_total{model="logistic",mlops_endpoint="fraud",route="infer",variant="stable"}[60s]))');
    expect(p.queries).toContain(
      '(sum(increase(mlops_requests_total{model="logistic",mlops_endpoint="fraud",route="infer",variant="canary",status=~"5.."}[60s])) or vector(0)) + (sum(increase(mlops_canary_fallbacks_total{model="logistic",mlops_endpoint="fraud"}[60s])) or vector(0))',
    );
    expect(p.queries).toContain('histogram_quantile(0.99, sum by (le) (increase(mlops_request_duration_seconds_bucket{model="logistic",mlops_endpoint="fraud",variant="canary"}[60s])))');
  });

  it("reads an empty vector and NaN as no traffic, and throws on a failed query", async () => {
    const p = await fakePrometheus((q) => (q.startsWith("histogram_quantile") ? NaN : undefined));
    const src = new PrometheusAnalysisSource({ url: p.url, model: MODEL, timeoutSeconds: 5 });
    expect(await src.read(Date.now())).toEqual({ stable: { requests: 0, errors: 0, p99Seconds: undefined }, canary: { requests: 0, errors: 0, p99Seconds: undefined } });
    prom!.closeAllConnections();
    await new Promise<void>((r) => prom!.close(() => r()));
    const bad = await fakePrometheus(() => ({ status: 400 }));
    await expect(new PrometheusAnalysisSource({ url: bad.url, model: MODEL, timeoutSeconds: 5 }).read(0)).rejects.toThrow(/Prometheus query failed \(HTTP 400: parse error\)/);
  });

  it("rolls a canary back on what Prometheus reports of all replicas, with zero failed requests here", async () => {
    // This pod's canary is fine; the fleet's numbers say it fails 20% of its requests.
    const p = await fakePrometheus((q) => {
      if (q.startsWith("histogram_quantile")) return 0.01;
      if (q.includes("mlops_canary_fallbacks_total")) return 40;
      if (q.includes('status=~"5.."')) return 0;
      return q.includes('variant="canary"') ? 200 : 2000;
    });
    const s = await serveVariants({ canary: { model: `${MODEL}:2`, weight: 20, bakeSeconds: 60, analysis: { prometheus: { url: p.url } } } });
    try {
      const answers = await load(s.inferUrl, 300);
      await waitFor(async () => (await readRollout(s.registry.store, MODEL))?.canary?.phase === "rolled-back", 10_000);
      expect(tally(answers).failed).toEqual([]);
      const events = await eventsUntil(s.registry.store, MODEL, "rollback");
      expect(events.at(-1)).toMatchObject({ kind: "rollback", analysis: { canary: { requests: 200, errors: 40, errorRatio: 0.2 }, stable: { requests: 2000, errorRatio: 0 } } });
    } finally {
      await s.close();
    }
  });
});
