/**
 * The first Wasserstein distance between two samples, W = ∫ |F_a(x) − F_b(x)| dx over the empirical
 * CDFs, as scipy's wasserstein_distance defines it. Two exact algorithms:
 *
 * - on sorted supports, a merge of the two (what scipy does after its sorts);
 * - on raw, unsorted values, without sorting them: the range is cut into equal-width buckets whose
 *   counts and sums are accumulated in one pass. Within a bucket where F_a − F_b keeps one sign
 *   (known from the CDFs at its ends), the integral follows from those sums alone; the buckets where
 *   the difference may change sign are refined the same way, and only small ranges are sorted.
 */
import type { NumericSample } from "./sample.js";
import { sortFloat64 } from "./sort.js";
import type { Support } from "./support.js";

/** W between two sorted supports (weighted). */
export function wassersteinSupports(a: Support, b: Support): number {
  const av = a.values;
  const bv = b.values;
  const ac = a.counts;
  const bc = b.counts;
  let i = 0;
  let j = 0;
  let ca = 0;
  let cb = 0;
  let sum = 0;
  let prev = 0;
  let gap = 0;
  while (i < av.length || j < bv.length) {
    const takeA = j >= bv.length || (i < av.length && av[i]! <= bv[j]!);
    const takeB = i >= av.length || (j < bv.length && bv[j]! <= av[i]!);
    const x = takeA ? av[i]! : bv[j]!;
    if (i > 0 || j > 0) sum += gap * (x - prev);
    if (takeA) ca += ac[i++]!;
    if (takeB) cb += bc[j++]!;
    gap = Math.abs(ca / a.total - cb / b.total);
    prev = x;
  }
  return sum;
}

/** W between two samples: linear-time on raw values, else a merge of the sorted supports. */
export function wassersteinSamples(a: NumericSample, b: NumericSample): number {
  if (a.values && b.values) {
    const w = wassersteinRaw(a.values, b.values, Math.min(a.min, b.min), Math.max(a.max, b.max));
    if (w !== undefined) return w;
  }
  return wassersteinSupports(a.support(), b.support());
}

/** A range with at most this many values is sorted and merged rather than bucketed again. */
const SMALL = 512;
/** Values per bucket on average (a bucket's sums cost less than sorting its values). */
const VALUES_PER_BUCKET = 64;
const MIN_BUCKETS = 8;
/** Fields per bucket, interleaved so that placing one value touches one cache line. */
const F = 6;
const CA = 0;
const SA = 1;
const CB = 2;
const SB = 3;
const MIN = 4;
const MAX = 5;

/**
 * W on raw values with range [lo, hi]; undefined when the range cannot be bucketed (a span that
 * overflows), for the caller to fall back on sorting.
 */
export function wassersteinRaw(a: Float64Array, b: Float64Array, lo: number, hi: number): number | undefined {
  if (!Number.isFinite(hi - lo)) return undefined;
  return integrate(a, b, lo, hi, 0, 0, a.length, b.length, hi);
}

/**
 * ∫ |F_a − F_b| from the smallest value in `xa`, `xb` (all within [lo, hi]) up to `end`, the next
 * value after them; `ca0`, `cb0` count the values of each side below the range, `na`, `nb` all of them.
 *
 * The range is cut into equal-width buckets. A bucket whose values are all equal, or where
 * F_a − F_b keeps one sign (bounded by the CDFs at the bucket's ends), is integrated from its counts
 * and sums; the rest are refined the same way over their own, narrower range. Skewed data, ties and
 * distributions that cross often all end in small ranges, which are sorted and merged.
 */
function integrate(xa: Float64Array, xb: Float64Array, lo: number, hi: number, ca0: number, cb0: number, na: number, nb: number, end: number): number {
  const n = xa.length + xb.length;
  if (lo === hi) return Math.abs((ca0 + xa.length) / na - (cb0 + xb.length) / nb) * (end - lo);
  if (n <= SMALL) return merged(sortFloat64(xa), sortFloat64(xb), ca0, cb0, na, nb, end);
  const K = Math.max(MIN_BUCKETS, Math.ceil(n / VALUES_PER_BUCKET));
  const width = (hi - lo) / K;
  const scale = K / (hi - lo);
  if (!(width > 0) || !Number.isFinite(scale)) return merged(sortFloat64(xa), sortFloat64(xb), ca0, cb0, na, nb, end);
  const t = new Float64Array(K * F);
  for (let k = 0; k < K; k++) {
    t[k * F + MIN] = Infinity;
    t[k * F + MAX] = -Infinity;
  }
  accumulate(xa, t, lo, scale, width, K, CA, SA);
  accumulate(xb, t, lo, scale, width, K, CB, SB);
  const refine = new Uint8Array(K);
  const ends = new Float64Array(K);
  let total = 0;
  let refined = 0;
  let ca = ca0;
  let cb = cb0;
  let k = 0;
  const empty = (q: number) => t[q * F + CA] === 0 && t[q * F + CB] === 0;
  while (k < K && empty(k)) k++;
  while (k < K) {
    let next = k + 1;
    while (next < K && empty(next)) next++;
    const o = k * F;
    const start = t[o + MIN]!;
    const stop = next < K ? t[next * F + MIN]! : end;
    ends[k] = stop;
    const fa0 = ca / na;
    const fb0 = cb / nb;
    const fa1 = (ca + t[o + CA]!) / na;
    const fb1 = (cb + t[o + CB]!) / nb;
    if (start === t[o + MAX]!) {
      // One value: both CDFs jump there and stay flat to the next value.
      total += Math.abs(fa1 - fb1) * (stop - start);
    } else if (fa0 - fb1 >= 0 || fa1 - fb0 <= 0) {
      // One sign throughout: ∫ F = F(start)·(stop − start) + Σ (stop − x)/n, where
      // Σ (stop − x) = count·(stop − c) − Σ (x − c) for the bucket start c.
      const c = lo + k * width;
      const intA = fa0 * (stop - start) + (t[o + CA]! * (stop - c) - t[o + SA]!) / na;
      const intB = fb0 * (stop - start) + (t[o + CB]! * (stop - c) - t[o + SB]!) / nb;
      total += Math.abs(intA - intB);
    } else {
      refine[k] = 1;
      refined++;
    }
    ca += t[o + CA]!;
    cb += t[o + CB]!;
    k = next;
  }
  if (refined === 0) return total;
  // The buckets to refine, each side's values grouped by bucket (a counting sort on the bucket).
  const ga = group(xa, t, refine, lo, scale, K, CA);
  const gb = group(xb, t, refine, lo, scale, K, CB);
  ca = ca0;
  cb = cb0;
  let ia = 0;
  let ib = 0;
  for (k = 0; k < K; k++) {
    const o = k * F;
    const nA = t[o + CA]!;
    const nB = t[o + CB]!;
    if (refine[k]) {
      total += integrate(ga.subarray(ia, ia + nA), gb.subarray(ib, ib + nB), t[o + MIN]!, t[o + MAX]!, ca, cb, na, nb, ends[k]!);
      ia += nA;
      ib += nB;
    }
    ca += nA;
    cb += nB;
  }
  return total;
}

/** The bucket of x: floor((x − lo)·scale), the top value folded into the last bucket. Monotone in x. */
function bucketOf(x: number, lo: number, scale: number, K: number): number {
  const k = Math.floor((x - lo) * scale);
  return k >= K ? K - 1 : k;
}

function accumulate(x: Float64Array, t: Float64Array, lo: number, scale: number, width: number, K: number, count: number, sum: number): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    const k = bucketOf(v, lo, scale, K);
    const o = k * F;
    t[o + count]!++;
    t[o + sum]! += v - (lo + k * width);
    if (v < t[o + MIN]!) t[o + MIN] = v;
    if (v > t[o + MAX]!) t[o + MAX] = v;
  }
}

/** The values of the marked buckets, grouped by bucket in bucket order. */
function group(x: Float64Array, t: Float64Array, refine: Uint8Array, lo: number, scale: number, K: number, count: number): Float64Array {
  const offsets = new Float64Array(K);
  let size = 0;
  for (let k = 0; k < K; k++) {
    if (!refine[k]) continue;
    offsets[k] = size;
    size += t[k * F + count]!;
  }
  const out = new Float64Array(size);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    const k = bucketOf(v, lo, scale, K);
    if (refine[k]) out[offsets[k]!++] = v;
  }
  return out;
}

/** ∫ |F_a − F_b| over sorted values from the first to `end`, with counts ca0, cb0 below them. */
function merged(xa: Float64Array, xb: Float64Array, ca0: number, cb0: number, na: number, nb: number, end: number): number {
  let i = 0;
  let j = 0;
  let ca = ca0;
  let cb = cb0;
  let total = 0;
  let prev = NaN;
  let gap = 0;
  while (i < xa.length || j < xb.length) {
    const takeA = j >= xb.length || (i < xa.length && xa[i]! <= xb[j]!);
    const takeB = i >= xa.length || (j < xb.length && xb[j]! <= xa[i]!);
    const x = takeA ? xa[i]! : xb[j]!;
    if (i > 0 || j > 0) total += gap * (x - prev);
    if (takeA) (i++, ca++);
    if (takeB) (j++, cb++);
    // Equal values on one side are taken one per step; the gap between them is zero.
    gap = Math.abs(ca / na - cb / nb);
    prev = x;
  }
  return total + gap * (end - prev);
}
