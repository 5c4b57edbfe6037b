/**
 * IEEE 754 half precision (FP16) by hand: Node 20 has no `Float16Array`, and onnxruntime-node takes and
 * gives `float16` tensors as the raw bits in a `Uint16Array`. JSON numbers are rounded to the nearest
 * half (ties to even) straight from the double, not through float32, so no value is rounded twice.
 */

/** Largest finite half: (2 − 2^−10) × 2^15. */
export const FP16_MAX = 65504;

/** Halfway between FP16_MAX and the next step (2^16): from here on a value rounds to infinity. */
const OVERFLOW = 65520;
const MIN_NORMAL = 2 ** -14;
const SUBNORMAL_STEP = 2 ** -24;

/**
 * The half nearest `v` as its 16 bits. Finite values of magnitude 65520 or more round to ±infinity, as
 * IEEE rounding says; callers that refuse out-of-range values check {@link fitsHalf} first.
 */
export function toHalfBits(v: number): number {
  if (v !== v) return 0x7e00;
  const sign = v < 0 || (v === 0 && 1 / v < 0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a >= OVERFLOW) return sign | 0x7c00;
  if (a < MIN_NORMAL) {
    // Subnormal (or zero): a multiple of 2^-24. Rounding up to 1024 steps gives the smallest normal's bits.
    return sign | roundHalfEven(a / SUBNORMAL_STEP);
  }
  let e = Math.floor(Math.log2(a));
  // log2 can be off by one next to a power of two: settle e so that 2^e <= a < 2^(e+1).
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  // Dividing by a power of two and scaling by 1024 are exact in double precision.
  let m = roundHalfEven((a / 2 ** e - 1) * 1024);
  if (m === 1024) {
    m = 0;
    e++;
  }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | m;
}

/** True when `v` is finite and does not round to infinity as a half. */
export function fitsHalf(v: number): boolean {
  return v > -OVERFLOW && v < OVERFLOW;
}

let table: Float64Array | undefined;

/** The value of the half whose bits are `h` (NaN and ±infinity included). */
export function fromHalfBits(h: number): number {
  const t = (table ??= buildTable());
  return t[h & 0xffff]!;
}

function buildTable(): Float64Array {
  const t = new Float64Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    t[h] =
      exp === 0 ? sign * mant * SUBNORMAL_STEP : exp === 31 ? (mant ? NaN : sign * Infinity) : sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return t;
}

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
