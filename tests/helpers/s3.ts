import * as fs from "node:fs/promises";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { createRequire } from "node:module";

/** What a test needs to reach the in-process S3 server. */
export interface TestS3 {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly bucket: string;
  /** Environment for `openStore` (and child processes): endpoint, region and the server's credentials. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

// s3rver ships no types; we only use this much of it (a Koa app).
interface KoaContext {
  method: string;
  path: string;
  get(header: string): string;
}
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface S3rverApp {
  middleware: Middleware[];
  store: { existsObject(bucket: string, key: string): Promise<boolean> };
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverApp;
const require = createRequire(import.meta.url);

/**
 * Starts s3rver on 127.0.0.1 (free port) over a fresh temp folder with one empty bucket, silent.
 * Credentials are s3rver's fixed pair, which it checks in signatures.
 */
export async function startS3(bucket = "mlops-test"): Promise<TestS3> {
  const S3rver = require("s3rver") as S3rverCtor;
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), "mlops-s3rver-"));
  const app = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  emulateConditionalWrites(app);
  const { port } = await app.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    env: {
      MLOPS_S3_ENDPOINT: endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
    },
    async stop() {
      await app.close();
      await fs.rm(directory, { recursive: true, force: true });
    },
  };
}

/**
 * Emulates S3's conditional writes, which s3rver 3.7 predates (it ignores `If-None-Match` on PUT):
 * a `PUT` with `If-None-Match: *` on an existing key answers 412 PreconditionFailed with S3's XML error
 * body, and such PUTs are serialized per key, so of N racing creators exactly one wins, as on S3.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 */
function emulateConditionalWrites(app: S3rverApp): void {
  const tails = new Map<string, Promise<void>>();
  const conditionalPut: Middleware = async (ctx, next) => {
    if (ctx.method !== "PUT" || ctx.get("if-none-match").trim() !== "*") return next();
    const [, bucket, ...rest] = ctx.path.split("/");
    const key = decodeURIComponent(rest.join("/"));
    if (!bucket || !key) return next();
    const id = `${bucket}/${key}`;
    const previous = tails.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    tails.set(id, tail);
    await previous;
    try {
      if (await app.store.existsObject(bucket, key)) {
        const err = Object.assign(new Error("At least one of the pre-conditions you specified did not hold"), {
          code: "PreconditionFailed",
        });
        throw s3Error(err);
      }
      await next();
    } finally {
      release();
      if (tails.get(id) === tail) tails.delete(id);
    }
  };
  // Before the router (the last middleware), after s3rver's logging, XML and vhost rewriting.
  app.middleware.splice(app.middleware.length - 1, 0, conditionalPut);
}

/** s3rver's own error type renders the S3 XML body and status (412 for PreconditionFailed). */
function s3Error(err: Error & { code: string }): Error {
  const S3Error = require("s3rver/lib/models/error") as new (code: string, message: string, detail?: object) => Error;
  return new S3Error(err.code, err.message, { Condition: "If-None-Match" });
}
