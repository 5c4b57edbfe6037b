import { gunzipSync, inflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acceptedEncoding, COMPRESS_MIN_BYTES } from "../../../runtime/serve/routes/infer.js";
import { inferBody, rows } from "./helpers.js";
import { serveFixture, type Live } from "./live.js";
import { decodeAnswer, encodeRequest, post } from "./oip-client.js";

// Large infer answers are compressed when the client accepts it (tritonclient's
// response_compression_algorithm sends Accept-Encoding: gzip or deflate); small ones are not worth it.

describe("compressed infer answers", () => {
  let live: Live;
  beforeAll(async () => {
    live = await serveFixture("logistic");
  });
  afterAll(() => live.close());

  const big = Buffer.from(JSON.stringify(inferBody(rows(300))));
  const json = { "content-type": "application/json" };

  it("gzips a large answer for Accept-Encoding: gzip, with Vary", async () => {
    const plain = await post(live.inferUrl, big, json);
    expect(plain.body.length).toBeGreaterThan(COMPRESS_MIN_BYTES);
    expect(plain.headers["content-encoding"]).toBeUndefined();
    const r = await post(live.inferUrl, big, { ...json, "accept-encoding": "gzip" });
    expect(r.status).toBe(200);
    expect(r.headers["content-encoding"]).toBe("gzip");
    expect(r.headers.vary).toBe("Accept-Encoding");
    expect(r.body.length).toBeLessThan(plain.body.length);
    expect(gunzipSync(r.body).equals(plain.body)).toBe(true);
  });

  it("deflates for Accept-Encoding: deflate", async () => {
    const plain = await post(live.inferUrl, big, json);
    const r = await post(live.inferUrl, big, { ...json, "accept-encoding": "deflate" });
    expect(r.headers["content-encoding"]).toBe("deflate");
    expect(inflateSync(r.body).equals(plain.body)).toBe(true);
  });

  it("sends a small answer as it is, still with Vary", async () => {
    const r = await post(live.inferUrl, Buffer.from(JSON.stringify(inferBody(rows(1)))), { ...json, "accept-encoding": "gzip" });
    expect(r.headers["content-encoding"]).toBeUndefined();
    expect(r.headers.vary).toBe("Accept-Encoding");
    expect(JSON.parse(r.body.toString()).outputs[0].shape).toEqual([1, 1]);
  });

  it("gzips a large binary answer, Inference-Header-Content-Length counting the uncompressed body", async () => {
    const { body, headers } = encodeRequest({ inputs: [{ name: "x", datatype: "FP32", shape: [300, 30], values: rows(300).flat(), binary: true }], binaryDataOutput: true });
    const r = await post(live.inferUrl, body, { ...headers, "accept-encoding": "gzip" });
    expect(r.headers["content-encoding"]).toBe("gzip");
    const answer = decodeAnswer(r.status, r.headers, r.body);
    expect(answer.outputs.probability!.shape).toEqual([300, 1]);
    expect(answer.outputs.probability!.values).toHaveLength(300);
  });
});

describe("Accept-Encoding", () => {
  it.each([
    ["gzip", "gzip"],
    ["deflate", "deflate"],
    ["gzip, deflate, br", "gzip"],
    ["br;q=1, deflate;q=0.5", "deflate"],
    ["gzip;q=0, deflate", "deflate"],
    ["gzip;q=0", undefined],
    ["identity", undefined],
    ["*", "gzip"],
    ["*, gzip;q=0", "deflate"],
    ["br", undefined],
  ])("%s → %s", (header, want) => {
    expect(acceptedEncoding(header)).toBe(want);
  });
});
