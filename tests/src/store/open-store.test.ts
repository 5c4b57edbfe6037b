import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { MlopsError } from "../../../src/errors.js";
import { FileStore, openStore, S3Store, s3ClientConfig } from "../../../src/store/index.js";

describe("openStore", () => {
  it("resolves a relative file:// path against the working directory", () => {
    const store = openStore("file://.mlops/registry", { cwd: "/srv/app" });
    expect(store.uri).toBe("file:///srv/app/.mlops/registry");
  });

  it("opens an absolute file:// URI as a folder store", () => {
    const store = openStore("file:///var/lib/my%20models/");
    expect([store instanceof FileStore, (store as FileStore).root]).toEqual([true, path.resolve("/var/lib/my models")]);
  });

  it("opens s3://bucket/prefix with the prefix trimmed", () => {
    const store = openStore("s3://acme-models/prod/registry/", { env: {} }) as S3Store;
    expect([store instanceof S3Store, store.bucket, store.prefix, store.uri]).toEqual([
      true,
      "acme-models",
      "prod/registry",
      "s3://acme-models/prod/registry",
    ]);
  });

  it("puts the S3 prefix into object URIs", () => {
    expect(openStore("s3://acme-models/prod", { env: {} }).uriOf("blobs/x")).toBe("s3://acme-models/prod/blobs/x");
  });

  it("fails when the scheme is unknown, naming the accepted ones", () => {
    expect(() => openStore("gs://bucket/x")).toThrow(/"gs:\/\/bucket\/x".*file:\/\/.*s3:\/\//s);
  });

  it("fails when the URI has no scheme", () => {
    expect(() => openStore("/var/lib/models")).toThrow(MlopsError);
  });

  it("fails when the S3 bucket name is invalid", () => {
    expect(() => openStore("s3://Bad_Bucket/x", { env: {} })).toThrow(/valid S3 bucket/);
  });
});

describe("s3ClientConfig", () => {
  it("uses us-east-1 and the SDK's endpoint by default", () => {
    expect(s3ClientConfig({})).toEqual({ region: "us-east-1" });
  });

  it("uses MLOPS_S3_ENDPOINT with path-style addressing", () => {
    const config = s3ClientConfig({ MLOPS_S3_ENDPOINT: "http://127.0.0.1:9000", AWS_ENDPOINT_URL_S3: "http://other" });
    expect([config.endpoint, config.forcePathStyle]).toEqual(["http://127.0.0.1:9000", true]);
  });

  it("falls back to AWS_ENDPOINT_URL_S3", () => {
    expect(s3ClientConfig({ AWS_ENDPOINT_URL_S3: "http://minio:9000" }).endpoint).toBe("http://minio:9000");
  });

  it("reads the region from AWS_REGION", () => {
    expect(s3ClientConfig({ AWS_REGION: "eu-west-1" }).region).toBe("eu-west-1");
  });
});
