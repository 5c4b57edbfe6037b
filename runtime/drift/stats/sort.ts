/**
 * Sorting a column's values, the one O(n log n) step of the numerical drift tests. A least-significant-
 * digit radix sort on the IEEE-754 bit patterns (six 11-bit digits, passes whose digit is the same for
 * every value skipped) runs in linear time and beats the comparison sort several times over on a
 * million values; small arrays use the built-in sort.
 */

const RADIX_BITS = 11;
const RADIX = 1 << RADIX_BITS;
const MASK = RADIX - 1;
const PASSES = 6;
const SMALL = 4096;

/** Below this, insertion sort: no call into the runtime, and short runs are the common case here. */
const TINY = 48;

/** Sorts finite (or ±Infinity, but not NaN) values ascending, in place; returns the same array. */
export function sortFloat64(a: Float64Array): Float64Array {
  const n = a.length;
  if (n <= TINY) return insertionSort(a);
  if (n < SMALL) return a.sort();
  const words = new Uint32Array(a.buffer, a.byteOffset, 2 * n);
  // Map each double to an unsigned key with the same order: flip every bit of negatives, only the
  // sign bit of the rest. Keys live as two arrays (low and high 32 bits) so each pass moves words.
  const buffers = scratch(n);
  let [lo, hi, lo2, hi2] = buffers;
  const histograms = buffers[4];
  histograms.fill(0);
  for (let i = 0; i < n; i++) {
    let h = words[2 * i + 1]!;
    let l = words[2 * i]!;
    if (h & 0x80000000) {
      h = ~h >>> 0;
      l = ~l >>> 0;
    } else {
      h = (h | 0x80000000) >>> 0;
    }
    lo[i] = l;
    hi[i] = h;
    histograms[l & MASK]!++;
    histograms[RADIX + ((l >>> 11) & MASK)]!++;
    histograms[2 * RADIX + ((l >>> 22) | ((h & 1) << 10))]!++;
    histograms[3 * RADIX + ((h >>> 1) & MASK)]!++;
    histograms[4 * RADIX + ((h >>> 12) & MASK)]!++;
    histograms[5 * RADIX + (h >>> 23)]!++;
  }
  for (let pass = 0; pass < PASSES; pass++) {
    const off = pass * RADIX;
    let sum = 0;
    let trivial = false;
    for (let d = 0; d < RADIX; d++) {
      const c = histograms[off + d]!;
      if (c === n) trivial = true;
      histograms[off + d] = sum;
      sum += c;
    }
    if (trivial) continue;
    scatter(lo, hi, lo2, hi2, histograms, off, pass);
    [lo, lo2] = [lo2, lo];
    [hi, hi2] = [hi2, hi];
  }
  for (let i = 0; i < n; i++) {
    const h = hi[i]!;
    const l = lo[i]!;
    if (h & 0x80000000) {
      words[2 * i + 1] = h & 0x7fffffff;
      words[2 * i] = l;
    } else {
      words[2 * i + 1] = ~h >>> 0;
      words[2 * i] = ~l >>> 0;
    }
  }
  return a;
}

function insertionSort(a: Float64Array): Float64Array {
  for (let i = 1; i < a.length; i++) {
    const v = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > v) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = v;
  }
  return a;
}

let pool: ArrayBuffer | undefined;

/**
 * Four key arrays of `n` words and the histograms, carved from one buffer kept between calls: a
 * drift run sorts hundreds of columns of the same length, and fresh arrays each time cost more in
 * allocation and garbage collection than the sort itself.
 */
function scratch(n: number): [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array] {
  const bytes = (4 * n + RADIX * PASSES) * 4;
  if (!pool || pool.byteLength < bytes) pool = new ArrayBuffer(bytes);
  const at = (i: number) => new Uint32Array(pool!, i * n * 4, n);
  return [at(0), at(1), at(2), at(3), new Uint32Array(pool, 4 * n * 4, RADIX * PASSES)];
}

/** Lets the scratch buffer go (after a run, so a long-lived process does not keep it). */
export function releaseSortScratch(): void {
  pool = undefined;
}

/** One stable counting pass on digit `pass` (kept in its own function so each stays monomorphic). */
function scatter(lo: Uint32Array, hi: Uint32Array, lo2: Uint32Array, hi2: Uint32Array, offsets: Uint32Array, off: number, pass: number): void {
  const n = lo.length;
  switch (pass) {
    case 0:
      for (let i = 0; i < n; i++) {
        const l = lo[i]!;
        const j = offsets[off + (l & MASK)]!++;
        lo2[j] = l;
        hi2[j] = hi[i]!;
      }
      return;
    case 1:
      for (let i = 0; i < n; i++) {
        const l = lo[i]!;
        const j = offsets[off + ((l >>> 11) & MASK)]!++;
        lo2[j] = l;
        hi2[j] = hi[i]!;
      }
      return;
    case 2:
      for (let i = 0; i < n; i++) {
        const l = lo[i]!;
        const h = hi[i]!;
        const j = offsets[off + ((l >>> 22) | ((h & 1) << 10))]!++;
        lo2[j] = l;
        hi2[j] = h;
      }
      return;
    default: {
      const shift = pass === 3 ? 1 : pass === 4 ? 12 : 23;
      const mask = pass === 5 ? 0x1ff : MASK;
      for (let i = 0; i < n; i++) {
        const h = hi[i]!;
        const j = offsets[off + ((h >>> shift) & mask)]!++;
        lo2[j] = lo[i]!;
        hi2[j] = h;
      }
    }
  }
}
