/**
 * The Python side of the drift tests: Debian's scipy/numpy/pandas through /usr/bin/python3 (the
 * python3 first on PATH does not see them), running evidently_oracle.py or a snippet.
 */
import { execFile, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect } from "vitest";
import type { ColumnReport } from "../../../runtime/drift/column.js";

const run = promisify(execFile);
export const PYTHON = "/usr/bin/python3";
export const ORACLE = join(dirname(fileURLToPath(import.meta.url)), "evidently_oracle.py");
export const TOLERANCE = 1e-6;

export interface OracleReport {
  dataset_drift: boolean;
  share_drifted: number;
  columns: Record<string, Omit<ColumnReport, "statistic"> & { statistic: number | "inf" }>;
}

/** Writes one of the oracle's scenarios (reference.csv, current.csv) into `dir`. */
export async function generate(scenario: string, dir: string): Promise<{ reference: string; current: string }> {
  await run(PYTHON, [ORACLE, "generate", scenario, dir]);
  return { reference: join(dir, "reference.csv"), current: join(dir, "current.csv") };
}

export async function oracleDrift(reference: string, current: string, flags: string[] = []): Promise<OracleReport> {
  const { stdout } = await run(PYTHON, [ORACLE, "drift", reference, current, ...flags], { maxBuffer: 64 << 20 });
  return JSON.parse(stdout) as OracleReport;
}

/** Runs Python `code` (numpy as np, scipy's stats and special, json; `INPUT` read from stdin) that prints one JSON value. */
export function python<T>(code: string, input?: unknown): Promise<T> {
  const prelude = "import json, sys\nimport numpy as np\nfrom scipy import stats, special\nfrom scipy.spatial import distance\nINPUT = json.load(sys.stdin)\n";
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ["-c", prelude + code], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out) as T) : reject(new Error(`python exited ${code}: ${err}`))));
    child.stdin.end(JSON.stringify(input ?? null));
  });
}

/** |a − b| ≤ 1e-6 · max(1, |b|); "inf" (the oracle's infinity) matches a statistic written as the largest double. */
export function close(actual: number | null, expected: number | null | "inf"): boolean {
  if (expected === "inf") return actual !== null && actual > 1e300;
  if (actual === null || expected === null) return actual === expected;
  return Math.abs(actual - expected) <= TOLERANCE * Math.max(1, Math.abs(expected));
}

/** Every column of `expected`: same test, type and verdict, statistic and p-value within tolerance. */
export function expectSameReport(actual: { dataset_drift: boolean; share_drifted: number; columns: Record<string, ColumnReport> }, expected: OracleReport): void {
  expect(Object.keys(actual.columns).sort()).toEqual(Object.keys(expected.columns).sort());
  for (const [name, e] of Object.entries(expected.columns)) {
    const a = actual.columns[name]!;
    const where = `column ${name}: ours ${JSON.stringify(a)}, scipy/Evidently ${JSON.stringify(e)}`;
    expect({ test: a.test, type: a.type, drift: a.drift, threshold: a.threshold }, where).toEqual({ test: e.test, type: e.type, drift: e.drift, threshold: e.threshold });
    expect(close(a.statistic, e.statistic), `statistic of ${where}`).toBe(true);
    expect(close(a.p_value, e.p_value), `p-value of ${where}`).toBe(true);
  }
  expect(actual.dataset_drift).toBe(expected.dataset_drift);
  expect(actual.share_drifted).toBeCloseTo(expected.share_drifted, 12);
}
