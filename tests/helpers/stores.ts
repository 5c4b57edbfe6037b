import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { openStore } from "../../src/store/index.js";
import type { ObjectStore } from "../../src/store/types.js";
import { startS3, type TestS3 } from "./s3.js";

export type BackendKind = "file" | "s3";
/** Both store backends, for `describe.each(BACKENDS)`. */
export const BACKENDS: readonly BackendKind[] = ["file", "s3"];

export interface BackendFixture {
  /** A fresh, empty store for the current test. */
  readonly store: ObjectStore;
  /** Its URI, for child processes. */
  readonly uri: string;
  /** Environment a child process needs to open `uri` (S3 endpoint and credentials). */
  readonly env: Record<string, string>;
}

/**
 * Registers hooks in the enclosing `describe` that give each test an empty store of `kind`: a temp
 * folder, or a fresh prefix in a bucket of one s3rver started for the whole `describe`.
 */
export function useBackend(kind: BackendKind): () => BackendFixture {
  let s3: TestS3 | undefined;
  let dir: string | undefined;
  let current: BackendFixture | undefined;
  let n = 0;
  beforeAll(async () => {
    if (kind === "s3") s3 = await startS3();
  });
  afterAll(async () => {
    await s3?.stop();
  });
  beforeEach(async () => {
    if (kind === "file") {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), "mlops-store-"));
      const uri = `file://${dir}`;
      current = { uri, env: {}, store: openStore(uri) };
    } else {
      const uri = `s3://${s3!.bucket}/test-${++n}`;
      current = { uri, env: s3!.env, store: openStore(uri, { env: s3!.env }) };
    }
  });
  afterEach(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
    dir = undefined;
  });
  return () => {
    if (!current) throw new Error("useBackend: the store exists only inside a test");
    return current;
  };
}
