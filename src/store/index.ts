import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { S3ClientConfig } from "@aws-sdk/client-s3";
import { MlopsError } from "../errors.js";
import { USER_ENV } from "../spec/env.js";
import { FileStore } from "./file.js";
import { S3Store } from "./s3.js";
import type { ObjectStore } from "./types.js";

export type { ObjectStore } from "./types.js";
export { FileStore } from "./file.js";
export { S3Store, type S3StoreOptions } from "./s3.js";

export interface OpenStoreOptions {
  /**
   * Environment read for the S3 endpoint (`MLOPS_S3_ENDPOINT`, else `AWS_ENDPOINT_URL_S3`), region
   * (`AWS_REGION`, else `AWS_DEFAULT_REGION`) and static credentials (`AWS_ACCESS_KEY_ID` +
   * `AWS_SECRET_ACCESS_KEY`; otherwise the SDK's default provider chain).
   * @default process.env
   */
  readonly env?: NodeJS.ProcessEnv;
  /** Relative `file://` paths resolve against this folder. @default process.cwd() */
  readonly cwd?: string;
}

/**
 * Opens an object store from a URI:
 * - `file:///abs/path`, or `file://rel/path` resolved against the working directory;
 * - `s3://bucket[/prefix]`, on AWS or, with `MLOPS_S3_ENDPOINT` set, any S3-compatible server
 *   (path-style addressing).
 * @example openStore("s3://acme-models/prod/registry")
 */
export function openStore(uri: string, opts: OpenStoreOptions = {}): ObjectStore {
  const env = opts.env ?? process.env;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === "file") return new FileStore(filePath(uri, opts.cwd ?? process.cwd()));
  if (scheme === "s3") {
    const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/i.exec(uri);
    const bucket = m?.[1] ?? "";
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw MlopsError.of("store URI", "does not name a valid S3 bucket", uri, 'Write "s3://<bucket>[/<prefix>]" with a bucket name of 3-63 lowercase letters, digits, "." and "-".');
    }
    return new S3Store({ bucket, prefix: m?.[2] ?? "", clientConfig: s3ClientConfig(env) });
  }
  throw MlopsError.of(
    "store URI",
    "is not a supported object store URI",
    uri,
    'Use "file://<path>" (a local folder, e.g. "file://.mlops/registry") or "s3://<bucket>[/<prefix>]".',
  );
}

/** The local path of a `file://` URI: `file:///abs/path`, or `file://rel/path` resolved against `cwd`. */
export function filePath(uri: string, cwd: string = process.cwd()): string {
  const rest = uri.slice("file://".length);
  if (rest === "") {
    throw MlopsError.of("store URI", "names no folder", uri, 'Write "file://<path>", e.g. "file://.mlops/registry" or "file:///var/lib/mlops".');
  }
  // `file:///abs` is a real file URL (percent-decoded); `file://rel/path` is the informal relative form.
  return rest.startsWith("/") ? fileURLToPath(`file://${rest}`) : path.resolve(cwd, rest);
}

/** The S3 client settings read from the environment (see {@link OpenStoreOptions.env}). */
export function s3ClientConfig(env: NodeJS.ProcessEnv = process.env): S3ClientConfig {
  const endpoint = env[USER_ENV.s3Endpoint] || env.AWS_ENDPOINT_URL_S3 || undefined;
  const config: S3ClientConfig = { region: env.AWS_REGION || env.AWS_DEFAULT_REGION || "us-east-1" };
  if (endpoint) {
    config.endpoint = endpoint;
    // S3-compatible servers rarely have wildcard DNS for virtual-hosted buckets, and many do not
    // implement the SDK's default flexible checksums (aws-chunked uploads): stay with the common subset.
    config.forcePathStyle = true;
    config.requestChecksumCalculation = "WHEN_REQUIRED";
    config.responseChecksumValidation = "WHEN_REQUIRED";
  }
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    config.credentials = {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    };
  }
  return config;
}
