import { describe, expect, it } from "vitest";
import { appFor, infer, inferBody, rows, sample } from "./helpers.js";

/** Sum of `mlops_batch_size` observations above `le` (count of runs with more than `le` rows). */
async function runsAbove(metricsText: string, le: string): Promise<number> {
  const total = sample(metricsText, "mlops_batch_size_count") ?? 0;
  const atMost = sample(metricsText, "mlops_batch_size_bucket", { le }) ?? 0;
  return total - atMost;
}

describe("dynamic batching", () => {
  it("gives each of 50 concurrent callers the same numbers as a sequential run", async () => {
    const batched = await appFor("logistic", { spec: { batching: { maxBatchSize: 16, maxBatchDelayMs: 5 } } });
    const single = await appFor("logistic", { spec: { batching: { maxBatchSize: 1 } } });
    try {
      const requests = Array.from({ length: 50 }, (_, i) => inferBody(rows(1 + (i % 3), 30, i + 1), { id: `r${i}` }));
      const sequential: unknown[] = [];
      for (const body of requests) sequential.push((await infer(single.app, "logistic", body)).json());
      const concurrent = await Promise.all(requests.map((body) => infer(batched.app, "logistic", body)));
      expect(concurrent.map((r) => r.status)).toEqual(requests.map(() => 200));
      expect(concurrent.map((r) => r.json())).toEqual(sequential);
    } finally {
      await batched.cleanup();
      await single.cleanup();
    }
  });

  it("merges concurrent requests into runs of more than one row, up to maxBatchSize", async () => {
    const h = await appFor("logistic", { spec: { batching: { maxBatchSize: 16, maxBatchDelayMs: 5 } } });
    try {
      await Promise.all(Array.from({ length: 50 }, (_, i) => infer(h.app, "logistic", inferBody(rows(1, 30, i + 1)))));
      const text = await h.app.metrics.metrics();
      expect(await runsAbove(text, "1")).toBeGreaterThan(0);
      expect(await runsAbove(text, "16")).toBe(0);
      expect(sample(text, "mlops_batch_size_sum")).toBe(50);
    } finally {
      await h.cleanup();
    }
  });

  it("runs every request alone when maxBatchSize is 1", async () => {
    const h = await appFor("logistic", { spec: { batching: { maxBatchSize: 1 } } });
    try {
      await Promise.all(Array.from({ length: 20 }, (_, i) => infer(h.app, "logistic", inferBody(rows(1, 30, i + 1)))));
      const text = await h.app.metrics.metrics();
      expect(sample(text, "mlops_batch_size_count")).toBe(20);
      expect(await runsAbove(text, "1")).toBe(0);
    } finally {
      await h.cleanup();
    }
  });

  it("runs a model without a dynamic first dimension one request at a time", async () => {
    const h = await appFor("fixed", { spec: { batching: { maxBatchSize: 16 } } });
    try {
      const bodies = Array.from({ length: 10 }, (_, i) => ({
        inputs: [{ name: "x", datatype: "FP32", shape: [2, 3], data: [i, i, i, i, i, i + 1] }],
      }));
      const results = await Promise.all(bodies.map((b) => infer(h.app, "fixed", b)));
      expect(results.map((r) => r.json().outputs[0].data)).toEqual(bodies.map((_, i) => [2 * i, 2 * i, 2 * i, 2 * i, 2 * i, 2 * i + 2]));
      const text = await h.app.metrics.metrics();
      expect(sample(text, "mlops_batch_size_count")).toBe(10);
      expect(sample(text, "mlops_batch_size_sum")).toBe(20);
    } finally {
      await h.cleanup();
    }
  });

  it("batches a multi-input model and splits every output back", async () => {
    const h = await appFor("multitype", { spec: { batching: { maxBatchSize: 8 } } });
    try {
      const body = (i: number) => ({
        inputs: [
          { name: "a", datatype: "FP64", shape: [1, 2], data: [i, 0.5] },
          { name: "b", datatype: "INT32", shape: [1, 2], data: [i, 1] },
          { name: "c", datatype: "INT64", shape: [1, 2], data: [i, 2] },
          { name: "d", datatype: "BOOL", shape: [1, 2], data: [i % 2 === 0, true] },
          { name: "e", datatype: "INT8", shape: [1, 2], data: [i, 3] },
          { name: "f", datatype: "UINT8", shape: [1, 2], data: [i, 4] },
          { name: "g", datatype: "INT16", shape: [1, 2], data: [i, 5] },
        ],
      });
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => infer(h.app, "multitype", body(i))));
      results.forEach((r, i) => {
        const out = Object.fromEntries(r.json().outputs.map((o: { name: string; data: unknown }) => [o.name, o.data]));
        expect(out.c_out).toEqual([i + 1, 3]);
        expect(out.d_out).toEqual([i % 2 !== 0, false]);
        expect(out.total).toEqual([i + 0.5 + i + 1 + i + 2 + (i % 2 === 0 ? 1 : 0) + 1]);
      });
      expect(await runsAbove(await h.app.metrics.metrics(), "1")).toBeGreaterThan(0);
    } finally {
      await h.cleanup();
    }
  });
});
