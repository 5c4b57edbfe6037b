// Measuring helpers for `npm run bench:features`: a command's wall time and peak RSS (GNU time), the
// redis-benchmark CSV report, a redis-server of the benchmark's own on a free port, and the compiled CLI.
import { spawnSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../../src/net.js";
import { assertPortFree, runToEnd, startChild, stopChild, type Child } from "../serve/procs.js";

export interface Timed {
  readonly code: number | null;
  readonly wallS: number;
  /** CPU seconds, user + system, of the command (all its threads; children it waited for). */
  readonly cpuS: number;
  /** Peak resident set size of the command's own process, KiB (GNU time's %M, the kernel's maxrss). */
  readonly maxRssKiB: number;
  readonly stdout: string;
  /** The command's stderr without GNU time's line. */
  readonly stderr: string;
}

const MARKER = "@@bench-time";

/** Reads the line `timed` asks GNU time for; undefined when it is not there (the command did not run). */
export function parseTimeLine(stderr: string): { wallS: number; cpuS: number; maxRssKiB: number; rest: string } | undefined {
  const lines = stderr.split("\n");
  const at = lines.findIndex((l) => l.startsWith(`${MARKER} `));
  if (at < 0) return undefined;
  const [wallS, userS, sysS, maxRssKiB] = lines[at]!.split(" ").slice(1).map(Number);
  if (![wallS, userS, sysS, maxRssKiB].every((v) => v !== undefined && Number.isFinite(v))) return undefined;
  lines.splice(at, 1);
  return { wallS: wallS!, cpuS: userS! + sysS!, maxRssKiB: maxRssKiB!, rest: lines.join("\n") };
}

/** Runs `cmd args` under /usr/bin/time (bounded by `timeoutMs`); throws when it gives no timing. */
export async function timed(name: string, cmd: string, args: readonly string[], timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<Timed> {
  const r = await runToEnd(name, "/usr/bin/time", ["-f", `${MARKER} %e %U %S %M`, cmd, ...args], timeoutMs, env);
  const t = parseTimeLine(r.stderr);
  if (!t) throw new Error(`${name}: no timing from /usr/bin/time (exit ${r.code}; is GNU time installed?):\n${r.stderr.slice(-2000)}`);
  return { code: r.code, wallS: t.wallS, cpuS: t.cpuS, maxRssKiB: t.maxRssKiB, stdout: r.stdout, stderr: t.rest };
}

/** One redis-benchmark test, from its `--csv` report. Latencies in milliseconds. */
export interface RedisBenchResult {
  readonly test: string;
  readonly rps: number;
  readonly avgMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** Reads `redis-benchmark --csv` (Redis 7: test, rps, avg, min, p50, p95, p99, max). */
export function parseRedisBenchmarkCsv(text: string): RedisBenchResult {
  const lines = text.trim().split("\n").map((l) => l.trim()).filter(Boolean);
  const head = lines.findIndex((l) => l.startsWith('"test"'));
  if (head < 0 || !lines[head + 1]) throw new Error(`redis-benchmark: no CSV report in its output:\n${text.slice(0, 500)}`);
  const cells = (l: string) => l.split('","').map((c) => c.replace(/^"|"$/g, ""));
  const names = cells(lines[head]!);
  const values = cells(lines[head + 1]!);
  const get = (n: string): number => {
    const i = names.indexOf(n);
    const v = Number(values[i]);
    if (i < 0 || !Number.isFinite(v)) throw new Error(`redis-benchmark: no ${n} in its report:\n${text.slice(0, 500)}`);
    return v;
  };
  return { test: values[0]!, rps: get("rps"), avgMs: get("avg_latency_ms"), p50Ms: get("p50_latency_ms"), p99Ms: get("p99_latency_ms") };
}

export interface RedisServer {
  readonly port: number;
  readonly child: Child;
  /** `redis-cli -p <port> <args>`; throws on a non-zero exit. */
  cli(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** Starts `redis-server` on a free port (no persistence) and waits for PING. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  await assertPortFree(port);
  const child = startChild("redis-server", "redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"]);
  const cli = async (...args: string[]): Promise<string> => {
    const r = await runToEnd("redis-cli", "redis-cli", ["-p", String(port), ...args], 600_000);
    if (r.code !== 0) throw new Error(`redis-cli ${args.join(" ")} exited with ${r.code}: ${r.stderr}${r.stdout}`);
    return r.stdout.trim();
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.proc.exitCode !== null) throw new Error(`redis-server exited with ${child.proc.exitCode}:\n${child.output.join("\n")}`);
    const r = await runToEnd("redis-cli", "redis-cli", ["-p", String(port), "ping"], 5000);
    if (r.stdout.trim() === "PONG") break;
    if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on port ${port}:\n${child.output.join("\n")}`);
    await new Promise((res) => setTimeout(res, 100));
  }
  return { port, child, cli, stop: () => stopChild(child) };
}

/** `redis-benchmark` with one command, `-c` connections, `-P` pipelined commands per round trip. */
export async function redisBenchmark(port: number, connections: number, requests: number, pipeline: number, command: readonly string[]): Promise<RedisBenchResult> {
  const args = ["-p", String(port), "-c", String(connections), "-n", String(requests), "-P", String(pipeline), "--csv", ...command];
  const r = await runToEnd("redis-benchmark", "redis-benchmark", args, 300_000);
  if (r.code !== 0) throw new Error(`redis-benchmark exited with ${r.code}: ${r.stderr}`);
  return parseRedisBenchmarkCsv(r.stdout);
}

/** Load average (1, 5, 15 min) as text. */
export const loadText = (l: readonly number[]): string => l.map((v) => v.toFixed(2)).join(" ");

/**
 * The command as it ships: an installed package (and the runtime image) runs JavaScript compiled from
 * these sources, while `bin/mlops.js` in a checkout transpiles them through tsx at every start (0.6–1 s
 * here, which no user pays). So the sources are compiled once per run with esbuild (tsx's own compiler,
 * one file at a time, no bundling) under .bench/, where node still finds the checkout's node_modules, and
 * removed at exit. Built once per benchmark run, whichever part asks first.
 */
let compiled: string | undefined;
export function compiledCli(root: string): string {
  if (compiled) return compiled;
  const out = join(root, ".bench", `dist-${process.pid}`);
  process.on("exit", () => rmSync(out, { recursive: true, force: true }));
  const dirs = ["src", "cli", "runtime", "components", "policy"];
  const files = dirs.flatMap((d) => (readdirSync(join(root, d), { recursive: true }) as string[]).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")).map((f) => join(d, f)));
  const r = spawnSync(join(root, "node_modules", ".bin", "esbuild"), [...files, `--outdir=${out}`, "--outbase=.", "--format=esm", "--platform=node", "--target=node20", "--log-level=warning"], { cwd: root, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`esbuild of the sources failed (${r.status}):\n${r.stderr.slice(-2000)}`);
  compiled = join(out, "cli", "main.js");
  return compiled;
}
