import { describe, expect, it } from "vitest";
import { MlopsError, NotFoundError } from "../../../src/errors.js";
import {
  ArtifactRejected,
  classifyLoadError,
  DEFAULT_LOAD_RETRY,
  normalizeRetry,
  retryDelayMs,
} from "../../../runtime/serve/load-retry.js";

const noJitter = () => 0;

describe("retryDelayMs", () => {
  it("waits 0.5 s after the first failure by default, doubling after each", () => {
    const o = normalizeRetry();
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, o, noJitter))).toEqual([500, 1000, 2000, 4000]);
  });

  it("caps the wait at 30 s by default", () => {
    expect(retryDelayMs(40, normalizeRetry(), noJitter)).toBe(30_000);
  });

  it("takes up to the jitter fraction off, never adding to the cap", () => {
    const o = normalizeRetry({ jitter: 0.2 });
    expect(retryDelayMs(40, o, () => 0.999_999)).toBe(24_000);
    expect(retryDelayMs(1, o, () => 0.5)).toBe(450);
  });

  it("uses the given settings over the defaults", () => {
    const o = normalizeRetry({ initialDelayMs: 10, maxDelayMs: 25, multiplier: 3 });
    expect([1, 2, 3].map((n) => retryDelayMs(n, o, noJitter))).toEqual([10, 25, 25]);
    expect(o.jitter).toBe(DEFAULT_LOAD_RETRY.jitter);
  });

  it("fails when the settings would spin", () => {
    expect(() => normalizeRetry({ initialDelayMs: 0 })).toThrow(/initialDelayMs > 0/);
    expect(() => normalizeRetry({ initialDelayMs: 100, maxDelayMs: 50 })).toThrow(/maxDelayMs >= initialDelayMs/);
  });
});

describe("classifyLoadError", () => {
  it("names a missing model, alias or artifact not_found", () => {
    expect(classifyLoadError(new NotFoundError('Model "m" has no alias "champion"'))).toBe("not_found");
  });

  it("names an S3 AccessDenied access_denied", () => {
    const e = Object.assign(new Error("Access Denied"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } });
    expect(classifyLoadError(e)).toBe("access_denied");
  });

  it("names missing credentials and unreadable files access_denied", () => {
    expect(classifyLoadError(Object.assign(new Error("Could not load credentials"), { name: "CredentialsProviderError" }))).toBe("access_denied");
    expect(classifyLoadError(Object.assign(new Error("permission denied"), { code: "EACCES" }))).toBe("access_denied");
  });

  it("names a refused connection, also when wrapped in a cause, unreachable", () => {
    const socket = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" });
    expect(classifyLoadError(new Error("fetch failed", { cause: socket }))).toBe("unreachable");
    expect(classifyLoadError(Object.assign(new Error("Service Unavailable"), { $metadata: { httpStatusCode: 503 } }))).toBe("unreachable");
  });

  it("names a digest mismatch and an artifact onnxruntime rejects corrupt_artifact", () => {
    expect(classifyLoadError(new MlopsError('Model "m" version 1: artifact in file:///r is corrupt (digest sha256:ab, expected sha256:cd).'))).toBe(
      "corrupt_artifact",
    );
    expect(classifyLoadError(new ArtifactRejected("protobuf parsing failed"))).toBe("corrupt_artifact");
  });

  it("names anything else error", () => {
    expect(classifyLoadError(new Error("something else"))).toBe("error");
    expect(classifyLoadError("a string")).toBe("error");
  });
});
