import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLogger, type Logger } from "../../../src/log.js";
import { parseTrainSpec, type TrainSpec, type TrainSpecInput } from "../../../src/spec/train.js";

export const PYTHON = "/usr/bin/python3";
export const TRAINERS = fileURLToPath(new URL("../../fixtures/trainers/", import.meta.url));

/** A small LCG so the test data does not depend on the code under test. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export interface DataOptions {
  rows?: number;
  seed?: number;
  /** Add a text column `segment` (not numeric: must be excluded). */
  text?: boolean;
  /** Make class 1 depend on x1..x4 with these weights. @default [2, -1, 0.5, 0] */
  weights?: number[];
}

/** Writes a seeded binary-classification CSV: id, x1..x4, [segment], label. */
export async function writeClassificationCsv(path: string, opts: DataOptions = {}): Promise<void> {
  const rand = lcg(opts.seed ?? 7);
  const w = opts.weights ?? [2, -1, 0.5, 0];
  const normal = () => Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand());
  const lines = [`id,x1,x2,x3,x4${opts.text ? ",segment" : ""},label`];
  for (let i = 0; i < (opts.rows ?? 2000); i++) {
    const x = w.map(() => normal());
    const logit = 0.3 + x.reduce((s, v, j) => s + v * w[j]!, 0);
    const label = rand() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    lines.push(`${i},${x.map((v) => v.toFixed(6)).join(",")}${opts.text ? `,${i % 2 ? "a" : "b"}` : ""},${label}`);
  }
  await writeFile(path, lines.join("\n") + "\n");
}

/** A temporary folder removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "mlops-train-test-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A temporary folder holding `data.csv` (see {@link writeClassificationCsv}), removed by the cleanup. */
export async function dataDir(opts: DataOptions = {}): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const temp = await tempDir();
  await writeClassificationCsv(join(temp.dir, "data.csv"), opts);
  return temp;
}

/** A JSON logger that keeps every line, for asserting on what the run logged. */
export function captureLogger(): { logger: Logger; lines: string[]; records: () => Array<Record<string, unknown>> } {
  const lines: string[] = [];
  const logger = createLogger({ json: true, level: "debug", write: (l) => lines.push(l) });
  return { logger, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** A spec over `dir`: registry at dir/registry, dataset dir/data.csv, label `label`, id excluded. */
export function specIn(dir: string, overrides: Partial<TrainSpecInput> & Pick<TrainSpecInput, "trainer">): TrainSpec {
  return parseTrainSpec({
    name: "fraud",
    registry: `file://${join(dir, "registry")}`,
    model: "fraud",
    dataset: { uri: `file://${join(dir, "data.csv")}`, label: "label", exclude: ["id"] },
    ...overrides,
  });
}
