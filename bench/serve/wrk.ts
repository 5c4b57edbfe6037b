// Runs wrk (Debian's `wrk`) with a POST body and reads its `--latency` report.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runToEnd } from "./procs.js";

/** What one wrk run measured. Latencies in milliseconds. */
export interface WrkResult {
  readonly requestsPerSec: number;
  readonly requests: number;
  readonly p50Ms: number;
  readonly p75Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  /** Responses outside 2xx/3xx. */
  readonly non2xx: number;
  /** connect + read + write + timeout errors. */
  readonly socketErrors: number;
  readonly raw: string;
}

export interface WrkOptions {
  readonly url: string;
  /** Path of the Lua script that sets method, headers and body (see {@link writePostScript}). */
  readonly script: string;
  /** @default 1 */
  readonly threads?: number;
  readonly connections: number;
  readonly durationS: number;
  /** Per-request timeout given to wrk. @default 5 */
  readonly timeoutS?: number;
}

const UNIT_MS: Record<string, number> = { us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };

/** "380.00us" / "1.20ms" / "2.01s" → milliseconds. */
export function parseDurationMs(text: string): number {
  const m = /^([0-9.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new Error(`wrk: cannot read the latency "${text}"`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** Reads wrk's text report (run with `--latency`). Throws when a needed line is missing. */
export function parseWrk(raw: string): WrkResult {
  const rps = /Requests\/sec:\s+([0-9.]+)/.exec(raw);
  const total = /(\d+) requests in /.exec(raw);
  if (!rps || !total) throw new Error(`wrk: no "Requests/sec" in its output:\n${raw}`);
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)\\s*$`, "m").exec(raw);
    if (!m) throw new Error(`wrk: no ${p}% latency in its output (was it run with --latency?):\n${raw}`);
    return parseDurationMs(m[1]!);
  };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(raw);
  const socketErrors = sock ? sock.slice(1, 5).reduce((s, n) => s + Number(n), 0) : 0;
  const non = /Non-2xx or 3xx responses: (\d+)/.exec(raw);
  return {
    requestsPerSec: Number(rps[1]),
    requests: Number(total[1]),
    p50Ms: pct("50"),
    p75Ms: pct("75"),
    p90Ms: pct("90"),
    p99Ms: pct("99"),
    non2xx: non ? Number(non[1]) : 0,
    socketErrors,
    raw,
  };
}

/** Writes a wrk Lua script that POSTs `body` as JSON; returns its path. */
export function writePostScript(dir: string, name: string, body: string): string {
  const path = join(dir, `${name}.lua`);
  // A Lua long bracket needs no escaping as long as the body holds no "]==]".
  if (body.includes("]==]")) throw new Error("request body contains the Lua delimiter ]==]");
  writeFileSync(
    path,
    [
      'wrk.method = "POST"',
      'wrk.headers["Content-Type"] = "application/json"',
      `wrk.body = [==[${body}]==]`,
      "",
    ].join("\n"),
  );
  return path;
}

/**
 * Writes a wrk Lua script that POSTs raw bytes with the given headers (a binary tensor data request);
 * returns its path. The body is a Lua string of decimal byte escapes, so any byte survives as it is.
 */
export function writeBinaryPostScript(dir: string, name: string, body: Buffer, headers: Readonly<Record<string, string>>): string {
  const path = join(dir, `${name}.lua`);
  const escaped = Array.from(body, (b) => `\\${b}`).join("");
  const lines = ['wrk.method = "POST"'];
  for (const [k, v] of Object.entries(headers)) lines.push(`wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`);
  lines.push(`wrk.body = "${escaped}"`, "");
  writeFileSync(path, lines.join("\n"));
  return path;
}

/** Runs wrk once, bounded in time; throws when wrk fails or prints no report. */
export async function runWrk(o: WrkOptions): Promise<WrkResult> {
  const args = [
    `-t${o.threads ?? 1}`,
    `-c${o.connections}`,
    `-d${o.durationS}s`,
    `--timeout`,
    `${o.timeoutS ?? 5}s`,
    "--latency",
    "-s",
    o.script,
    o.url,
  ];
  const { code, stdout, stderr } = await runToEnd("wrk", "wrk", args, (o.durationS + 20) * 1000);
  if (code !== 0) throw new Error(`wrk ${args.join(" ")} exited with ${code}:\n${stdout}${stderr}`);
  return parseWrk(stdout);
}
