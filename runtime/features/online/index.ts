/** Opens the online store a FeatureStore spec names: Redis, or the embedded LMDB store (the default). */
import { join, resolve } from "node:path";
import type { Logger } from "../../../src/log.js";
import type { FeatureStoreSpec } from "../../../src/spec/features.js";
import { filePath } from "../../../src/store/index.js";
import { EmbeddedOnlineStore } from "./embedded.js";
import { RedisOnlineStore } from "./redis.js";
import type { OnlineStore } from "./types.js";

export type { OnlineStore, ViewRead, ViewValues, WriteResult } from "./types.js";
export type { OnlineRow } from "./keys.js";
export { EmbeddedOnlineStore } from "./embedded.js";
export { RedisOnlineStore, redactUrl } from "./redis.js";

export interface OpenOnlineOptions {
  /** Environment for the Redis password variable. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Relative paths (embedded.path, a file:// registry) resolve against this. @default process.cwd() */
  readonly cwd?: string;
  readonly logger?: Logger;
}

/** The embedded store's folder: `online.embedded.path`, else `online/` inside the file:// registry. */
export function embeddedPath(spec: FeatureStoreSpec, cwd: string = process.cwd()): string {
  if (!("embedded" in spec.online)) throw new Error("the spec's online store is not the embedded one");
  const given = spec.online.embedded.path;
  if (given) return given.startsWith("file://") ? filePath(given, cwd) : resolve(cwd, given);
  // parseFeatureStoreSpec refuses an s3:// registry without a path, so this is a file:// one.
  return join(filePath(spec.registry, cwd), "online");
}

export async function openOnlineStore(spec: FeatureStoreSpec, opts: OpenOnlineOptions = {}): Promise<OnlineStore> {
  if ("redis" in spec.online) {
    return RedisOnlineStore.open(spec, spec.online.redis, { ...(opts.env ? { env: opts.env } : {}), ...(opts.logger ? { logger: opts.logger } : {}) });
  }
  return EmbeddedOnlineStore.open(embeddedPath(spec, opts.cwd));
}
