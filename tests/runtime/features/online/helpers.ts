/**
 * Fixtures for the online feature store tests: a real `redis-server` per test file (Debian's redis-server
 * package) on a free 127.0.0.1 port, a spec over a CSV source in a temp folder, and `useOnline(kind)`
 * giving each test a fresh spec and store of either backend, so one suite runs over both.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConnection } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { freePort } from "../../../../src/net.js";
import { parseFeatureStoreSpec, type FeatureStoreSpec, type FeatureStoreSpecInput } from "../../../../src/spec/features.js";
import { openOnlineStore } from "../../../../runtime/features/online/index.js";
import type { OnlineStore } from "../../../../runtime/features/online/types.js";

export type OnlineKind = "embedded" | "redis";
export const ONLINE_KINDS: readonly OnlineKind[] = ["embedded", "redis"];

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** SIGSTOP: the server keeps its connections open and answers nothing (a hung Redis). */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  stop(): Promise<void>;
}

/** Starts `redis-server` on a free port, without persistence; resolves once it accepts connections. */
export async function startRedis(extraArgs: string[] = []): Promise<TestRedis> {
  const port = await freePort();
  const child: ChildProcess = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...extraArgs], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout!.on("data", (b: Buffer) => (log += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (log += b.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (is the redis-server package installed?):\n${log}`);
    if (await accepts(port)) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`redis-server did not start on port ${port}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pause: () => void child.kill("SIGSTOP"),
    resume: () => void child.kill("SIGCONT"),
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGCONT");
        child.kill("SIGTERM");
      }
      await exited;
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: "127.0.0.1" });
    s.once("connect", () => {
      s.end("PING\r\n");
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** A spec with a customer entity and a `txn_stats` view (spend float64, count int64, tier string, ttl 1h). */
export function baseSpec(dir: string, online: FeatureStoreSpecInput["online"], overrides: Partial<FeatureStoreSpecInput> = {}): FeatureStoreSpec {
  return parseFeatureStoreSpec({
    name: "fraud",
    registry: `file://${join(dir, "registry")}`,
    online,
    entities: [{ name: "customer", joinKeys: ["customer_id"] }],
    views: [
      {
        name: "txn_stats",
        entities: ["customer"],
        source: { uri: `file://${join(dir, "txn_stats.csv")}`, timestampField: "event_timestamp", createdTimestampField: "created_at" },
        ttl: "1h",
        features: [
          { name: "spend_7d", dtype: "float64" },
          { name: "txn_count_7d", dtype: "int64" },
          { name: "tier", dtype: "string" },
        ],
      },
    ],
    ...overrides,
  });
}

/** Writes a CSV with a header line and rows. */
export async function writeCsv(path: string, header: string[], rows: Array<Array<string | number>>): Promise<void> {
  await writeFile(path, [header.join(","), ...rows.map((r) => r.join(","))].join("\n") + "\n");
}

export interface OnlineFixture {
  readonly dir: string;
  readonly kind: OnlineKind;
  /** The online section for this backend (a fresh key prefix per test on Redis). */
  readonly online: FeatureStoreSpecInput["online"];
  readonly spec: FeatureStoreSpec;
  readonly store: OnlineStore;
  /** Re-parses the spec with overrides, on the same folder and store location. */
  specWith(overrides: Partial<FeatureStoreSpecInput>): FeatureStoreSpec;
  /** Opens another store on the same location (another "process"). */
  reopen(spec?: FeatureStoreSpec): Promise<OnlineStore>;
}

/** Hooks for the enclosing describe: each test gets a temp folder, a spec and an open store of `kind`. */
export function useOnline(kind: OnlineKind): () => OnlineFixture {
  let redis: TestRedis | undefined;
  let current: OnlineFixture | undefined;
  const opened: OnlineStore[] = [];
  let n = 0;
  beforeAll(async () => {
    if (kind === "redis") redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  beforeEach(async () => {
    const dir = await mkdtemp(join(tmpdir(), "mlops-online-"));
    const online: FeatureStoreSpecInput["online"] = kind === "redis" ? { redis: { url: redis!.url, keyPrefix: `t${++n}:` } } : { embedded: { path: join(dir, "online") } };
    const spec = baseSpec(dir, online);
    const open = async (s: FeatureStoreSpec) => {
      const st = await openOnlineStore(s);
      opened.push(st);
      return st;
    };
    const store = await open(spec);
    current = { dir, kind, online, spec, store, specWith: (o) => baseSpec(dir, online, o), reopen: (s) => open(s ?? spec) };
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    if (current) await rm(current.dir, { recursive: true, force: true });
    current = undefined;
  });
  return () => {
    if (!current) throw new Error("useOnline fixture used outside a test");
    return current;
  };
}
