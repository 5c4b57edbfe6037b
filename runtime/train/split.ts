/**
 * Deterministic holdout split. The same seed, fraction and row count always pick the same rows, on any
 * machine and Node version, so a re-run (or the champion's re-scoring) sees exactly the same holdout.
 */
import { seededRandom } from "../../src/random.js";

export { seededRandom };

/** Number of holdout rows: `round(n × fraction)`, kept within [1, n − 1] so neither side is empty. */
export function holdoutSize(n: number, fraction: number): number {
  if (n < 2) return 0;
  return Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
}

/**
 * Marks the holdout rows: a seeded Fisher–Yates shuffle of `0..n-1`, whose first `holdoutSize` rows are
 * held out. Returns a mask (1 = holdout) so callers keep the file's row order on both sides.
 */
export function holdoutMask(n: number, fraction: number, seed: number): Uint8Array {
  const rand = seededRandom(seed);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const mask = new Uint8Array(n);
  const k = holdoutSize(n, fraction);
  for (let i = 0; i < k; i++) mask[order[i]!] = 1;
  return mask;
}
