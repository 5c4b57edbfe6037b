import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFor, infer, inferBody, rows, sample } from "./helpers.js";

describe("/metrics", () => {
  let h: Awaited<ReturnType<typeof appFor>>;
  let text: string;
  beforeAll(async () => {
    h = await appFor("logistic");
    await infer(h.app, "logistic", inferBody(rows(2)));
    await infer(h.app, "logistic", inferBody(rows(1)));
    await infer(h.app, "logistic", "not json");
    const r = await h.app.inject({ method: "GET", url: "/metrics" });
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toMatch(/^text\/plain/);
    text = r.body;
  });
  afterAll(() => h.cleanup());

  it("counts infer requests by model, version and status code", () => {
    expect(sample(text, "mlops_requests_total", { model: "logistic", version: "1", status: "200" })).toBe(2);
    expect(sample(text, "mlops_requests_total", { model: "logistic", version: "1", status: "400" })).toBe(1);
  });

  it("times infer requests in a histogram", () => {
    expect(sample(text, "mlops_request_duration_seconds_count", { model: "logistic", version: "1" })).toBe(3);
  });

  it("records rows per run in the batch size histogram", () => {
    expect(sample(text, "mlops_batch_size_sum", { model: "logistic", version: "1" })).toBe(3);
  });

  it("reports the queue depth", () => {
    expect(sample(text, "mlops_queue_depth")).toBe(0);
  });

  it("reports the model load time", () => {
    expect(sample(text, "mlops_model_load_duration_seconds", { model: "logistic", version: "1" })).toBeGreaterThan(0);
  });

  it("sets the model info gauge with the artifact digest", () => {
    const digest = /mlops_model_info\{[^}]*digest="(sha256:[0-9a-f]{64})"/.exec(text)?.[1];
    expect(digest).toBeDefined();
    expect(sample(text, "mlops_model_info", { model: "logistic", version: "1", digest: digest! })).toBe(1);
  });

  it("exports process metrics under their standard names, without the mlops_ prefix", () => {
    expect(sample(text, "process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(text).not.toMatch(/^mlops_(process|nodejs)_/m);
  });

  it("keeps every sample's labels to a fixed small set", () => {
    const labelNames = new Set<string>();
    for (const m of text.matchAll(/^mlops_(?:requests_total|request_duration_seconds_bucket|batch_size_bucket)\{([^}]*)\}/gm)) {
      for (const [, k] of m[1]!.matchAll(/(\w+)="/g)) labelNames.add(k!);
    }
    expect([...labelNames].sort()).toEqual(["le", "model", "route", "status", "variant", "version"]);
  });
});
