import { resolve } from "node:path";
import { execa } from "execa";
import type { TrainSpec } from "../../src/spec/train.js";

/**
 * The git commit of the code a run trains with (the command trainer's working folder, else the run's), or
 * undefined outside a git checkout. Read once per run: the run record takes it at start and the registered
 * version's lineage takes it from the record.
 */
export async function codeRevisionOf(spec: TrainSpec, cwd: string): Promise<string | undefined> {
  const dir = "command" in spec.trainer ? resolve(cwd, spec.trainer.cwd ?? ".") : cwd;
  const r = await execa("git", ["rev-parse", "HEAD"], { cwd: dir, reject: false, timeout: 5000, stdin: "ignore" });
  const out = String(r.stdout).trim();
  return r.exitCode === 0 && /^[0-9a-f]{40}$/.test(out) ? out : undefined;
}
