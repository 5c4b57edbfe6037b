import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { seededRandom } from "../../../runtime/train/split.js";

/**
 * Runs scikit-learn (Debian's python3-sklearn through /usr/bin/python3) as the oracle for the trainer
 * and metric tests. Arrays travel as .npy files in a temporary folder; the script prints one JSON line.
 */
export async function sklearn<T>(script: string, arrays: Record<string, { data: ArrayLike<number>; shape: number[] }>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "mlops-sklearn-"));
  try {
    for (const [name, a] of Object.entries(arrays)) writeFileSync(join(dir, `${name}.npy`), npy(a.data, a.shape));
    const prelude = [
      "import json, sys, numpy as np",
      `D = ${JSON.stringify(dir)}`,
      "def load(name): return np.load(f'{D}/{name}.npy')",
    ].join("\n");
    const { stdout } = await execa("/usr/bin/python3", ["-c", `${prelude}\n${script}`], { timeout: 60_000 });
    return JSON.parse(stdout.trim().split("\n").pop()!) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A float64 little-endian C-order .npy file (format 1.0). */
export function npy(data: ArrayLike<number>, shape: number[]): Buffer {
  const dict = `{'descr': '<f8', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  // Header (magic 6 + version 2 + length 2 + dict + newline) pads to a multiple of 64 bytes.
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const header = Buffer.alloc(total, 0x20);
  header.write("\x93NUMPY", 0, "latin1");
  header[6] = 1;
  header[7] = 0;
  header.writeUInt16LE(total - 10, 8);
  header.write(dict, 10, "latin1");
  header[total - 1] = 0x0a;
  const body = Buffer.alloc(data.length * 8);
  for (let i = 0; i < data.length; i++) body.writeDoubleLE(data[i]!, i * 8);
  return Buffer.concat([header, body]);
}

/** Deterministic uniform [0, 1) generator (the runtime's mulberry32) so a failing case can be replayed. */
export const rng = seededRandom;

/** Standard normal draws from a uniform generator (Box–Muller). */
export function gaussian(uniform: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}
