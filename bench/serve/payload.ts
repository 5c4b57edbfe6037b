// The payload logging case of `npm run bench:serve` (`--only log`): C's server, request and settings three
// times in one run: payload logging off, at sample rate 0.1 and at 1.0 (records to a file:// store in the
// run's temp folder, the runtime's default batch size and interval).
//
// Unlike the other cases, the three servers run side by side for the whole case and are measured in
// turns, the order reversed every round: on a machine shared with other work, throughput swings by
// several times within a minute, and a comparison of servers measured minutes apart measures the
// machine. Reported: the median over rounds of each server's requests/s over logging off's in the same
// round, and the ratio of CPU time per request over all rounds (bench/serve/cpu.ts), which counts only what
// each server did. Each logging server's records are counted after it has drained, so the cost is that
// of records really made and written.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../../src/net.js";
import { readPayloadLogs } from "../../runtime/serve/payload-reader.js";
import { processCpuNs } from "./cpu.js";
import { assertPortFree, stopChild, waitReady, type Child } from "./procs.js";
import type { Bar, Measured } from "./report.js";
import { runWrk } from "./wrk.js";

export const PAYLOAD_KEYS = { off: "L-off", tenth: "L-0.1", all: "L-1.0" } as const;

export interface PayloadCaseOptions {
  readonly tmp: string;
  /** Starts `mlops serve` as C does, with `extra` flags, on `port`. */
  readonly start: (key: string, port: number, extra: string[]) => Child;
  readonly inferPath: string;
  readonly script: string;
  /** Checks one answer (C's check). */
  readonly check: (status: number, body: Buffer, headers: Headers) => string | undefined;
  readonly body: string;
  readonly connections: number;
  readonly durationS: number;
  readonly rounds: number;
  readonly readyTimeoutMs: number;
}

export interface PayloadCaseResult {
  readonly rows: Measured[];
  readonly bars: Bar[];
  readonly lines: string[];
}

interface Case {
  readonly key: string;
  readonly label: string;
  readonly extra: string[];
  readonly dir: string | undefined;
  child?: Child;
  url?: string;
  /** Counters read from /metrics before the drain: records sampled and dropped so far. */
  counted?: { sampled: number; dropped: number };
  cpuNs: number;
  requests: number;
  rounds: Measured[];
}

function cases(tmp: string): Case[] {
  // No shutdown delay: the runner's SIGTERM is followed by SIGKILL after a grace, and the drain, which
  // writes the records still held, must run within it.
  const base = ["--shutdown-delay-s", "0"];
  const make = (key: string, rate: number | undefined): Case => {
    const common = { key, cpuNs: 0, requests: 0, rounds: [] };
    if (rate === undefined) return { ...common, label: `${key}. mlops serve, payload logging off`, extra: base, dir: undefined };
    const dir = join(tmp, `payloads-${key}`);
    mkdirSync(dir, { recursive: true });
    return { ...common, label: `${key}. mlops serve, payload logging at sample rate ${rate}`, extra: [...base, "--payload-log-uri", `file://${dir}`, "--payload-sample-rate", String(rate)], dir };
  };
  return [make(PAYLOAD_KEYS.off, undefined), make(PAYLOAD_KEYS.tenth, 0.1), make(PAYLOAD_KEYS.all, 1)];
}

/** Runs the case; a server that fails to start or answer makes every row an error. */
export async function runPayloadCase(o: PayloadCaseOptions): Promise<PayloadCaseResult> {
  const all = cases(o.tmp);
  const row = (c: Case, extra: Partial<Measured>): Measured => ({ key: c.key, label: c.label, connections: o.connections, rowsPerRequest: 1, ...extra });
  try {
    for (const c of all) {
      const port = await freePort();
      await assertPortFree(port);
      process.stderr.write(`${c.key}: starting on 127.0.0.1:${port}\n`);
      c.child = o.start(c.key, port, c.extra);
      c.url = `http://127.0.0.1:${port}`;
      await waitReady(c.child, `${c.url}/v2/health/ready`, o.readyTimeoutMs);
      const r = await fetch(c.url + o.inferPath, { method: "POST", headers: { "content-type": "application/json" }, body: o.body, signal: AbortSignal.timeout(10_000) });
      const wrong = o.check(r.status, Buffer.from(await r.arrayBuffer()), r.headers);
      if (wrong) throw new Error(`${c.key}: the benchmark request ${wrong}`);
      await runWrk({ url: c.url + o.inferPath, script: o.script, connections: o.connections, durationS: 1 });
    }
    for (let round = 0; round < o.rounds; round++) {
      process.stderr.write(`payload logging: round ${round + 1} of ${o.rounds}\n`);
      for (const c of round % 2 ? [...all].reverse() : all) {
        const before = processCpuNs(c.child!.proc.pid);
        const result = await runWrk({ url: c.url + o.inferPath, script: o.script, connections: o.connections, durationS: o.durationS });
        const after = processCpuNs(c.child!.proc.pid);
        if (c.child!.proc.exitCode !== null) throw new Error(`${c.key} exited during the run; last output:\n${c.child!.output.join("\n")}`);
        if (before !== undefined && after !== undefined) c.cpuNs += after - before;
        c.requests += result.requests;
        c.rounds.push(row(c, { result }));
      }
    }
  } catch (e) {
    process.stderr.write(`payload logging: ${(e as Error).message}\n`);
    return { rows: all.map((c) => row(c, { error: (e as Error).message })), bars: [], lines: [] };
  } finally {
    for (const c of all) if (c.child && c.dir !== undefined && c.child.proc.exitCode === null) c.counted = await counters(c.url!).catch(() => undefined);
    // The drain writes each logging server's last records.
    for (const c of all) if (c.child) await stopChild(c.child, 15_000);
  }
  const off = all[0]!;
  const rows = all.map((c) => {
    const perRound = c.rounds.map((m) => m.result!.requestsPerSec);
    const mid = [...c.rounds].sort((a, b) => a.result!.requestsPerSec - b.result!.requestsPerSec)[Math.floor((c.rounds.length - 1) / 2)]!;
    return { ...mid, perRound, ...(c.cpuNs > 0 ? { cpuNsPerRequest: c.cpuNs / c.requests } : {}) };
  });
  const lines: string[] = [];
  const bars: Bar[] = [];
  for (const [i, c] of all.entries()) {
    if (c.dir === undefined) continue;
    const paired = median(c.rounds.map((m, r) => m.result!.requestsPerSec / off.rounds[r]!.result!.requestsPerSec));
    const cpu = rows[0]!.cpuNsPerRequest !== undefined && rows[i]!.cpuNsPerRequest !== undefined ? rows[0]!.cpuNsPerRequest / rows[i]!.cpuNsPerRequest : undefined;
    const records = (await readPayloadLogs(`file://${c.dir}`)).records;
    const n = (v: number) => v.toLocaleString("en-US");
    const counted = c.counted ? `${n(c.counted.sampled)} sampled and ${n(c.counted.dropped)} dropped before the drain, ` : "";
    lines.push(
      `- ${c.key}: requests/s over logging off's in the same round, median of ${c.rounds.length}: ${paired.toFixed(2)}×; ` +
        `by CPU time per request: ${cpu === undefined ? "–" : `${cpu.toFixed(2)}×`}; ${counted}${n(records)} records read back after it (all its requests, warm-up included)`,
    );
    // The throughput a CPU-bound server keeps with logging on; the paired requests/s ratio is in `lines`.
    bars.push({ name: `${c.key} / L-off, by CPU time per request`, num: rows[i], den: rows[0], atLeast: c.key === PAYLOAD_KEYS.tenth ? 0.95 : 0.8, cpu: true });
  }
  return { rows, bars, lines };
}

/** `mlops_payload_records_sampled_total` and the sum of `mlops_payload_records_dropped_total` from a server's /metrics. */
async function counters(url: string): Promise<{ sampled: number; dropped: number }> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  let sampled = 0;
  let dropped = 0;
  for (const line of text.split("\n")) {
    const m = /^(mlops_payload_records_(?:sampled|dropped)_total)(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (m?.[1] === "mlops_payload_records_sampled_total") sampled += Number(m[2]);
    else if (m) dropped += Number(m[2]);
  }
  return { sampled, dropped };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
