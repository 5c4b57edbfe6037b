// `npm run bench:features`: issue 9 section 7. One run, every reference in the same run:
//   online      `mlops features serve` vs FastAPI + redis-py and the Redis floor, 1 and 100 entities × 50 features
//   historical  `mlops features historical` vs pandas merge_asof, 1M entity rows against views of 10M and 1M rows
//   materialize `mlops features materialize` of 10M rows vs bare pipelined HSET; peak RSS at 10M vs 1M rows
//
//   npm run bench:features                       # the full sizes, 10 s per server, 3 rounds
//   npm run bench:features -- --quick            # every size ÷ 10, 3 s per server, one round
//   npm run bench:features -- --only online,materialize
//   npm run bench:features -- --duration 5 --rounds 1 --connections 32
//
// Prints the tables and PASS/MISS per bar; writes .bench/features-<stamp>.md and .json. Exits non-zero when
// a part fails to run or the answers differ (the join against pandas, the two servers, the two writers);
// a missed bar only prints MISS.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { installCleanup } from "../serve/procs.js";
import { failures } from "../serve/report.js";
import { runHistorical, type HistoricalResult } from "./historical.js";
import { runMaterialize, type MaterializeResult } from "./materialize.js";
import { loadText, startRedis } from "./measure.js";
import { runOnline, type OnlineResult } from "./online.js";
import { barTable, historicalBars, historicalSection, materializeBars, materializeSection, onlineBars, onlineSection, passes, type Bar } from "./report.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const PARTS = ["online", "historical", "materialize"] as const;

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string", default: PARTS.join(",") },
    duration: { type: "string" },
    rounds: { type: "string" },
    connections: { type: "string", default: "32" },
  },
});
const quick = flags.quick!;
const div = quick ? 10 : 1;
const sizes = {
  historical: { entities: 1_000_000 / div, viewA: 10_000_000 / div, viewB: 1_000_000 / div, customers: 100_000 / div },
  materializeRows: 10_000_000 / div,
  onlineCustomers: 10_000,
};
const durationS = Number(flags.duration ?? process.env.BENCH_DURATION_S ?? (quick ? 3 : 10));
const rounds = Number(flags.rounds ?? (quick ? 1 : 3));
const connections = Number(flags.connections);
const only = new Set(flags.only!.split(",").map((p) => p.trim().toLowerCase()));
for (const p of only) if (!(PARTS as readonly string[]).includes(p)) throw new Error(`--only: unknown part ${JSON.stringify(p)}; use ${PARTS.join(", ")}`);
for (const [k, v] of Object.entries({ durationS, rounds, connections })) if (!Number.isInteger(v) || v < 1) throw new Error(`--${k}: ${v} is not a whole number ≥ 1`);

const say = (line: string) => process.stderr.write(`bench:features: ${line}\n`);

interface Part<T> {
  readonly result?: T;
  readonly error?: string;
  readonly loadAtStart: string;
}

async function part<T>(name: string, fn: () => Promise<T>): Promise<Part<T> | undefined> {
  if (!only.has(name)) return undefined;
  const loadAtStart = loadText(loadavg());
  say(`${name}: starting (load average ${loadAtStart})`);
  try {
    return { result: await fn(), loadAtStart };
  } catch (e) {
    say(`${name} failed: ${(e as Error).message}`);
    return { error: (e as Error).message, loadAtStart };
  }
}

async function main(): Promise<number> {
  installCleanup();
  const tmp = mkdtempSync(join(tmpdir(), "mlops-bench-features-"));
  process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));
  const dataRoot = join(ROOT, ".bench", "features-data");
  const loadAtStart = loadText(loadavg());
  const started = Date.now();
  const redis = await startRedis();
  say(`redis-server on 127.0.0.1:${redis.port}`);
  let online: Part<OnlineResult> | undefined;
  let historical: Part<HistoricalResult> | undefined;
  let materialize: Part<MaterializeResult> | undefined;
  try {
    online = await part("online", () => runOnline({ root: ROOT, tmp, redis, customers: sizes.onlineCustomers, connections, durationS, rounds, say }));
    await redis.cli("FLUSHALL");
    materialize = await part("materialize", () => runMaterialize({ root: ROOT, dataRoot, tmp, redis, rows: sizes.materializeRows, say }));
    historical = await part("historical", () => runHistorical({ root: ROOT, dataRoot, tmp, sizes: sizes.historical, say }));
  } finally {
    await redis.stop();
  }

  const bars: Bar[] = [
    ...(online?.result ? onlineBars(online.result) : []),
    ...(historical?.result ? historicalBars(historical.result) : []),
    ...(materialize?.result ? materializeBars(materialize.result) : []),
  ];
  const problems = [
    ...[online, historical, materialize].flatMap((p, i) => (p?.error ? [`${PARTS[i]}: ${p.error}`] : [])),
    ...(online?.result ? failures(online.result.servers) : []),
    ...(historical?.result && !historical.result.identical ? ["historical: the answer differs from pandas merge_asof's"] : []),
    ...(materialize?.result && !materialize.result.sameHashes ? ["materialize: the sampled hashes differ between the two writers"] : []),
  ];

  const cpu = cpus();
  const stamp = new Date().toISOString();
  const h = sizes.historical;
  const md: string[] = [
    `# Feature store benchmark, ${stamp}`,
    "",
    `Command: \`npm run bench:features${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}\` (${((Date.now() - started) / 1000).toFixed(0)} s)`,
    `- machine: ${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, Node ${process.version}, load average at start ${loadAtStart}`,
  ];
  if (online) {
    md.push("", `## Online read (load average at start ${online.loadAtStart})`, "");
    md.push(`wrk -t1 -c${connections} -d${durationS}s after a 1 s warm-up${rounds > 1 ? `, ${rounds} rounds interleaved, the median round` : ""}; one process per server, the same Redis (${sizes.onlineCustomers.toLocaleString("en-US")} customers × 50 float64 features, materialized by mlops); both servers' answers compared (equal, every value PRESENT) before timing.`, "");
    md.push(...(online.result ? onlineSection(online.result, connections) : [`failed: ${online.error}`]));
  }
  if (historical) {
    md.push("", `## Historical join: ${h.entities.toLocaleString("en-US")} entity rows, views of ${h.viewA.toLocaleString("en-US")} (ttl 1d) and ${h.viewB.toLocaleString("en-US")} (ttl 7d) rows (load average at start ${historical.loadAtStart})`, "");
    md.push(...(historical.result ? historicalSection(historical.result) : [`failed: ${historical.error}`]));
  }
  if (materialize) {
    md.push("", `## Materialize into Redis (load average at start ${materialize.loadAtStart})`, "");
    md.push(...(materialize.result ? materializeSection(materialize.result) : [`failed: ${materialize.error}`]));
  }
  md.push("", "## Bars", "", ...barTable(bars), "");
  if (problems.length) md.push("**Errors:**", "", ...problems.map((p) => `- ${p.split("\n")[0]}`), "");
  const text = md.join("\n");
  process.stdout.write(`\n${text}`);

  const outDir = join(ROOT, ".bench");
  mkdirSync(outDir, { recursive: true });
  const base = join(outDir, `features-${stamp.replace(/[:.]/g, "-")}`);
  writeFileSync(`${base}.md`, text);
  const json = {
    stamp,
    command: process.argv.slice(2),
    machine: { cpus: cpu.length, model: cpu[0]?.model, node: process.version, loadAtStart },
    settings: { quick, durationS, rounds, connections, sizes },
    online: online && { loadAtStart: online.loadAtStart, error: online.error, ...(online.result ? { ...online.result, servers: online.result.servers.map(({ result, ...m }) => ({ ...m, ...(result ? { result: { ...result, raw: undefined } } : {}) })) } : {}) },
    historical,
    materialize,
    bars: bars.map((b) => ({ ...b, pass: passes(b) })),
    problems,
  };
  writeFileSync(`${base}.json`, JSON.stringify(json, null, 2));
  say(`written to ${base}.md and .json`);
  if (problems.length) {
    say(`${problems.length} problem(s):\n${problems.map((p) => `- ${p}`).join("\n")}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench:features failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(2);
  },
);
