import { createReadStream, createWriteStream } from "node:fs";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { S3Client, S3ClientConfig } from "@aws-sdk/client-s3";
import { MlopsError, NotFoundError } from "../errors.js";
import { checkKey, checkPrefix } from "./keys.js";
import type { ObjectStore } from "./types.js";

type Sdk = typeof import("@aws-sdk/client-s3");
let sdkLoad: Promise<Sdk> | undefined;
/**
 * The AWS SDK, loaded on first use: loading it takes about a quarter of a second, which every command that
 * only touches `file://` stores (the local default) would otherwise pay at start.
 */
const loadSdk = (): Promise<Sdk> => (sdkLoad ??= import("@aws-sdk/client-s3"));

/** How many times a conditional write is retried when S3 answers 409 ConditionalRequestConflict. */
const CONFLICT_RETRIES = 5;

export interface S3StoreOptions {
  readonly bucket: string;
  /** Key prefix inside the bucket, without leading or trailing "/". @default "" */
  readonly prefix?: string;
  /** A configured client; when given, `clientConfig` is ignored. @default - a client from `clientConfig` */
  readonly client?: S3Client;
  readonly clientConfig?: S3ClientConfig;
}

/**
 * An object store on S3 or any S3-compatible API. Single PUTs are atomic on S3 (readers see the old
 * object or the new one), and `putIfAbsent` is a conditional write (`If-None-Match: *`), which S3 has
 * supported since August 2024: the store's one cross-process commit primitive.
 */
export class S3Store implements ObjectStore {
  readonly uri: string;
  readonly bucket: string;
  readonly prefix: string;
  private readonly opts: S3StoreOptions;
  private ready: Promise<{ client: S3Client; sdk: Sdk }> | undefined;

  constructor(opts: S3StoreOptions) {
    this.opts = opts;
    this.bucket = opts.bucket;
    this.prefix = (opts.prefix ?? "").replace(/^\/+|\/+$/g, "");
    this.uri = `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ""}`;
  }

  /** The SDK and the client (the one given, or one made from `clientConfig` on first use). */
  private s3(): Promise<{ client: S3Client; sdk: Sdk }> {
    return (this.ready ??= loadSdk().then((sdk) => ({ sdk, client: this.opts.client ?? new sdk.S3Client(this.opts.clientConfig ?? {}) })));
  }

  async get(key: string): Promise<Buffer | undefined> {
    const { client, sdk } = await this.s3();
    try {
      const out = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.full(key) }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async put(key: string, body: Buffer | string): Promise<void> {
    const { client, sdk } = await this.s3();
    await client.send(new sdk.PutObjectCommand({ Bucket: this.bucket, Key: this.full(key), Body: toBuffer(body) }));
  }

  async putIfAbsent(key: string, body: Buffer | string): Promise<boolean> {
    const { client, sdk } = await this.s3();
    const input = { Bucket: this.bucket, Key: this.full(key), Body: toBuffer(body), IfNoneMatch: "*" };
    for (let attempt = 0; ; attempt++) {
      try {
        await client.send(new sdk.PutObjectCommand(input));
        return true;
      } catch (err) {
        const status = statusOf(err);
        if (status === 412) return false;
        // 409: another conditional write on this key was in flight; S3 asks the caller to retry.
        // https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
        if (status === 409 && attempt < CONFLICT_RETRIES) {
          await new Promise((r) => setTimeout(r, 20 * 2 ** attempt * (0.5 + Math.random())));
          continue;
        }
        throw err;
      }
    }
  }

  async list(prefix: string): Promise<string[]> {
    const { client, sdk } = await this.s3();
    checkPrefix(prefix);
    const base = this.prefix ? `${this.prefix}/` : "";
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await client
        .send(new sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: base + prefix, ContinuationToken: token }))
        .catch((err: unknown) => {
          throw (err as { name?: string }).name === "NoSuchBucket" ? noBucket(err) : err;
        });
      for (const obj of out.Contents ?? []) if (obj.Key) keys.push(obj.Key.slice(base.length));
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  async exists(key: string): Promise<boolean> {
    const { client, sdk } = await this.s3();
    try {
      await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.full(key) }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    const { client, sdk } = await this.s3();
    await client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.full(key) }));
  }

  async putFile(key: string, localPath: string): Promise<void> {
    const { client, sdk } = await this.s3();
    const { size } = await fs.stat(localPath);
    // One PUT (up to 5 GiB): S3 needs the length up front to take a stream.
    await client.send(
      new sdk.PutObjectCommand({
        Bucket: this.bucket,
        Key: this.full(key),
        Body: createReadStream(localPath),
        ContentLength: size,
      }),
    );
  }

  async getFile(key: string, localPath: string): Promise<void> {
    const { client, sdk } = await this.s3();
    let body: Readable;
    try {
      const out = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.full(key) }));
      body = out.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError(`Object "${key}" does not exist in ${this.uri}.`);
      throw err;
    }
    await fs.mkdir(path.dirname(path.resolve(localPath)), { recursive: true });
    await pipeline(body, createWriteStream(localPath));
  }

  uriOf(key: string): string {
    return `s3://${this.bucket}/${this.full(key)}`;
  }

  private full(key: string): string {
    checkKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }
}

function toBuffer(body: Buffer | string): Buffer {
  return typeof body === "string" ? Buffer.from(body) : body;
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isNotFound(err: unknown): boolean {
  const name = (err as { name?: string }).name;
  if (name === "NoSuchBucket") throw noBucket(err);
  return name === "NoSuchKey" || name === "NotFound" || statusOf(err) === 404;
}

function noBucket(err: unknown): MlopsError {
  const bucket = (err as { BucketName?: string }).BucketName;
  return new MlopsError(
    `S3 bucket ${bucket ? `"${bucket}" ` : ""}does not exist (${(err as Error).message}). Create the bucket, or fix the bucket in the store URI.`,
  );
}
