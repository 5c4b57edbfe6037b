/**
 * A numerical column's finite values as the tests use them: the raw values (unsorted, as read) with
 * their range, mean and population standard deviation, the value counts when the column has few
 * distinct values, and the sorted support computed only when a test needs it (KS, a profile). Most
 * tests on large tables never sort: the Wasserstein distance and the histograms work on the raw
 * values in linear time.
 */
import { sortFloat64 } from "./sort.js";
import { supportOfSorted, type Support } from "./support.js";

/** Distinct values are counted exactly up to this many (the tests ask "more than 2, 5, 10 or 20?"). */
export const COUNT_LIMIT = 21;

export interface NumericSample {
  /** The finite values, in no order; undefined for a profile, which holds only its support. */
  readonly values?: Float64Array;
  /** Number of finite values (sum of the support's weights). */
  readonly total: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  /** Population standard deviation (ddof 0, as np.std). */
  readonly std: number;
  /** Distinct values: exact up to {@link COUNT_LIMIT}; above it, any number greater than the limit. */
  readonly distinct: number;
  /** Count per value, when there are at most {@link COUNT_LIMIT} distinct values. */
  readonly valueCounts?: ReadonlyMap<number, number>;
  /** Sorted distinct values with their counts (sorted on first use, then kept). */
  support(): Support;
}

/** The sample of raw finite values (the array is kept and later sorted in place if asked). */
export function sampleOf(values: Float64Array): NumericSample {
  const n = values.length;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  // Up to COUNT_LIMIT + 1 distinct values tracked with their counts; tracking stops once exceeded.
  const keys = new Float64Array(COUNT_LIMIT + 1);
  const counts = new Float64Array(COUNT_LIMIT + 1);
  let distinct = 0;
  let tracking = true;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    if (tracking) {
      let k = 0;
      while (k < distinct && keys[k] !== v) k++;
      if (k === distinct) {
        if (distinct === COUNT_LIMIT + 1) {
          tracking = false;
          continue;
        }
        keys[distinct++] = v;
      }
      counts[k]!++;
    }
  }
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i]! - mean;
    sq += d * d;
  }
  let valueCounts: Map<number, number> | undefined;
  if (tracking && distinct <= COUNT_LIMIT) {
    valueCounts = new Map();
    for (let k = 0; k < distinct; k++) valueCounts.set(keys[k]!, counts[k]!);
  }
  let sorted: Support | undefined;
  return {
    values,
    total: n,
    min,
    max,
    mean,
    std: Math.sqrt(sq / n),
    distinct: tracking ? distinct : COUNT_LIMIT + 1,
    ...(valueCounts ? { valueCounts } : {}),
    support: () => (sorted ??= supportOfSorted(sortFloat64(values))),
  };
}

/** The sample of a stored support (a profile): everything precomputed, no raw values. */
export function sampleOfSupport(support: Support, stats: { mean: number; std: number; distinct: number }): NumericSample {
  const few = support.values.length <= COUNT_LIMIT && stats.distinct === support.values.length;
  return {
    total: support.total,
    min: support.values[0]!,
    max: support.values[support.values.length - 1]!,
    mean: stats.mean,
    std: stats.std,
    distinct: stats.distinct,
    ...(few ? { valueCounts: new Map(Array.from(support.values, (v, i) => [v, support.counts[i]!])) } : {}),
    support: () => support,
  };
}
