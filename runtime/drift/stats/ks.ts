/**
 * The two-sample Kolmogorov-Smirnov test, two-sided, as scipy's `ks_2samp(a, b)` computes it with
 * its default `method="auto"` (scipy 1.10): the statistic is the largest gap between the two
 * empirical CDFs; the p-value is exact (lattice-path counting) when both samples have at most 10,000
 * values, and otherwise comes from the distribution of the one-sample statistic D_n with
 * n = round(n1·n2/(n1+n2)). An exact computation that fails numerically falls back to the asymptotic
 * one, as scipy's does.
 */
import { kolmogorovSf } from "./kolmogorov.js";
import { roundHalfEven } from "./special.js";
import type { Support } from "./support.js";

const MAX_EXACT_N = 10_000;

export interface KsResult {
  statistic: number;
  pValue: number;
  method: "exact" | "asymp";
}

/** The KS statistic: max over all data points of |F_a(x) − F_b(x)|, with the CDFs as scipy forms them. */
export function ksStatistic(a: Support, b: Support): number {
  const av = a.values;
  const bv = b.values;
  const ac = a.counts;
  const bc = b.counts;
  const na = a.total;
  const nb = b.total;
  let i = 0;
  let j = 0;
  let ca = 0;
  let cb = 0;
  let max = 0;
  let min = 0;
  while (i < av.length || j < bv.length) {
    if (j >= bv.length || (i < av.length && av[i]! < bv[j]!)) ca += ac[i++]!;
    else if (i >= av.length || bv[j]! < av[i]!) cb += bc[j++]!;
    else {
      ca += ac[i++]!;
      cb += bc[j++]!;
    }
    const d = ca / na - cb / nb;
    if (d > max) max = d;
    if (d < min) min = d;
  }
  return Math.max(max, Math.min(-min, 1));
}

/** ks_2samp(a, b): statistic and two-sided p-value. */
export function ks2samp(a: Support, b: Support): KsResult {
  const n1 = a.total;
  const n2 = b.total;
  if (n1 === 0 || n2 === 0) throw new Error("ks2samp needs two non-empty samples");
  let d = ksStatistic(a, b);
  if (Math.max(n1, n2) <= MAX_EXACT_N) {
    const exact = exactPValue(n1, n2, d);
    if (exact.ok) return { statistic: exact.d, pValue: clip01(exact.p), method: "exact" };
    d = exact.d;
  }
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  const en = (m * n) / (m + n);
  return { statistic: d, pValue: clip01(kolmogorovSf(roundHalfEven(en), d)), method: "asymp" };
}

const clip01 = (p: number): number => (p < 0 ? 0 : p > 1 ? 1 : p);

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** scipy's _attempt_exact_2kssamp: d snapped to the lattice (h / lcm), then the exact tail. */
function exactPValue(n1: number, n2: number, d: number): { ok: boolean; d: number; p: number } {
  const g = gcd(n1, n2);
  const lcm = (n1 / g) * n2;
  const h = roundHalfEven(d * lcm);
  const snapped = h / lcm;
  if (h === 0) return { ok: true, d: snapped, p: 1 };
  const p = n1 === n2 ? probOutsideSquare(n1, h) : probOutsideInside(n1, n2, g, h);
  const ok = Number.isFinite(p) && p >= 0 && p <= 1;
  return { ok, d: snapped, p };
}

/**
 * P(D_{n,n} ≥ h/n) for equal sample sizes: 2·Σ_k (−1)^(k+1) C(2n, n−kh)/C(2n, n), evaluated in a
 * Horner-like nesting that avoids the cancellation of the alternating sum.
 */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
  }
  return 2 * P;
}

/**
 * 1 − (share of lattice paths from (0,0) to (m,n) staying strictly inside |x/m − y/n| < h/lcm), by
 * the column recursion rewritten to carry the complement directly (Viehmann 2021), one sliding
 * column at a time, as scipy's pythran kernel does.
 */
function probOutsideInside(m0: number, n0: number, g: number, h: number): number {
  const [m, n] = m0 >= n0 ? [m0, n0] : [n0, m0];
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  for (let j = minj; j < Math.min(maxj, lenA); j++) A[j] = 0;
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + minj - lastminj]! * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) {
      for (let r = maxj - minj; r < Math.min(maxj - minj + (lastlen - curlen), lenA); r++) A[r] = 1;
    }
  }
  return A[maxj - minj - 1]!;
}
