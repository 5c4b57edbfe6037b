/**
 * One column's drift: its type, the test (Evidently's default or the one asked for), the score, the
 * threshold and the verdict, plus the histograms the HTML report draws.
 */
import { MlopsError } from "../../src/errors.js";
import { checkMethod, defaultMethod, featureTypeOf, METHOD_RULES, type FeatureType, type Method, type Physical } from "./select.js";
import { ks2samp } from "./stats/ks.js";
import type { NumericSample } from "./stats/sample.js";
import {
  binnedShares,
  chiSquare,
  compareKeys,
  countsOfSample,
  histogram,
  jensenShannon,
  linspace,
  psi,
  unionKeys,
  wassersteinNormed,
  zTest,
  type Counts,
} from "./stats/tests.js";

interface ColumnBase {
  /** DuckDB's type name, for messages and data quality. */
  readonly duckType: string;
  /** All rows of the table (missing included). */
  readonly rows: number;
  /** Rows with no usable value: NULL, NaN or ±Infinity (Evidently drops all three before testing). */
  readonly missing: number;
}

export interface NumericalData extends ColumnBase {
  readonly kind: "numeric";
  readonly physical: Extract<Physical, "float" | "int">;
  /** The finite values (raw from a table; a stored support from a profile). */
  readonly sample: NumericSample;
  /** False when the sample's support is a quantile sketch from a profile rather than every value. */
  readonly exact: boolean;
}

export interface CategoricalData extends ColumnBase {
  readonly kind: "categorical";
  readonly physical: Extract<Physical, "bool" | "string">;
  readonly counts: Counts;
}

export type ColumnData = NumericalData | CategoricalData;

/** One entry of report.json's `columns`, exactly. */
export interface ColumnReport {
  test: Method;
  statistic: number;
  p_value: number | null;
  threshold: number;
  drift: boolean;
  type: FeatureType;
}

/** What the HTML report draws for a column: shares per bin (numerical) or per category (top ones). */
export interface ColumnPlot {
  readonly labels: string[];
  readonly reference: number[];
  readonly current: number[];
  /** Bin edges for numerical plots (labels.length + 1 of them). */
  readonly edges?: number[];
}

export interface ColumnOutcome {
  readonly report: ColumnReport;
  readonly plot: ColumnPlot;
  /** The score came from a profile's quantile sketch, not every reference value. */
  readonly approximate: boolean;
}

export interface ColumnOptions {
  readonly method?: Method;
  readonly threshold?: number;
}

const PLOT_BINS = 30;
const PLOT_CATEGORIES = 20;

/** Runs the drift test for one column. Throws MlopsError when the two sides cannot be compared. */
export function columnDrift(name: string, ref: ColumnData, cur: ColumnData, opts: ColumnOptions = {}): ColumnOutcome {
  checkComparable(name, ref, cur);
  const refN = ref.kind === "numeric" ? ref.sample.total : ref.counts.total;
  const curN = cur.kind === "numeric" ? cur.sample.total : cur.counts.total;
  for (const [side, n, data] of [["reference", refN, ref], ["current", curN, cur]] as const) {
    if (n === 0) {
      throw MlopsError.of(
        `column ${JSON.stringify(name)}`,
        `has no values in the ${side} data (all ${data.rows} rows are NULL, NaN or infinite)`,
        data.duckType,
        "Fix the data, or leave the column out with --columns.",
      );
    }
  }
  const type = cur.kind === "numeric" ? featureTypeOf(cur.physical, cur.sample.distinct)! : "categorical";
  const nValues =
    ref.kind === "numeric" && cur.kind === "numeric"
      ? ref.sample.valueCounts && cur.sample.valueCounts
        ? unionKeys(countsOf(ref), countsOf(cur)).length
        : Math.max(ref.sample.distinct, cur.sample.distinct) // more than COUNT_LIMIT, so more than 5
      : unionKeys(countsOf(ref), countsOf(cur)).length;
  const method = opts.method ?? defaultMethod(refN, type, nValues);
  if (opts.method) checkMethod(opts.method, type, name);
  const rule = METHOD_RULES[method];
  const threshold = opts.threshold ?? rule.threshold;
  const { statistic, pValue, approximate } = score(method, type, ref, cur);
  const drift = rule.drifts(rule.pValue ? (pValue ?? NaN) : statistic, threshold);
  return {
    report: { test: method, statistic, p_value: pValue, threshold, drift, type },
    plot: plotOf(ref, cur),
    approximate,
  };
}

function score(method: Method, type: FeatureType, ref: ColumnData, cur: ColumnData): { statistic: number; pValue: number | null; approximate: boolean } {
  const sketch = ref.kind === "numeric" && !ref.exact;
  switch (method) {
    case "ks": {
      const r = ks2samp(sampleOf(ref).support(), sampleOf(cur).support());
      return { statistic: r.statistic, pValue: r.pValue, approximate: sketch };
    }
    case "wasserstein":
      return { statistic: wassersteinNormed(sampleOf(ref), sampleOf(cur)), pValue: null, approximate: sketch };
    case "chisquare":
      return { ...chiSquare(countsOf(ref), countsOf(cur)), approximate: false };
    case "z":
      return { ...zTest(countsOf(ref), countsOf(cur)), approximate: false };
    case "jensenshannon":
    case "psi": {
      const numerical = type === "numerical";
      const b = binnedShares(binSide(ref), binSide(cur), numerical, method === "psi");
      const statistic = method === "psi" ? psi(b.reference, b.current) : jensenShannon(b.reference, b.current);
      return { statistic, pValue: null, approximate: sketch && b.edges !== undefined };
    }
  }
}

function sampleOf(d: ColumnData): NumericSample {
  if (d.kind !== "numeric") throw new Error("a numerical test reached a categorical column");
  return d.sample;
}

function countsOf(d: ColumnData): Counts {
  if (d.kind === "categorical") return d.counts;
  if (!d.exact) throw new Error("value counts asked of a sketched column (its reference has more distinct values than the sketch)");
  return countsOfSample(d.sample);
}

function binSide(d: ColumnData): { sample?: NumericSample; counts: () => Counts; distinct: number } {
  return d.kind === "numeric"
    ? { sample: d.sample, counts: () => countsOf(d), distinct: d.sample.distinct }
    : { counts: () => d.counts, distinct: d.counts.counts.size };
}

function checkComparable(name: string, ref: ColumnData, cur: ColumnData): void {
  const same = ref.kind === "numeric" ? cur.kind === "numeric" : cur.kind === "categorical" && cur.physical === ref.physical;
  if (!same) {
    throw MlopsError.of(
      `column ${JSON.stringify(name)}`,
      `changed type from ${ref.duckType} in the reference to ${cur.duckType} in the current data, which the drift tests cannot compare`,
      cur.duckType,
      `Cast it back to ${ref.duckType} upstream, or leave it out with --columns.`,
    );
  }
}

function plotOf(ref: ColumnData, cur: ColumnData): ColumnPlot {
  if (ref.kind === "numeric" && cur.kind === "numeric" && (ref.sample.distinct > PLOT_CATEGORIES || !cur.sample.valueCounts)) {
    const lo = Math.min(ref.sample.min, cur.sample.min);
    const hi = Math.max(ref.sample.max, cur.sample.max);
    const edges = linspace(lo === hi ? lo - 0.5 : lo, lo === hi ? hi + 0.5 : hi, PLOT_BINS + 1);
    const share = (s: NumericSample) => Array.from(histogram(s, edges, false), (c) => c / s.total);
    return { labels: Array.from({ length: PLOT_BINS }, (_, i) => `${fmt(edges[i]!)} – ${fmt(edges[i + 1]!)}`), reference: share(ref.sample), current: share(cur.sample), edges: [...edges] };
  }
  const rc = countsOf(ref);
  const cc = countsOf(cur);
  const keys = unionKeys(rc, cc)
    .map((k) => ({ k, n: (rc.counts.get(k) ?? 0) / rc.total + (cc.counts.get(k) ?? 0) / cc.total }))
    // Numbers and booleans in their own order; other categories most common first.
    .sort((a, b) => (typeof a.k === "string" ? b.n - a.n || compareKeys(a.k, b.k) : compareKeys(a.k, b.k)));
  const top = keys.slice(0, PLOT_CATEGORIES).map((e) => e.k);
  const shares = (c: Counts) => top.map((k) => (c.counts.get(k) ?? 0) / c.total);
  const labels = top.map(String);
  const reference = shares(rc);
  const current = shares(cc);
  if (keys.length > PLOT_CATEGORIES) {
    labels.push(`(${keys.length - PLOT_CATEGORIES} others)`);
    reference.push(1 - reference.reduce((a, b) => a + b, 0));
    current.push(1 - current.reduce((a, b) => a + b, 0));
  }
  return { labels, reference, current };
}

const fmt = (x: number): string => (Math.abs(x) >= 1e5 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(2) : String(Number(x.toPrecision(4))));
