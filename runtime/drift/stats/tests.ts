/**
 * The drift statistics other than KS, each as Evidently 0.7's legacy stattests compute them (the
 * functions its current API still delegates to), on value counts or on numerical supports:
 * chi-square (`chisquare_stattest.py`), two-proportion Z (`z_stattest.py`), Wasserstein normed by the
 * reference's standard deviation (`wasserstein_distance_norm.py`), Jensen-Shannon distance
 * (`jensenshannon.py`) and PSI (`psi.py`), with `get_binned_data` from `utils.py` for the last two.
 */
import { chi2Sf, normalSf } from "./special.js";
import type { NumericSample } from "./sample.js";
import type { Support } from "./support.js";
import { wassersteinSamples } from "./wasserstein.js";

/** A categorical value: strings, booleans, or numbers (a numerical column with few distinct values). */
export type Key = string | number | boolean;

/** Row counts per distinct non-missing value. */
export interface Counts {
  readonly counts: ReadonlyMap<Key, number>;
  readonly total: number;
}

export interface TestValue {
  statistic: number;
  pValue: number | null;
}

/** Value counts of a numerical sample (each distinct value a category). */
export function countsOfSample(s: NumericSample): Counts {
  return s.valueCounts ? { counts: s.valueCounts, total: s.total } : countsOfSupport(s.support());
}

/** Value counts of a numerical support (each distinct value a category). */
export function countsOfSupport(s: Support): Counts {
  const counts = new Map<Key, number>();
  for (let i = 0; i < s.values.length; i++) counts.set(s.values[i]!, s.counts[i]!);
  return { counts, total: s.total };
}

/** The union of both sides' keys (Evidently's get_unique_not_nan_values_list_from_series). */
export function unionKeys(a: Counts, b: Counts): Key[] {
  const keys = new Set<Key>(a.counts.keys());
  for (const k of b.counts.keys()) keys.add(k);
  return [...keys];
}

/**
 * Pearson's chi-square of the current counts against the reference's, scaled to the current size
 * (f_exp = ref_count · n_cur/n_ref), over the union of categories; p from chi2.sf with k − 1 degrees
 * of freedom. A category the reference never saw makes the statistic infinite and p zero.
 */
export function chiSquare(ref: Counts, cur: Counts): TestValue {
  const keys = unionKeys(ref, cur);
  const scale = cur.total / ref.total;
  let stat = 0;
  for (const k of keys) {
    const exp = (ref.counts.get(k) ?? 0) * scale;
    const obs = cur.counts.get(k) ?? 0;
    stat += ((obs - exp) * (obs - exp)) / exp;
  }
  const p = chi2Sf(stat, keys.length - 1);
  return { statistic: stat, pValue: Number.isNaN(p) ? null : stat === Infinity ? 0 : p };
}

/** Python's ordering of one column's values: numbers ascending, strings by code point, false < true. */
export function compareKeys(a: Key, b: Key): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  const sa = String(a);
  const sb = String(b);
  if (sa === sb) return 0;
  // Code points, not UTF-16 units, as Python compares str.
  const ca = [...sa];
  const cb = [...sb];
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const d = ca[i]!.codePointAt(0)! - cb[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return ca.length - cb.length;
}

/**
 * Pooled two-proportion Z test of "is the first category (in sorted order)" between the samples,
 * two-sided; p = 1 when both samples hold one and the same single value.
 */
export function zTest(ref: Counts, cur: Counts): TestValue {
  if (ref.counts.size === 1 && cur.counts.size === 1 && ref.counts.keys().next().value === cur.counts.keys().next().value) {
    return { statistic: 0, pValue: 1 };
  }
  const first = unionKeys(ref, cur).sort(compareKeys)[0]!;
  const n1 = ref.total;
  const n2 = cur.total;
  const p1 = (n1 - (ref.counts.get(first) ?? 0)) / n1;
  const p2 = (n2 - (cur.counts.get(first) ?? 0)) / n2;
  const P = (p1 * n1 + p2 * n2) / (n1 + n2);
  const z = (p1 - p2) / Math.sqrt(P * (1 - P) * (1 / n1 + 1 / n2));
  // Evidently: 2 * (1 - norm.cdf(|z|)); the cdf is rounded to a double before the subtraction.
  const cdf = 1 - normalSf(Math.abs(z));
  return { statistic: z, pValue: 2 * (1 - cdf) };
}

/** Wasserstein distance divided by max(std(reference), 0.001): Evidently's "wasserstein" score. */
export function wassersteinNormed(ref: NumericSample, cur: NumericSample): number {
  return wassersteinSamples(ref, cur) / Math.max(ref.std, 0.001);
}

export interface Binned {
  reference: Float64Array;
  current: Float64Array;
  /** The Sturges edges when the numerical branch was taken, else undefined (value counts). */
  edges?: Float64Array;
}

/** np.histogram_bin_edges(concat(ref, cur), bins="sturges"), from the two samples. */
export function sturgesEdges(a: NumericSample, b: NumericSample): Float64Array {
  const min = Math.min(a.min, b.min);
  const max = Math.max(a.max, b.max);
  let first = min;
  let last = max;
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  const width = (max - min) / (Math.log2(a.total + b.total) + 1);
  const bins = width ? Math.ceil((last - first) / width) : 1;
  return linspace(first, last, bins + 1);
}

/** numpy's linspace(start, stop, num, endpoint=True), rounding step by step as numpy does. */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const div = num - 1;
  const delta = stop - start;
  const step = delta / div;
  for (let i = 0; i < num; i++) out[i] = step === 0 ? (i / div) * delta + start : i * step + start;
  if (num > 1) out[num - 1] = stop;
  return out;
}

/**
 * np.histogram(x, edges)[0] with explicit edges (numpy's searchsorted semantics): bin k holds
 * e_k ≤ x < e_k+1, the last bin also x = e_last; values outside the edges count nowhere. Raw values
 * are placed by arithmetic and then checked against the edges (`exact`; a chart can skip that, at
 * the cost of a value exactly on an edge landing in the bin beside); a support is walked in order.
 */
export function histogram(s: NumericSample, edges: Float64Array, exact = true): Float64Array {
  const bins = edges.length - 1;
  const out = new Float64Array(bins);
  const lo = edges[0]!;
  const hi = edges[bins]!;
  if (s.values) {
    const scale = bins / (hi - lo);
    const values = s.values;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v < lo || v > hi) continue;
      let k = Math.floor((v - lo) * scale);
      if (k >= bins) k = bins - 1;
      if (exact) {
        while (k > 0 && v < edges[k]!) k--;
        while (k < bins - 1 && v >= edges[k + 1]!) k++;
      }
      out[k]!++;
    }
    return out;
  }
  const { values, counts } = s.support();
  let k = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < lo) continue;
    if (v > hi) break;
    while (k < bins - 1 && v >= edges[k + 1]!) k++;
    out[k]! += counts[i]!;
  }
  return out;
}

/**
 * Evidently's get_binned_data: for a numerical column whose reference has more than 20 distinct
 * values, shares per Sturges bin over the combined data; otherwise shares per value over the union
 * of values. With `fillZeros` (PSI), empty bins get min(non-zero share)/1e6, or 1e-4 when the
 * smallest non-zero share is above 1e-4 (JS passes no fill).
 */
export function binnedShares(
  ref: { sample?: NumericSample; counts: () => Counts; distinct: number },
  cur: { sample?: NumericSample; counts: () => Counts },
  numerical: boolean,
  fillZeros: boolean,
): Binned {
  let out: Binned;
  if (numerical && ref.distinct > 20 && ref.sample && cur.sample) {
    const edges = sturgesEdges(ref.sample, cur.sample);
    const r = histogram(ref.sample, edges);
    const c = histogram(cur.sample, edges);
    for (let k = 0; k < r.length; k++) {
      r[k]! /= ref.sample.total;
      c[k]! /= cur.sample.total;
    }
    out = { reference: r, current: c, edges };
  } else {
    const rc = ref.counts();
    const cc = cur.counts();
    const keys = unionKeys(rc, cc);
    out = {
      reference: Float64Array.from(keys, (k) => (rc.counts.get(k) ?? 0) / rc.total),
      current: Float64Array.from(keys, (k) => (cc.counts.get(k) ?? 0) / cc.total),
    };
  }
  if (fillZeros) {
    fillEmpty(out.reference);
    fillEmpty(out.current);
  }
  return out;
}

function fillEmpty(shares: Float64Array): void {
  let min = Infinity;
  for (const s of shares) if (s !== 0 && s < min) min = s;
  const fill = min <= 0.0001 ? min / 10 ** 6 : 0.0001;
  for (let k = 0; k < shares.length; k++) if (shares[k] === 0) shares[k] = fill;
}

/** scipy.spatial.distance.jensenshannon(p, q): sqrt of the JS divergence, natural log. */
export function jensenShannon(p: Float64Array, q: Float64Array): number {
  let sp = 0;
  let sq = 0;
  for (let k = 0; k < p.length; k++) {
    sp += p[k]!;
    sq += q[k]!;
  }
  let left = 0;
  let right = 0;
  for (let k = 0; k < p.length; k++) {
    const pk = p[k]! / sp;
    const qk = q[k]! / sq;
    const m = (pk + qk) / 2;
    if (pk > 0) left += pk * Math.log(pk / m);
    if (qk > 0) right += qk * Math.log(qk / m);
  }
  return Math.sqrt((left + right) / 2);
}

/** Population stability index: Σ (ref − cur) · ln(ref / cur) over zero-filled shares. */
export function psi(ref: Float64Array, cur: Float64Array): number {
  let sum = 0;
  for (let k = 0; k < ref.length; k++) sum += (ref[k]! - cur[k]!) * Math.log(ref[k]! / cur[k]!);
  return sum;
}
