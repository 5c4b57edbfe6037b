// Renders the benchmark's results as markdown (stdout and .bench/serve-<timestamp>.md).
import type { WrkResult } from "./wrk.js";

/** One server measured (or not: `error` says why). */
export interface Measured {
  readonly key: string;
  readonly label: string;
  readonly connections: number;
  readonly rowsPerRequest: number;
  readonly result?: WrkResult;
  readonly error?: string;
  /** Requests/s of every round, when there were several. */
  readonly perRound?: readonly number[];
  /** The server process's CPU time per request (bench/serve/cpu.ts); the median over rounds when there were several. */
  readonly cpuNsPerRequest?: number;
}

/**
 * Folds several rounds of one server into the round with the median requests/s (the lower middle one
 * for an even count); any failed round makes the whole a failure.
 */
export function median(rounds: readonly Measured[]): Measured {
  const failed = rounds.find((m) => m.error !== undefined || !m.result);
  if (failed) return failed;
  if (rounds.length === 1) return rounds[0]!;
  const sorted = [...rounds].sort((a, b) => a.result!.requestsPerSec - b.result!.requestsPerSec);
  const dirty = rounds.find((m) => m.result!.non2xx + m.result!.socketErrors > 0);
  const mid = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const cpus = rounds.map((m) => m.cpuNsPerRequest).filter((c): c is number => c !== undefined).sort((a, b) => a - b);
  const cpu = cpus.length === rounds.length ? { cpuNsPerRequest: cpus[Math.floor((cpus.length - 1) / 2)]! } : {};
  return { ...(dirty ?? mid), perRound: rounds.map((m) => m.result!.requestsPerSec), ...cpu };
}

/** A bar from issue 2 section 9: `num / den` must reach `atLeast`. */
export interface Bar {
  readonly name: string;
  readonly num?: Measured;
  readonly den?: Measured;
  readonly atLeast: number;
  /** Compare rows/s instead of requests/s. */
  readonly rows?: boolean;
  /** Compare CPU time per request instead (den's over num's: the throughput ratio on a quiet machine). */
  readonly cpu?: boolean;
}

const ms = (v: number): string => (v < 1 ? `${(v * 1000).toFixed(0)} µs` : `${v.toFixed(2)} ms`);
const int = (v: number): string => Math.round(v).toLocaleString("en-US");

/** The ratio of a bar, or undefined when either side has no result. */
export function ratio(bar: Bar): number | undefined {
  if (bar.cpu) {
    const [n, d] = [bar.num?.cpuNsPerRequest, bar.den?.cpuNsPerRequest];
    return n === undefined || d === undefined || n === 0 ? undefined : d / n;
  }
  const n = bar.num?.result;
  const d = bar.den?.result;
  if (!n || !d || d.requestsPerSec === 0) return undefined;
  const k = (m: Measured, r: WrkResult): number => (bar.rows ? r.requestsPerSec * m.rowsPerRequest : r.requestsPerSec);
  return k(bar.num!, n) / k(bar.den!, d);
}

/** What kept the run from measuring cleanly (a server that failed, wrk errors); empty when clean. */
export function failures(rows: readonly Measured[]): string[] {
  const out: string[] = [];
  for (const m of rows) {
    if (m.error) out.push(`${m.key}: ${m.error}`);
    else if (m.result && (m.result.non2xx > 0 || m.result.socketErrors > 0)) {
      out.push(`${m.key}: wrk saw ${m.result.non2xx} non-2xx responses and ${m.result.socketErrors} socket errors`);
    }
  }
  return out;
}

function table(rows: readonly Measured[], unit: "req/s" | "rows/s"): string[] {
  const lines = [
    `| server | conns | ${unit} | p50 | p99 | requests | errors | CPU/request |`,
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const m of rows) {
    const r = m.result;
    if (!r) {
      lines.push(`| ${m.label} | ${m.connections} | failed | | | | ${m.error ?? "not run"} |`);
      continue;
    }
    const rate = unit === "rows/s" ? r.requestsPerSec * m.rowsPerRequest : r.requestsPerSec;
    const errs = r.non2xx + r.socketErrors;
    const rounds = m.perRound ? ` (rounds: ${m.perRound.map((v) => int(v * m.rowsPerRequest)).join(", ")})` : "";
    lines.push(
      `| ${m.label} | ${m.connections} | ${int(rate)}${rounds} | ${ms(r.p50Ms)} | ${ms(r.p99Ms)} | ${int(r.requests)} | ${errs} | ${m.cpuNsPerRequest === undefined ? "–" : `${(m.cpuNsPerRequest / 1000).toFixed(1)} µs`} |`,
    );
  }
  return lines;
}

function bars(list: readonly Bar[]): string[] {
  if (list.length === 0) return [];
  const lines = ["| bar | measured | target | result |", "| --- | ---: | ---: | --- |"];
  for (const b of list) {
    const r = ratio(b);
    const verdict = r === undefined ? "NOT MEASURED" : r >= b.atLeast ? "PASS" : `MISS (${((r / b.atLeast) * 100).toFixed(0)}% of the bar)`;
    lines.push(`| ${b.name} | ${r === undefined ? "–" : `${r.toFixed(2)}×`} | ≥ ${b.atLeast}× | ${verdict} |`);
  }
  return lines;
}

export interface ReportInput {
  readonly header: readonly string[];
  readonly small: readonly Measured[];
  readonly smallBars: readonly Bar[];
  readonly mlp: readonly Measured[];
  readonly mlpBars: readonly Bar[];
  readonly mlpHeader: readonly string[];
}

/** The whole report as markdown. */
export function renderReport(r: ReportInput): string {
  const out = [...r.header, ""];
  if (r.small.length) out.push(...table(r.small, "req/s"), "", ...bars(r.smallBars), "");
  if (r.mlp.length) out.push(...r.mlpHeader, "", ...table(r.mlp, "rows/s"), "", ...bars(r.mlpBars), "");
  const bad = failures([...r.small, ...r.mlp]);
  if (bad.length) out.push("**Errors:**", "", ...bad.map((b) => `- ${b.split("\n")[0]}`), "");
  return out.join("\n");
}
