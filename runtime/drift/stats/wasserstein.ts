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
/** Fields per bucket, interleaved: 8 doubles, one cache line, so placing a value touches one line. */
const F = 8;
const CA = 0;
const SA = 1;
const CB = 2;
const SB = 3;
const MIN = 4;
const MAX = 5;
/** Where the bucket's integral stops (the next value after it). */
const END = 6;
/** Where the bucket's values start in the grouped arrays, or −1 when it is not refined. */
const AT = 7;

/**
 * Scratch memory for the bucket tables and the grouped values, taken and handed back in stack order
 * and kept between calls: fresh arrays for every column cost more in page faults than the work.
 */
class Arena {
  private buf = new Float64Array(0);
  private top = 0;

  reset(size: number): void {
    if (this.buf.length < size) this.buf = new Float64Array(size);
    this.top = 0;
  }

  get mark(): number {
    return this.top;
  }

  release(mark: number): void {
    this.top = mark;
  }

  /** n doubles (not cleared); past the arena's end, a fresh array. */
  take(n: number): Float64Array {
    if (this.top + n > this.buf.length) return new Float64Array(n);
    const out = this.buf.subarray(this.top, this.top + n);
    this.top += n;
    return out;
  }

  free(): void {
    this.buf = new Float64Array(0);
  }
}

const arena = new Arena();

/** Lets the scratch memory go (after a run, so a long-lived process does not keep it). */
export function releaseWassersteinScratch(): void {
  arena.free();
}

/**
 * W on raw values with range [lo, hi]; undefined when the range cannot be bucketed (a span that
 * overflows), for the caller to fall back on sorting.
 */
export function wassersteinRaw(a: Float64Array, b: Float64Array, lo: number, hi: number): number | undefined {
  if (!Number.isFinite(hi - lo)) return undefined;
  const n = a.length + b.length;
  // The top table, the values it groups, and room for the refinements below them (deeper than
  // that, fresh arrays).
  arena.reset(Math.ceil(n / VALUES_PER_BUCKET) * F + Math.ceil(1.5 * n) + 1024);
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
  const mark = arena.mark;
  const t = arena.take(K * F);
  for (let o = 0; o < K * F; o += F) {
    t[o + CA] = t[o + SA] = t[o + CB] = t[o + SB] = 0;
    t[o + MIN] = Infinity;
    t[o + MAX] = -Infinity;
    t[o + AT] = -1;
  }
  accumulate(xa, t, lo, scale, width, K, CA, SA);
  accumulate(xb, t, lo, scale, width, K, CB, SB);
  let total = 0;
  let refinedA = 0;
  let refinedB = 0;
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
    t[o + END] = stop;
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
      t[o + AT] = refinedA + refinedB; // marked; the real offsets are set by group()
      refinedA += t[o + CA]!;
      refinedB += t[o + CB]!;
    }
    ca += t[o + CA]!;
    cb += t[o + CB]!;
    k = next;
  }
  if (refinedA + refinedB > 0) {
    // The refined buckets' values, each side grouped by bucket (a counting sort on the bucket).
    const ga = group(xa, t, lo, scale, K, CA, arena.take(refinedA));
    const gb = group(xb, t, lo, scale, K, CB, arena.take(refinedB));
    ca = ca0;
    cb = cb0;
    let ia = 0;
    let ib = 0;
    for (k = 0; k < K; k++) {
      const o = k * F;
      const nA = t[o + CA]!;
      const nB = t[o + CB]!;
      if (t[o + AT]! >= 0) {
        total += integrate(ga.subarray(ia, ia + nA), gb.subarray(ib, ib + nB), t[o + MIN]!, t[o + MAX]!, ca, cb, na, nb, t[o + END]!);
        ia += nA;
        ib += nB;
      }
      ca += nA;
      cb += nB;
    }
  }
  arena.release(mark);
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

/**
 * The values of the refined buckets into `out`, grouped by bucket in bucket order. Uses the AT field
 * of each refined bucket as its write cursor (and leaves it ≥ 0, still marking the bucket).
 */
function group(x: Float64Array, t: Float64Array, lo: number, scale: number, K: number, count: number, out: Float64Array): Float64Array {
  let size = 0;
  for (let o = 0; o < K * F; o += F) {
    if (t[o + AT]! < 0) continue;
    t[o + AT] = size;
    size += t[o + count]!;
  }
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    const o = bucketOf(v, lo, scale, K) * F;
    const at = t[o + AT]!;
    if (at >= 0) {
      out[at] = v;
      t[o + AT] = at + 1;
    }
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
