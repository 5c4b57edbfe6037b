import { spawn } from "node:child_process";
import { execa } from "execa";
import { fileURLToPath } from "node:url";
import { join, dirname } from "node:path";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BIN = join(ROOT, "bin", "mlops.js");
export const EXAMPLE_MODEL = join(ROOT, "examples", "breast-cancer", "model.onnx");

/** Runs the real `mlops` command; never throws on a non-zero exit, so tests can assert on it. */
export async function mlops(args: string[], opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}) {
  const r = await execa("node", [BIN, ...args], {
    reject: false,
    cwd: opts.cwd ?? ROOT,
    env: { ...opts.env, NO_COLOR: "1" },
    timeout: opts.timeoutMs ?? 60_000,
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Starts a long-running `mlops` command (serve, features serve) that prints its `{"url": …}` line once it
 * listens; resolves with that URL, or rejects with everything it printed when it exits first. `stop()` sends
 * SIGTERM and resolves with its exit code.
 */
export async function startMlops(args: string[]): Promise<{ url: string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const stop = () => {
    child.kill("SIGTERM");
    return exited;
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (b: Buffer) => {
        out += b.toString();
        const line = out.split("\n").find((l) => l.startsWith("{"));
        if (line) resolve(JSON.parse(line).url);
      });
      child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
      child.once("close", () => reject(new Error(`mlops ${args[0]} exited early: ${out}`)));
    });
    return { url, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
