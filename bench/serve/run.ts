// `npm run bench:serve`: issue 2 section 9. One run, same model, same request body, same wrk settings:
//   A. FastAPI + scikit-learn on uvicorn   B. bare node:http (the ceiling)   C. `mlops serve`
//   C-bin. `mlops serve` with the same tensor in Triton's binary tensor data form (tritonclient's default)
// then a 256-256 MLP served by `mlops serve` at 64 connections with batching on and off; and C with
// payload logging off, at sample rate 0.1 and at 1.0 (bench/serve/payload.ts).
//
//   npm run bench:serve                          # 10 s per server, 3 interleaved rounds, medians reported
//   npm run bench:serve -- --duration 20
//   npm run bench:serve -- --quick               # smoke run: 2 s per server, one round
//   npm run bench:serve -- --only a,b            # a subset: a, b, c, cbin, mlp, log
//   npm run bench:serve -- --rounds 1            # each server once
//
// Exits non-zero when a server fails to start or answer, or wrk sees errors; a missed bar only prints MISS.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { freePort } from "../../src/net.js";
import { assertPortFree, installCleanup, runToEnd, startChild, stopChild, waitReady, type Child } from "./procs.js";
import { processCpuNs } from "./cpu.js";
import { runPayloadCase, type PayloadCaseResult } from "./payload.js";
import { failures, median, renderReport, type Bar, type Measured } from "./report.js";
import { runWrk, writeBinaryPostScript, writePostScript } from "./wrk.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const PYTHON = "/usr/bin/python3";
const EXAMPLE = join(ROOT, "examples", "breast-cancer");
const MODEL = "breast-cancer";
const MLP = "bench-mlp";
const MLP_WIDTH = 256;
const READY_TIMEOUT_MS = 90_000;
const WARMUP_S = 1;

const { values: flags } = parseArgs({
  options: {
    duration: { type: "string" },
    quick: { type: "boolean", default: false },
    only: { type: "string", default: "a,b,c,cbin,mlp,log" },
    connections: { type: "string", default: "32" },
    "mlp-connections": { type: "string", default: "64" },
    "batch-size": { type: "string", default: "32" },
    "batch-delay-ms": { type: "string", default: "2" },
    rounds: { type: "string" },
  },
});
const durationS = Number(flags.duration ?? process.env.BENCH_DURATION_S ?? (flags.quick ? 2 : 10));
const only = new Set(flags.only!.split(",").map((s) => s.trim().toLowerCase()));
const conns = Number(flags.connections);
const mlpConns = Number(flags["mlp-connections"]);
const rounds = Number(flags.rounds ?? (flags.quick ? 1 : 3));
const batch = { size: Number(flags["batch-size"]), delayMs: Number(flags["batch-delay-ms"]) };
for (const [k, v] of Object.entries({ durationS, conns, mlpConns, rounds, ...batch })) {
  if (!Number.isFinite(v) || v < 0 || (k !== "delayMs" && v < 1)) throw new Error(`bad value for ${k}: ${v}`);
}

interface Server {
  readonly key: string;
  readonly label: string;
  readonly start: (port: number) => Child;
  /** Checks one answer to the benchmark's request; returns a reason when it is wrong. */
  readonly check: (status: number, body: Buffer, headers: Headers) => string | undefined;
  readonly inferPath: string;
}

/** One request as sent: the body and the headers that go with it. */
interface BenchRequest {
  readonly body: string | Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

const JSON_HEADERS = { "content-type": "application/json" } as const;

/** The row whose scikit-learn probability is nearest 0.5, so the answer check means something. */
function pickRequest(): { body: string; expected: number; row: number; values: number[] } {
  const info = JSON.parse(readFileSync(join(EXAMPLE, "model.json"), "utf8")) as { probability_all_rows: number[] };
  const lines = readFileSync(join(EXAMPLE, "data.csv"), "utf8").trimEnd().split("\n").slice(1);
  let row = 0;
  info.probability_all_rows.forEach((p, i) => {
    if (Math.abs(p - 0.5) < Math.abs(info.probability_all_rows[row]! - 0.5)) row = i;
  });
  const values = lines[row]!.split(",").slice(0, 30).map(Number);
  const body = JSON.stringify({ inputs: [{ name: "input", shape: [1, 30], datatype: "FP32", data: values }] });
  return { body, expected: info.probability_all_rows[row]!, row, values };
}

/**
 * The same tensor as tritonclient sends it by default (binary tensor data extension): a JSON header with
 * `binary_data_size`, the 30 float32 values little-endian after it, and every output asked for in binary.
 */
function binaryRequest(values: readonly number[]): BenchRequest {
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: "input", shape: [1, values.length], datatype: "FP32", parameters: { binary_data_size: values.length * 4 } }],
      parameters: { binary_data_output: true },
    }),
  );
  const data = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => data.writeFloatLE(v, i * 4));
  return {
    body: Buffer.concat([header, data]),
    headers: { "content-type": "application/octet-stream", "inference-header-content-length": String(header.length) },
  };
}

function mlpBody(): string {
  // Deterministic values in [-1, 1]; the same body for every request.
  const data = Array.from({ length: MLP_WIDTH }, (_, i) => Number(Math.sin(i * 12.9898).toFixed(4)));
  return JSON.stringify({ inputs: [{ name: "input", shape: [1, MLP_WIDTH], datatype: "FP32", data }] });
}

function probabilityCheck(expected: number) {
  return (status: number, body: Buffer, headers: Headers): string | undefined => {
    if (status !== 200) return `answered ${status}: ${body.toString().slice(0, 200)}`;
    try {
      // A binary answer: the JSON header, then the output's float32 value.
      const jsonLength = headers.get("inference-header-content-length");
      const got =
        jsonLength === null
          ? (JSON.parse(body.toString()) as { outputs: { data: number[] }[] }).outputs[0]!.data[0]!
          : body.readFloatLE(Number(jsonLength));
      return Math.abs(got - expected) < 1e-4 ? undefined : `predicted ${got}, scikit-learn says ${expected}`;
    } catch {
      return `answered something that is not an OIP response: ${body.toString().slice(0, 200)}`;
    }
  };
}

const okStatus = (status: number, body: Buffer): string | undefined =>
  status === 200 ? undefined : `answered ${status}: ${body.toString().slice(0, 200)}`;

function mlopsServer(key: string, label: string, model: string, registry: string, size: number, delayMs: number, check: Server["check"], extra: string[] = []): Server {
  return {
    key,
    label,
    inferPath: `/v2/models/${model}/infer`,
    check,
    start: (port) =>
      startChild(key, process.execPath, [
        join(ROOT, "bin", "mlops.js"), "serve", "--model", `${model}@champion`, "--registry", registry,
        "--host", "127.0.0.1", "--port", String(port),
        "--max-batch-size", String(size), "--max-batch-delay-ms", String(delayMs), "--log-level", "warn", ...extra,
      ]),
  };
}

async function measure(server: Server, script: string, request: BenchRequest, connections: number, rowsPerRequest: number): Promise<Measured> {
  const base = { key: server.key, label: server.label, connections, rowsPerRequest };
  let child: Child | undefined;
  try {
    const port = await freePort();
    await assertPortFree(port);
    process.stderr.write(`${server.key}: starting on 127.0.0.1:${port}\n`);
    child = server.start(port);
    const url = `http://127.0.0.1:${port}`;
    await waitReady(child, `${url}/v2/health/ready`, READY_TIMEOUT_MS);
    const r = await fetch(url + server.inferPath, {
      method: "POST",
      headers: request.headers,
      body: request.body,
      signal: AbortSignal.timeout(10_000),
    });
    const wrong = server.check(r.status, Buffer.from(await r.arrayBuffer()), r.headers);
    if (wrong) throw new Error(`the benchmark request ${wrong}`);
    const opts = { url: url + server.inferPath, script, connections };
    await runWrk({ ...opts, durationS: WARMUP_S });
    process.stderr.write(`${server.key}: wrk -t1 -c${connections} -d${durationS}s\n`);
    const cpuBefore = processCpuNs(child.proc.pid);
    const result = await runWrk({ ...opts, durationS });
    const cpuAfter = processCpuNs(child.proc.pid);
    if (child.proc.exitCode !== null) throw new Error(`exited during the run; last output:\n${child.output.join("\n")}`);
    const cpu = cpuBefore !== undefined && cpuAfter !== undefined && result.requests > 0 ? { cpuNsPerRequest: (cpuAfter - cpuBefore) / result.requests } : {};
    return { ...base, result, ...cpu };
  } catch (e) {
    process.stderr.write(`${server.key}: ${(e as Error).message}\n`);
    return { ...base, error: (e as Error).message };
  } finally {
    if (child) await stopChild(child, 5000);
  }
}

async function register(name: string, file: string, registry: string): Promise<void> {
  const args = [join(ROOT, "bin", "mlops.js"), "registry", "register", name, "--file", file, "--alias", "champion", "--registry", registry];
  const r = await runToEnd("mlops registry register", process.execPath, args, 120_000);
  if (r.code !== 0) throw new Error(`mlops registry register ${name} exited with ${r.code}:\n${r.stdout}${r.stderr}`);
}

function cliMissing(): string | undefined {
  const need = ["bin/mlops.js", "cli/main.ts", "runtime/serve/main.ts"].filter((p) => !existsSync(join(ROOT, p)));
  return need.length ? `mlops serve is not available yet (missing ${need.join(", ")})` : undefined;
}

async function main(): Promise<number> {
  installCleanup();
  const tmp = mkdtempSync(join(tmpdir(), "mlops-bench-serve-"));
  process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));
  const registry = `file://${join(tmp, "registry")}`;
  const req = pickRequest();
  const script = writePostScript(tmp, "oip-30", req.body);
  const check = probabilityCheck(req.expected);
  const missing = cliMissing();
  const wantC = only.has("c");
  const wantBinary = only.has("cbin");
  const wantMlp = only.has("mlp");
  const wantLog = only.has("log");

  let registerError: string | undefined;
  if ((wantC || wantBinary || wantMlp || wantLog) && !missing) {
    try {
      await register(MODEL, join(EXAMPLE, "model.onnx"), registry);
    } catch (e) {
      registerError = (e as Error).message;
    }
  }
  const cError = missing ?? registerError;

  const servers: Server[] = [];
  if (only.has("a")) {
    servers.push({
      key: "A",
      label: "A. FastAPI + scikit-learn (uvicorn, uvloop, httptools)",
      inferPath: `/v2/models/${MODEL}/infer`,
      check,
      start: (port) =>
        startChild("A", PYTHON, [join(ROOT, "bench", "serve", "fastapi_app.py"), "--port", String(port),
          "--model-json", join(EXAMPLE, "model.json"), "--model-name", MODEL]),
    });
  }
  if (only.has("b")) {
    servers.push({
      key: "B",
      label: "B. bare node:http, fixed JSON (ceiling)",
      inferPath: `/v2/models/${MODEL}/infer`,
      check: okStatus,
      start: (port) => startChild("B", process.execPath, [join(ROOT, "bench", "serve", "bare.mjs"), String(port)]),
    });
  }
  const cLabel = `C. mlops serve (max batch ${batch.size}, delay ${batch.delayMs} ms)`;
  if (wantC && !cError) servers.push(mlopsServer("C", cLabel, MODEL, registry, batch.size, batch.delayMs, check));

  interface Job {
    readonly server: Server;
    readonly script: string;
    readonly request: BenchRequest;
    readonly connections: number;
  }
  const jsonRequest: BenchRequest = { body: req.body, headers: JSON_HEADERS };
  const smallJobs: Job[] = servers.map((server) => ({ server, script, request: jsonRequest, connections: conns }));
  const binLabel = "C-bin. mlops serve, the same tensor as binary tensor data";
  const binRequest = binaryRequest(req.values);
  if (wantBinary && !cError) {
    smallJobs.push({
      server: mlopsServer("C-bin", binLabel, MODEL, registry, batch.size, batch.delayMs, check),
      script: writeBinaryPostScript(tmp, "oip-30-binary", binRequest.body as Buffer, binRequest.headers),
      request: binRequest,
      connections: conns,
    });
  }
  const mlpJobs: Job[] = [];
  const onLabel = `MLP, batching on (max ${batch.size}, ${batch.delayMs} ms)`;
  const offLabel = "MLP, batching off (max 1)";
  let mlpError = cError;
  if (wantMlp && !mlpError) {
    try {
      const file = join(tmp, "mlp.onnx");
      const made = await runToEnd("make_mlp.py", PYTHON, [join(ROOT, "bench", "serve", "make_mlp.py"), file], 120_000);
      if (made.code !== 0) throw new Error(`make_mlp.py exited with ${made.code}: ${made.stderr}`);
      await register(MLP, file, registry);
      const body = mlpBody();
      const s = writePostScript(tmp, "oip-mlp", body);
      const request: BenchRequest = { body, headers: JSON_HEADERS };
      mlpJobs.push(
        { server: mlopsServer("MLP-on", onLabel, MLP, registry, batch.size, batch.delayMs, okStatus), script: s, request, connections: mlpConns },
        { server: mlopsServer("MLP-off", offLabel, MLP, registry, 1, 0, okStatus), script: s, request, connections: mlpConns },
      );
    } catch (e) {
      mlpError = (e as Error).message;
    }
  }

  // Rounds interleave the servers, so a change in the machine's load hits all of them alike.
  const runs = new Map<Job, Measured[]>();
  for (let round = 1; round <= rounds; round++) {
    if (rounds > 1) process.stderr.write(`round ${round} of ${rounds}\n`);
    for (const job of [...smallJobs, ...mlpJobs]) {
      const m = await measure(job.server, job.script, job.request, job.connections, 1);
      runs.set(job, [...(runs.get(job) ?? []), m]);
    }
  }
  // Payload logging: its three servers side by side, measured in turns (bench/serve/payload.ts).
  let logged: PayloadCaseResult | undefined;
  if (wantLog && !cError) {
    const start = (key: string, port: number, extra: string[]) => mlopsServer(key, key, MODEL, registry, batch.size, batch.delayMs, check, extra).start(port);
    logged = await runPayloadCase({
      tmp, start, inferPath: `/v2/models/${MODEL}/infer`, script, check, body: req.body, connections: conns,
      durationS: Math.max(1, Math.min(durationS, 3)), rounds: Math.max(rounds * 2, 5), readyTimeoutMs: READY_TIMEOUT_MS,
    });
  }
  const small = [...smallJobs.map((j) => median(runs.get(j)!)), ...(logged?.rows ?? [])];
  if (wantC && cError) small.push({ key: "C", label: cLabel, connections: conns, rowsPerRequest: 1, error: cError });
  if (wantBinary && cError) small.push({ key: "C-bin", label: binLabel, connections: conns, rowsPerRequest: 1, error: cError });
  const byKey = (k: string): Measured | undefined => small.find((m) => m.key === k);
  const mlp = mlpJobs.map((j) => median(runs.get(j)!));
  if (wantMlp && mlpError) {
    for (const [key, label] of [["MLP-on", onLabel], ["MLP-off", offLabel]] as const) {
      mlp.push({ key, label, connections: mlpConns, rowsPerRequest: 1, error: mlpError });
    }
  }

  const smallBars: Bar[] = [
    { name: "C / A requests/s", num: byKey("C"), den: byKey("A"), atLeast: 3 },
    { name: "C / B requests/s", num: byKey("C"), den: byKey("B"), atLeast: 0.4 },
  ].filter((b) => only.has("c"));
  // Binary mode must cost no throughput against JSON for the same tensor (it skips number parsing and printing).
  if (wantC && wantBinary) smallBars.push({ name: "C-bin / C requests/s", num: byKey("C-bin"), den: byKey("C"), atLeast: 0.9 });
  // Payload logging's cost, against the same server with logging off measured in the same rounds.
  if (logged) smallBars.push(...logged.bars);
  const mlpBars: Bar[] = wantMlp
    ? [{ name: "batching on / off rows/s", num: mlp[0], den: mlp[1], atLeast: 1.5, rows: true }]
    : [];

  const cpu = cpus();
  const stamp = new Date().toISOString();
  const header = [
    `# Serving benchmark, ${stamp}`,
    "",
    `Command: \`npm run bench:serve${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}\``,
    `- wrk -t1, ${durationS} s per server after a ${WARMUP_S} s warm-up, one server at a time, each one process` +
      (rounds > 1 ? `; ${rounds} rounds, servers interleaved, the median round reported` : ""),
    `- machine: ${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, Node ${process.version}, load average at start ${loadavg().map((l) => l.toFixed(2)).join(" ")}`,
    `- request: one OIP v2 infer, \`input\` FP32 [1,30] (row ${req.row} of examples/breast-cancer/data.csv), ${Buffer.byteLength(req.body)} bytes; A and C answers checked against scikit-learn (${req.expected.toFixed(6)})`,
    `- C-bin: the same tensor as binary tensor data (JSON header with \`binary_data_size\`, 120 bytes of float32, \`binary_data_output\`), ${binRequest.body.length} bytes, answered in binary and checked the same way`,
    ...(logged
      ? ["- L-*: C's request and settings, payload logging off / at 0.1 / at 1.0 to a file:// store, the three side by side, measured in turns (bench/serve/payload.ts):", ...logged.lines]
      : []),
  ];
  const mlpHeader = [
    `## Heavier model: 256-256 MLP (bench/serve/make_mlp.py), ${mlpConns} connections`,
    "",
    `- request: FP32 [1,${MLP_WIDTH}], ${Buffer.byteLength(mlpBody())} bytes; one row per request, so rows/s = requests/s`,
  ];
  const md = renderReport({ header, small, smallBars, mlp, mlpBars, mlpHeader });
  process.stdout.write(`\n${md}`);
  const outDir = join(ROOT, ".bench");
  mkdirSync(outDir, { recursive: true });
  const outFile = join(outDir, `serve-${stamp.replace(/[:.]/g, "-")}.md`);
  writeFileSync(outFile, md);
  process.stderr.write(`written to ${outFile}\n`);

  const bad = failures([...small, ...mlp]);
  if (bad.length) {
    process.stderr.write(`\n${bad.length} failure(s):\n${bad.map((b) => `- ${b}`).join("\n")}\n`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench:serve failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(2);
  },
);
