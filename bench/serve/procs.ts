// Child processes for the benchmark: start a server in its own process group, wait until it answers,
// and make sure every one of them dies with the runner (normal end, error, Ctrl-C).
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

/** A started child; `output` keeps its last lines for error messages. */
export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly output: string[];
  readonly exited: Promise<number | null>;
}

const live = new Set<Child>();
const KEEP_LINES = 40;

/** Spawns `cmd args` in a new process group so that stopping it also stops anything it started. */
export function startChild(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const proc = spawn(cmd, args, {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  const output: string[] = [];
  const keep = (buf: Buffer): void => {
    for (const line of buf.toString().split("\n")) if (line.trim()) output.push(line);
    if (output.length > KEEP_LINES) output.splice(0, output.length - KEEP_LINES);
  };
  proc.stdout!.on("data", keep);
  proc.stderr!.on("data", keep);
  const exited = new Promise<number | null>((res) => {
    proc.on("exit", (code, signal) => res(code ?? (signal ? 128 : null)));
    proc.on("error", (e) => {
      output.push(`spawn failed: ${e.message}`);
      res(127);
    });
  });
  const child: Child = { name, proc, output, exited };
  live.add(child);
  void exited.then(() => live.delete(child));
  return child;
}

function signalGroup(child: Child, signal: NodeJS.Signals): void {
  if (child.proc.pid === undefined) return;
  try {
    process.kill(-child.proc.pid, signal);
  } catch {
    // already gone
  }
}

/** SIGTERM, then SIGKILL after `graceMs` if it is still there. */
export async function stopChild(child: Child, graceMs = 3000): Promise<void> {
  if (!live.has(child)) return;
  signalGroup(child, "SIGTERM");
  const timer = setTimeout(() => signalGroup(child, "SIGKILL"), graceMs);
  await child.exited;
  clearTimeout(timer);
  // The group may hold grandchildren that outlived the leader.
  signalGroup(child, "SIGKILL");
}

/** Kills every child still running, synchronously (safe from an `exit` handler). */
export function killAll(): void {
  for (const child of live) signalGroup(child, "SIGKILL");
  live.clear();
}

/** Stops every child on Ctrl-C / SIGTERM / exit; call once at start. */
export function installCleanup(): void {
  process.on("exit", killAll);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      process.stderr.write(`\n${sig}: stopping ${live.size} child process(es)\n`);
      killAll();
      process.exit(130);
    });
  }
}

/** Throws when something already listens on `port` (so a stale server is never measured by mistake). */
export async function assertPortFree(port: number): Promise<void> {
  await new Promise<void>((res, rej) => {
    const srv = createServer();
    srv.on("error", () => rej(new Error(`port ${port} on 127.0.0.1 is already in use`)));
    srv.listen(port, "127.0.0.1", () => srv.close(() => res()));
  });
}

/**
 * Polls `url` until it answers 200, the child exits, or `timeoutMs` passes; throws with the child's
 * last output otherwise.
 */
export async function waitReady(child: Child, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void child.exited.then((c) => (exitCode = c ?? -1));
  while (Date.now() < deadline) {
    if (exitCode !== undefined) break;
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  const why = exitCode !== undefined ? `exited with ${exitCode}` : `did not answer ${url} within ${timeoutMs} ms`;
  throw new Error(`${child.name} ${why}; its last output:\n  ${child.output.slice(-15).join("\n  ")}`);
}

/** Runs a command to completion (bounded by `timeoutMs`); resolves with its exit code and output. */
export async function runToEnd(
  name: string,
  cmd: string,
  args: string[],
  timeoutMs: number,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let stdout = "";
  let stderr = "";
  proc.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
  proc.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const code = await new Promise<number | null>((res) => {
    proc.on("exit", (c) => res(c));
    proc.on("error", (e) => {
      stderr += `${name}: ${e.message}`;
      res(127);
    });
  });
  clearTimeout(timer);
  return { code, stdout, stderr };
}
