/**
 * A numerical column's finite values sorted and run-length compressed: each distinct value once, with
 * how many rows hold it (or, in a profile's sketch, the share of rows it stands for). What needs order
 * works on these (KS, merges with a profile, the profile itself); a raw sample sorts into one on demand.
 */

export interface Support {
  /** Distinct finite values, strictly ascending. */
  readonly values: Float64Array;
  /** Multiplicity of each value (row counts; weights when the support is a quantile sketch). */
  readonly counts: Float64Array;
  /** Sum of counts: the number of finite values. */
  readonly total: number;
}

/** The support of `sorted` (ascending, finite). */
export function supportOfSorted(sorted: Float64Array): Support {
  const n = sorted.length;
  let distinct = 0;
  for (let i = 0; i < n; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct++;
  if (distinct === n) return { values: sorted, counts: ones(n), total: n };
  const values = new Float64Array(distinct);
  const counts = new Float64Array(distinct);
  let k = -1;
  for (let i = 0; i < n; i++) {
    const v = sorted[i]!;
    if (k < 0 || v !== values[k]) values[++k] = v;
    counts[k]!++;
  }
  return { values, counts, total: n };
}

let onesPool = new Float64Array(0);

/** n ones, from one shared array (supports never write their counts). */
function ones(n: number): Float64Array {
  if (onesPool.length < n) onesPool = new Float64Array(Math.max(n, 2 * onesPool.length)).fill(1);
  return onesPool.subarray(0, n);
}

