import { writeFile } from "node:fs/promises";
import { gaussian, rng } from "./sklearn-oracle.js";

/** A row-major table with 0/1 labels. */
export interface Table {
  readonly X: Float64Array;
  readonly y: Float64Array;
  readonly n: number;
  readonly d: number;
}

/**
 * A wide table as genomics or text features look: d columns driven by 5 shared latent factors (so they
 * correlate, some strongly) plus noise, on scales 0.01 to 100 with offsets; labels from a logistic model
 * of the factors (not separable by the factors alone, though any d > n table is separable).
 */
export function wideTable(n: number, d: number, seed: number): Table {
  const u = rng(seed);
  const z = gaussian(u);
  const loadings = Array.from({ length: d }, () => Array.from({ length: 5 }, () => 0.8 * z()));
  const beta = [1, -0.7, 0.5, 0.3, -0.2];
  const X = new Float64Array(n * d);
  const y = new Float64Array(n);
  const f = new Float64Array(5);
  for (let i = 0; i < n; i++) {
    let logit = -0.4 + 0.8 * z();
    for (let k = 0; k < 5; k++) {
      f[k] = z();
      logit += beta[k]! * f[k]!;
    }
    for (let j = 0; j < d; j++) {
      let v = z();
      for (let k = 0; k < 5; k++) v += loadings[j]![k]! * f[k]!;
      X[i * d + j] = (j % 7) * 50 - 100 + 10 ** ((j % 5) - 2) * v;
    }
    y[i] = u() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  return { X, y, n, d };
}

/** Writes `t` as CSV: f1..fd then label. */
export async function writeTableCsv(path: string, t: Table): Promise<void> {
  const lines = [[...Array.from({ length: t.d }, (_, j) => `f${j + 1}`), "label"].join(",")];
  for (let i = 0; i < t.n; i++) {
    const row: string[] = [];
    for (let j = 0; j < t.d; j++) row.push(t.X[i * t.d + j]!.toPrecision(8));
    row.push(String(t.y[i]));
    lines.push(row.join(","));
  }
  await writeFile(path, lines.join("\n") + "\n");
}
