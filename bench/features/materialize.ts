// Materialization for `npm run bench:features`: `mlops features materialize` of view m (one row per
// customer, 5 features) into Redis at two sizes, against bare-hset.mjs writing the same hashes with plain
// pipelined HSETs; rows/s of both (process wall time, node's start included on both sides) and the peak
// RSS of the materialize process at each size.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { createClient } from "redis";
import { FEATURES_M, materializeData } from "./data.js";
import { timed, type RedisServer, type Timed } from "./measure.js";

const VIEW = "m";
const STORE = "benchm";
const PREFIX = `${STORE}:customer:`;
/** The spec's default materialization.chunkRows; the bare writer keeps as many HSETs in flight. */
const CHUNK_ROWS = 50_000;
const SAMPLE = 500;
const TIMEOUT_MS = 3_600_000;

export interface MaterializeOptions {
  readonly root: string;
  readonly dataRoot: string;
  readonly tmp: string;
  readonly redis: RedisServer;
  /** Rows of the big run; the small run has a tenth. */
  readonly rows: number;
  readonly say: (line: string) => void;
}

export interface MaterializeRun {
  readonly rows: number;
  readonly wallS: number;
  readonly cpuS: number;
  readonly rowsPerS: number;
  readonly maxRssMiB: number;
}

export interface MaterializeResult {
  readonly ours: MaterializeRun;
  readonly oursSmall: MaterializeRun;
  readonly bare: MaterializeRun & { readonly writeS: number };
  /** Keys in Redis after each writer's big run. */
  readonly keys: { readonly ours: number; readonly bare: number };
  /** The sampled hashes were equal field for field. */
  readonly sameHashes: boolean;
  readonly sampled: number;
}

function writeSpec(tmp: string, source: string, redisPort: number, rows: number): string {
  const spec = {
    apiVersion: "mlops/v1",
    kind: "FeatureStore",
    name: STORE,
    registry: `file://${join(tmp, `registry-materialize-${rows}`)}`,
    online: { redis: { url: `redis://127.0.0.1:${redisPort}` } },
    entities: [{ name: "customer", joinKeys: ["customer_id"] }],
    materialization: { chunkRows: CHUNK_ROWS },
    views: [
      {
        name: VIEW,
        entities: ["customer"],
        source: { uri: `file://${source}`, timestampField: "event_timestamp" },
        features: FEATURES_M.map((name, j) => ({ name, dtype: j === 4 ? "int64" : "float64" })),
        online: true,
      },
    ],
  };
  const path = join(tmp, `materialize-spec-${rows}.json`);
  writeFileSync(path, JSON.stringify(spec, null, 2));
  return path;
}

const run = (rows: number, t: Timed): MaterializeRun => ({ rows, wallS: t.wallS, cpuS: t.cpuS, rowsPerS: rows / t.wallS, maxRssMiB: t.maxRssKiB / 1024 });

async function ours(o: MaterializeOptions, rows: number): Promise<MaterializeRun> {
  const source = await materializeData(o.dataRoot, rows);
  const spec = writeSpec(o.tmp, source, o.redis.port, rows);
  await o.redis.cli("FLUSHALL");
  o.say(`materialize: mlops features materialize, ${rows.toLocaleString("en-US")} rows`);
  const args = [join(o.root, "bin", "mlops.js"), "features", "materialize", "--spec", spec, "--start", "2024-12-01", "--end", "2025-05-01"];
  const t = await timed("mlops features materialize", process.execPath, args, TIMEOUT_MS);
  if (t.code !== 0) throw new Error(`mlops features materialize exited with ${t.code}:\n${t.stdout}${t.stderr.slice(-2000)}`);
  const written = (JSON.parse(t.stdout.trim().split("\n").pop()!) as { rowsWritten: number }).rowsWritten;
  if (written !== rows) throw new Error(`mlops features materialize wrote ${written} rows, expected ${rows}`);
  return run(rows, t);
}

/** HGETALL of every `rows / SAMPLE`-th customer. */
async function sample(port: number, rows: number): Promise<Array<Record<string, string>>> {
  const client = createClient({ url: `redis://127.0.0.1:${port}` });
  client.on("error", () => {});
  await client.connect();
  try {
    const step = Math.max(1, Math.floor(rows / SAMPLE));
    const ids = Array.from({ length: Math.min(SAMPLE, rows) }, (_, i) => i * step);
    return await Promise.all(ids.map((n) => client.hGetAll(`${PREFIX}${n}`)));
  } finally {
    await client.close();
  }
}

export async function runMaterialize(o: MaterializeOptions): Promise<MaterializeResult> {
  const small = Math.floor(o.rows / 10);
  const oursSmall = await ours(o, small);
  const big = await ours(o, o.rows);
  const oursKeys = Number(await o.redis.cli("DBSIZE"));
  const oursSample = await sample(o.redis.port, o.rows);

  await o.redis.cli("FLUSHALL");
  o.say(`materialize: bare pipelined HSET, ${o.rows.toLocaleString("en-US")} rows`);
  const bareArgs = [join(o.root, "bench", "features", "bare-hset.mjs"), String(o.redis.port), String(o.rows), PREFIX, VIEW, String(CHUNK_ROWS)];
  const t = await timed("bare-hset.mjs", process.execPath, bareArgs, TIMEOUT_MS);
  if (t.code !== 0) throw new Error(`bare-hset.mjs exited with ${t.code}:\n${t.stderr.slice(-2000)}`);
  const writeS = (JSON.parse(t.stdout.trim()) as { seconds: number }).seconds;
  const bareKeys = Number(await o.redis.cli("DBSIZE"));
  const bareSample = await sample(o.redis.port, o.rows);
  await o.redis.cli("FLUSHALL");
  const sameHashes = oursSample.length > 0 && oursSample.every((h) => Object.keys(h).length === 2 + FEATURES_M.length) && isDeepStrictEqual(oursSample, bareSample);
  return { ours: big, oursSmall, bare: { ...run(o.rows, t), writeS }, keys: { ours: oursKeys, bare: bareKeys }, sameHashes, sampled: oursSample.length };
}
