import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFor } from "./helpers.js";

describe("metadata: GET /v2 and GET /v2/models/{m}[/versions/{v}]", () => {
  let h: Awaited<ReturnType<typeof appFor>>;
  beforeAll(async () => {
    h = await appFor("logistic");
  });
  afterAll(() => h.cleanup());

  it("describes the server with name, version and extensions", async () => {
    const r = await h.app.inject({ method: "GET", url: "/v2" });
    expect(r.status).toBe(200);
    const body = r.json();
    expect(body.name).toBe("mlops-serve");
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(body.extensions).toEqual(["binary_tensor_data"]);
  });

  it("describes the model from its ONNX graph", async () => {
    const r = await h.app.inject({ method: "GET", url: "/v2/models/logistic" });
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(r.json()).toEqual({
      name: "logistic",
      versions: ["1"],
      platform: "onnxruntime_onnx",
      inputs: [{ name: "x", datatype: "FP32", shape: [-1, 30] }],
      outputs: [{ name: "probability", datatype: "FP32", shape: [-1, 1] }],
    });
  });

  it("describes the loaded version under /versions/{v}", async () => {
    const r = await h.app.inject({ method: "GET", url: "/v2/models/logistic/versions/1" });
    expect(r.status).toBe(200);
    expect(r.json().versions).toEqual(["1"]);
  });

  it("answers model ready with and without a version", async () => {
    const a = await h.app.inject({ method: "GET", url: "/v2/models/logistic/ready" });
    const b = await h.app.inject({ method: "GET", url: "/v2/models/logistic/versions/1/ready" });
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.json()).toEqual({ name: "logistic", ready: true });
  });

  it("fails with 404 naming the served model for an unknown model", async () => {
    const r = await h.app.inject({ method: "GET", url: "/v2/models/fraud" });
    expect(r.status).toBe(404);
    expect(r.json().error).toMatch(/"fraud" is not served here.*"logistic"/);
  });

  it("fails with 404 naming the loaded version for another version", async () => {
    const r = await h.app.inject({ method: "GET", url: "/v2/models/logistic/versions/7/ready" });
    expect(r.status).toBe(404);
    expect(r.json().error).toMatch(/version "7".*version 1 loaded/);
  });

  it("fails with 404 for an unknown action under a model", async () => {
    const r = await h.app.inject({ method: "GET", url: "/v2/models/logistic/explain" });
    expect(r.status).toBe(404);
  });

  it("fails with 405 when metadata is POSTed", async () => {
    const r = await h.app.inject({ method: "POST", url: "/v2/models/logistic", body: "{}" });
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe("GET");
  });
});

describe("metadata of a fixed-shape and a multi-type model", () => {
  it("reports fixed dimensions as they are", async () => {
    const h = await appFor("fixed");
    try {
      const r = await h.app.inject({ method: "GET", url: "/v2/models/fixed" });
      expect(r.json().inputs).toEqual([{ name: "x", datatype: "FP32", shape: [2, 3] }]);
    } finally {
      await h.cleanup();
    }
  });

  it("reports each input's OIP datatype", async () => {
    const h = await appFor("multitype");
    try {
      const r = await h.app.inject({ method: "GET", url: "/v2/models/multitype" });
      expect(r.json().inputs.map((i: { datatype: string }) => i.datatype)).toEqual(["FP64", "INT32", "INT64", "BOOL", "INT8", "UINT8", "INT16"]);
    } finally {
      await h.cleanup();
    }
  });
});
