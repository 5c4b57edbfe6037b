// Online reads for `npm run bench:features`: `mlops features serve` against the FastAPI + redis-py stand-in
// (fastapi_feature_server.py) on the same Redis data, 1 and 100 entities × 50 features per request, under
// `wrk -t1 -c<N>`, and the Redis floor (redis-benchmark with the same HMGET, the same connections; for 100
// entities, 100 HMGETs pipelined per round trip). Ours runs compiled, as it ships (measure.ts compiledCli).
// The 1-entity request is also timed at `wrk -c1` (one request at a time: the latency of an unloaded
// request), and every run reads the server's CPU time per request.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { freePort } from "../../src/net.js";
import { processCpuNs } from "../serve/cpu.js";
import { assertPortFree, runToEnd, startChild, stopChild, waitReady, type Child } from "../serve/procs.js";
import { median, type Measured } from "../serve/report.js";
import { runWrk, writePostScript } from "../serve/wrk.js";
import { ONLINE_FEATURES, onlineData } from "./data.js";
import { compiledCli, redisBenchmark, type RedisBenchResult, type RedisServer } from "./measure.js";

const PYTHON = "/usr/bin/python3";
const VIEW = "o";
const TTL_S = 7 * 86_400;
const KEY_PREFIX = "bench:customer:";
const READY_TIMEOUT_MS = 90_000;
const WARMUP_S = 1;

export interface OnlineOptions {
  readonly root: string;
  readonly tmp: string;
  readonly redis: RedisServer;
  readonly customers: number;
  readonly connections: number;
  readonly durationS: number;
  readonly rounds: number;
  readonly say: (line: string) => void;
}

export interface OnlineResult {
  /** ours-1, py-1, ours-100, py-100 at `connections`: the median round of each. */
  readonly servers: readonly Measured[];
  /** ours-1, py-1 at one connection (an unloaded request): the median round of each. */
  readonly unloaded: readonly Measured[];
  /** The HTTP floor (http-floor.mjs: bare node:http answering our 1-entity answer's bytes) at `connections`, then at one: the median round of each. */
  readonly httpFloor?: readonly Measured[];
  readonly floor1: RedisBenchResult;
  readonly floor100: RedisBenchResult;
  /** Both servers gave the same answer (parsed JSON) to both requests before being loaded. */
  readonly answersEqual: boolean;
  readonly bodyBytes: { readonly one: number; readonly hundred: number };
}

/** The store spec the feature server reads: one view of 50 float64 features, ttl 7d, in this Redis. */
function writeSpec(tmp: string, source: string, redisPort: number): string {
  const spec = {
    apiVersion: "mlops/v1",
    kind: "FeatureStore",
    name: "bench",
    registry: `file://${join(tmp, "registry-online")}`,
    online: { redis: { url: `redis://127.0.0.1:${redisPort}` } },
    entities: [{ name: "customer", joinKeys: ["customer_id"] }],
    views: [
      {
        name: VIEW,
        entities: ["customer"],
        source: { uri: `file://${source}`, timestampField: "event_timestamp" },
        ttl: "7d",
        features: ONLINE_FEATURES.map((name) => ({ name, dtype: "float64" })),
        online: true,
      },
    ],
  };
  const path = join(tmp, "online-spec.json");
  writeFileSync(path, JSON.stringify(spec, null, 2));
  return path;
}

interface Server {
  readonly key: string;
  readonly label: string;
  readonly start: (port: number) => Child;
}

const requestBody = (ids: readonly number[]): string =>
  JSON.stringify({ features: ONLINE_FEATURES.map((f) => `${VIEW}:${f}`), entities: { customer_id: ids }, full_feature_names: false });

async function answerText(url: string, body: string): Promise<string> {
  const r = await fetch(`${url}/get-online-features`, { method: "POST", headers: { "content-type": "application/json" }, body, signal: AbortSignal.timeout(10_000) });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`answered ${r.status}: ${text.slice(0, 300)}`);
  return text;
}

/** Statuses of an answer must all be PRESENT: a benchmark of NOT_FOUNDs would measure nothing. */
function allPresent(a: unknown): boolean {
  const results = (a as { results?: Array<{ statuses: string[] }> }).results ?? [];
  return results.length === 1 + ONLINE_FEATURES.length && results.every((r) => r.statuses.every((s) => s === "PRESENT"));
}

export async function runOnline(o: OnlineOptions): Promise<OnlineResult> {
  const nowS = Math.floor(Date.now() / 1000);
  const source = await onlineData(join(o.tmp, "online-data"), o.customers, nowS);
  const spec = writeSpec(o.tmp, source, o.redis.port);
  o.say(`online: materializing ${o.customers} customers × ${ONLINE_FEATURES.length} features into redis :${o.redis.port}`);
  const iso = (s: number) => new Date(s * 1000).toISOString();
  // `mlops` as it ships (compiled JavaScript, as the package and the image run it), not a checkout's tsx.
  const cli = compiledCli(o.root);
  const mat = await runToEnd("mlops features materialize", process.execPath, [cli, "features", "materialize", "--spec", spec, "--start", iso(nowS - 2 * 86_400), "--end", iso(nowS)], 600_000);
  if (mat.code !== 0) throw new Error(`mlops features materialize exited with ${mat.code}:\n${mat.stdout}${mat.stderr.slice(-2000)}`);
  const written = (JSON.parse(mat.stdout.trim().split("\n").pop()!) as { rowsWritten: number }).rowsWritten;
  if (written !== o.customers) throw new Error(`materialize wrote ${written} rows, expected ${o.customers}`);

  const one = requestBody([42 % o.customers]);
  const hundred = requestBody(Array.from({ length: 100 }, (_, i) => (i * 97 + 5) % o.customers));
  const scripts = { one: writePostScript(o.tmp, "features-1", one), hundred: writePostScript(o.tmp, "features-100", hundred) };

  const servers: Server[] = [
    {
      key: "ours",
      label: "mlops features serve (node-redis, compiled as shipped)",
      start: (port) => startChild("ours", process.execPath, [cli, "features", "serve", "--spec", spec, "--host", "127.0.0.1", "--port", String(port), "--log-level", "warn"]),
    },
    {
      key: "py",
      label: "FastAPI + redis-py (uvicorn, uvloop, httptools)",
      start: (port) =>
        startChild("py", PYTHON, [join(o.root, "bench", "features", "fastapi_feature_server.py"), "--port", String(port), "--redis-port", String(o.redis.port), "--key-prefix", KEY_PREFIX, "--ttl", `${VIEW}=${TTL_S}`]),
    },
  ];

  // Both servers answer both requests the same (and every value is PRESENT) before anything is timed.
  const answers = new Map<string, unknown[]>();
  const answerFile = join(o.tmp, "answer-1.json");
  for (const s of servers) {
    await withServer(s, async (url) => {
      const texts = [await answerText(url, one), await answerText(url, hundred)];
      answers.set(s.key, texts.map((t) => JSON.parse(t) as unknown));
      if (s.key === "ours") writeFileSync(answerFile, texts[0]!);
    });
  }
  const floorServer: Server = {
    key: "http-floor",
    label: "HTTP floor: bare node:http answering the same bytes, no lookup (http-floor.mjs)",
    start: (port) => startChild("http-floor", process.execPath, [join(o.root, "bench", "features", "http-floor.mjs"), String(port), answerFile]),
  };
  const [ours, py] = [answers.get("ours")!, answers.get("py")!];
  if (!allPresent(ours[0]) || !allPresent(ours[1])) throw new Error(`mlops features serve did not answer every feature PRESENT: ${JSON.stringify(ours[0]).slice(0, 400)}`);
  for (const i of [0, 1]) {
    if (!isDeepStrictEqual(ours[i], py[i])) {
      throw new Error(`the two servers answer the ${i ? "100" : "1"}-entity request differently:\n  ours: ${JSON.stringify(ours[i]).slice(0, 400)}\n  python: ${JSON.stringify(py[i]).slice(0, 400)}`);
    }
  }

  const c = o.connections;
  const jobs = [
    { server: servers[0]!, script: scripts.one, rows: 1, suffix: "1", connections: c },
    { server: servers[1]!, script: scripts.one, rows: 1, suffix: "1", connections: c },
    { server: servers[0]!, script: scripts.hundred, rows: 100, suffix: "100", connections: c },
    { server: servers[1]!, script: scripts.hundred, rows: 100, suffix: "100", connections: c },
    { server: servers[0]!, script: scripts.one, rows: 1, suffix: "1-c1", connections: 1 },
    { server: servers[1]!, script: scripts.one, rows: 1, suffix: "1-c1", connections: 1 },
    { server: floorServer, script: scripts.one, rows: 1, suffix: "1", connections: c },
    { server: floorServer, script: scripts.one, rows: 1, suffix: "1-c1", connections: 1 },
  ];
  const runs = jobs.map(() => [] as Measured[]);
  for (let round = 1; round <= o.rounds; round++) {
    if (o.rounds > 1) o.say(`online: round ${round} of ${o.rounds}`);
    for (const [i, j] of jobs.entries()) runs[i]!.push(await measure(j.server, j.script, `${j.server.key}-${j.suffix}`, j.rows, j.connections, o));
  }
  const medians = runs.map(median);

  const key = `${KEY_PREFIX}${42 % o.customers}`;
  const hmget = ["HMGET", key, `_ts:${VIEW}`, ...ONLINE_FEATURES.map((f) => `${VIEW}:${f}`)];
  o.say(`online: redis-benchmark -c${o.connections} HMGET of ${hmget.length - 2} fields (1, then 100 pipelined)`);
  const floor = async (pipeline: number): Promise<RedisBenchResult> => {
    const probe = await redisBenchmark(o.redis.port, o.connections, 5000 * pipeline, pipeline, hmget);
    const n = Math.max(10_000, Math.min(5_000_000, Math.round(probe.rps * o.durationS)));
    return redisBenchmark(o.redis.port, o.connections, n - (n % pipeline), pipeline, hmget);
  };
  return {
    servers: medians.slice(0, 4),
    unloaded: medians.slice(4, 6),
    httpFloor: medians.slice(6),
    floor1: await floor(1),
    floor100: await floor(100),
    answersEqual: true,
    bodyBytes: { one: Buffer.byteLength(one), hundred: Buffer.byteLength(hundred) },
  };
}

async function withServer<T>(server: Server, fn: (url: string, child: Child) => Promise<T>): Promise<T> {
  const port = await freePort();
  await assertPortFree(port);
  const child = server.start(port);
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitReady(child, `${url}/health`, READY_TIMEOUT_MS);
    return await fn(url, child);
  } finally {
    await stopChild(child, 5000);
  }
}

async function measure(server: Server, script: string, key: string, rows: number, connections: number, o: OnlineOptions): Promise<Measured> {
  const base = { key, label: `${server.label}, ${rows} entit${rows === 1 ? "y" : "ies"}`, connections, rowsPerRequest: rows };
  try {
    return await withServer(server, async (url, child) => {
      // 100 entities on a busy machine can take seconds per request at 32 connections: a wide timeout.
      const opts = { url: `${url}/get-online-features`, script, connections, timeoutS: 10 };
      await runWrk({ ...opts, durationS: WARMUP_S });
      o.say(`online: ${key}: wrk -t1 -c${connections} -d${o.durationS}s`);
      const cpuBefore = processCpuNs(child.proc.pid);
      const result = await runWrk({ ...opts, durationS: o.durationS });
      const cpuAfter = processCpuNs(child.proc.pid);
      if (child.proc.exitCode !== null) throw new Error(`exited during the run; last output:\n${child.output.join("\n")}`);
      if (result.requests === 0) throw new Error(`no request was answered in ${o.durationS} s; pass a longer --duration`);
      // The server's own CPU per request (every thread), steadier than req/s on a shared machine.
      const cpu = cpuBefore !== undefined && cpuAfter !== undefined ? { cpuNsPerRequest: (cpuAfter - cpuBefore) / result.requests } : {};
      return { ...base, result, ...cpu };
    });
  } catch (e) {
    o.say(`online: ${key}: ${(e as Error).message}`);
    return { ...base, error: (e as Error).message };
  }
}
