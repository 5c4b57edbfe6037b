/**
 * The statistics one by one against scipy/numpy (within 1e-6): the Kolmogorov distribution in every
 * regime scipy's _kolmogn switches between, ks_2samp's exact and asymptotic p-values, the chi-square
 * and normal tails, Wasserstein with ties, numpy's Sturges edges, and the radix sort.
 */
import { describe, expect, it } from "vitest";
import { ks2samp } from "../../../runtime/drift/stats/ks.js";
import { kolmogorovSf, smirnovSf } from "../../../runtime/drift/stats/kolmogorov.js";
import { sortFloat64 } from "../../../runtime/drift/stats/sort.js";
import { chi2Sf, normalSf } from "../../../runtime/drift/stats/special.js";
import { supportOfSorted } from "../../../runtime/drift/stats/support.js";
import { sampleOf } from "../../../runtime/drift/stats/sample.js";
import { histogram, sturgesEdges } from "../../../runtime/drift/stats/tests.js";
import { wassersteinRaw, wassersteinSamples, wassersteinSupports } from "../../../runtime/drift/stats/wasserstein.js";
import { close, python } from "./oracle.js";

/** A deterministic stream in [0, 1). */
function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function sample(n: number, seed: number, shift = 0, round?: number): number[] {
  const u = uniform(seed);
  return Array.from({ length: n }, () => {
    const v = Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u()) + shift;
    return round ? Math.round(v * round) / round : v;
  });
}

const supportOf = (xs: number[]) => supportOfSorted(sortFloat64(Float64Array.from(xs)));

describe("the Kolmogorov distribution (scipy's kstwo.sf) and the Smirnov tail (scipy.special.smirnov)", () => {
  it("matches in every regime: Ruben-Gambino ends, Durbin matrix, Pomeranz, Pelz-Good, 2·Smirnov", async () => {
    const ns = [1, 2, 3, 7, 20, 50, 100, 140, 141, 300, 1000, 5000, 100_000, 100_001, 1_500_000];
    const xs = [0.0003, 0.002, 0.004, 0.008, 0.012, 0.02, 0.035, 0.05, 0.07, 0.1, 0.13, 0.2, 0.3, 0.45, 0.5, 0.7, 0.95];
    const grid = ns.flatMap((n) => xs.map((x) => [n, x] as const));
    const expected = await python<[number, number][]>(
      "print(json.dumps([[float(stats.kstwo.sf(x, n)), float(special.smirnov(int(n), x))] for n, x in INPUT]))",
      grid,
    );
    const bad = grid.filter(([n, x], i) => !close(kolmogorovSf(n, x), expected[i]![0]) || !close(smirnovSf(n, x), expected[i]![1]));
    expect(bad.map(([n, x]) => `n=${n} x=${x}: ${kolmogorovSf(n, x)} / ${smirnovSf(n, x)}`)).toEqual([]);
  });
});

describe("ks2samp (scipy's ks_2samp, method auto)", () => {
  const cases: [string, number[], number[]][] = [
    ["exact, unequal sizes", sample(300, 1), sample(450, 2, 0.2)],
    ["exact, equal sizes", sample(500, 3), sample(500, 4, 0.1)],
    ["exact, sizes with a large gcd", sample(400, 5), sample(1000, 6, 0.05)],
    ["exact, heavy ties", sample(800, 7, 0, 2), sample(900, 8, 0.1, 2)],
    ["exact, tiny samples", sample(5, 9), sample(7, 10, 1)],
    ["asymptotic, one sample over 10,000", sample(1000, 11), sample(12_000, 12, 0.03)],
    ["asymptotic, both large, no drift", sample(20_000, 13), sample(30_000, 14)],
    ["identical samples", sample(200, 15), sample(200, 15)],
  ];
  it("statistic and p-value equal scipy's", async () => {
    const expected = await python<[number, number][]>(
      "print(json.dumps([[float(r.statistic), float(r.pvalue)] for r in (stats.ks_2samp(a, b) for a, b in INPUT)]))",
      cases.map(([, a, b]) => [a, b]),
    );
    for (const [i, [name, a, b]] of cases.entries()) {
      const r = ks2samp(supportOf(a), supportOf(b));
      expect(close(r.statistic, expected[i]![0]), `${name}: D ${r.statistic} vs ${expected[i]![0]}`).toBe(true);
      expect(close(r.pValue, expected[i]![1]), `${name}: p ${r.pValue} vs ${expected[i]![1]}`).toBe(true);
    }
  });
});

describe("tails and distances", () => {
  it("chi2Sf and normalSf equal scipy's chi2.sf and norm.sf", async () => {
    const chi = [[0.5, 1], [3, 2], [10, 3], [100, 4], [900, 5], [50, 60], [1e-6, 1], [2000, 30]] as const;
    const z = [0, 0.5, 1.96, 3, 6, 8.5, 12, -2];
    const [eChi, eZ] = await python<[number[], number[]]>(
      "print(json.dumps([[float(stats.chi2.sf(x, k)) for x, k in INPUT[0]], [float(stats.norm.sf(v)) for v in INPUT[1]]]))",
      [chi, z],
    );
    chi.forEach(([x, k], i) => expect(close(chi2Sf(x, k), eChi[i]!), `chi2 ${x},${k}: ${chi2Sf(x, k)} vs ${eChi[i]}`).toBe(true));
    z.forEach((v, i) => expect(close(normalSf(v), eZ[i]!), `z ${v}`).toBe(true));
    // Relative precision in the far tail too (1e-6 absolute would pass anything there).
    expect(Math.abs(chi2Sf(900, 5) / eChi[4]! - 1)).toBeLessThan(1e-9);
  });

  it("wasserstein equals scipy's wasserstein_distance: merged supports and the linear-time bucketed form", async () => {
    const u = uniform(24);
    const pairs: [string, number[], number[]][] = [
      ["ties", sample(1000, 20, 0, 1), sample(1500, 21, 0.3, 1)],
      ["small", sample(50, 22), sample(70, 23, 2)],
      ["hand-made", [1, 1, 1, 2], [1, 2, 2, 2, 3]],
      // Same distribution: F_a − F_b crosses zero many times, so many buckets are sorted and merged.
      ["no drift", sample(20_000, 25), sample(30_000, 26)],
      ["skewed", sample(5000, 27).map(Math.exp), sample(5000, 28, 0.1).map(Math.exp)],
      // One far outlier: nearly everything lands in the first bucket.
      ["outlier", [...sample(3000, 29), 1e9], sample(3000, 30)],
      ["disjoint", sample(100, 31), sample(100, 32, 50)],
      ["constant vs spread", Array(500).fill(0.5), Array.from({ length: 700 }, () => u())],
    ];
    const expected = await python<number[]>("print(json.dumps([float(stats.wasserstein_distance(a, b)) for a, b in INPUT]))", pairs.map(([, a, b]) => [a, b]));
    for (const [i, [name, a, b]] of pairs.entries()) {
      const sa = sampleOf(Float64Array.from(a));
      const sb = sampleOf(Float64Array.from(b));
      const raw = wassersteinRaw(sa.values!, sb.values!, Math.min(sa.min, sb.min), Math.max(sa.max, sb.max))!;
      expect(close(raw, expected[i]!), `${name} (bucketed): ${raw} vs ${expected[i]}`).toBe(true);
      expect(close(wassersteinSupports(supportOf(a), supportOf(b)), expected[i]!), `${name} (merged)`).toBe(true);
      expect(close(wassersteinSamples(sa, sb), expected[i]!), `${name} (samples)`).toBe(true);
    }
  });

  it("histogram equals numpy's with explicit edges, on raw values and on a support", async () => {
    const a = sample(3000, 40, 0, 1);
    const edges = [-3, -1.5, -0.5, 0, 0.2, 0.3, 1, 2.5];
    const expected = await python<number[]>("print(json.dumps(np.histogram(INPUT[0], INPUT[1])[0].tolist()))", [a, edges]);
    expect([...histogram(sampleOf(Float64Array.from(a)), Float64Array.from(edges))]).toEqual(expected);
    const sorted = sampleOf(Float64Array.from(a));
    sorted.support();
    expect([...histogram({ ...sorted, values: undefined, support: () => supportOf(a) }, Float64Array.from(edges))]).toEqual(expected);
  });

  it("Sturges edges equal numpy's histogram_bin_edges, also at power-of-two sizes and constant data", async () => {
    const cases = [[sample(512, 30), sample(512, 31)], [sample(1000, 32), sample(3000, 33, 1)], [[2, 2, 2], [2, 2]], [sample(7, 34), sample(1, 35)]];
    const expected = await python<number[][]>("print(json.dumps([np.histogram_bin_edges(np.concatenate([a, b]), bins='sturges').tolist() for a, b in INPUT]))", cases);
    cases.forEach(([a, b], i) => expect([...sturgesEdges(sampleOf(Float64Array.from(a!)), sampleOf(Float64Array.from(b!)))]).toEqual(expected[i]));
  });
});

describe("sortFloat64", () => {
  it("sorts like the comparison sort: negatives, zeros, subnormals, infinities, duplicates", () => {
    const u = uniform(99);
    const a = Float64Array.from({ length: 50_000 }, (_, i) => (i % 5 === 0 ? Math.round(u() * 10) : (u() - 0.5) * 10 ** Math.floor(u() * 40 - 20)));
    a.set([-0, 0, Infinity, -Infinity, 5e-324, -5e-324, Number.MAX_VALUE, -Number.MAX_VALUE], 100);
    const expected = Array.from(a).sort((x, y) => x - y);
    // -0 and +0 compare equal, and either order is sorted.
    const plain = (xs: ArrayLike<number>) => Array.from(xs, (x) => (x === 0 ? 0 : x));
    expect(plain(sortFloat64(a.slice()))).toEqual(plain(expected));
    // Every size class: insertion sort, the built-in sort, the radix sort.
    for (const n of [0, 1, 2, 47, 48, 49, 1000, 4095, 4096, 20_000]) {
      const b = Float64Array.from({ length: n }, () => Math.round((u() - 0.5) * 1e4) / 7);
      expect(plain(sortFloat64(b.slice())), `n=${n}`).toEqual(plain(Array.from(b).sort((x, y) => x - y)));
    }
  });
});
