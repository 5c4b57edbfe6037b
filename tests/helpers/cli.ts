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
