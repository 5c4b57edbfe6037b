/**
 * runDrift against Evidently's decisions computed with scipy (evidently_oracle.py) on generated tables
 * with drift planted in some columns: the test chosen per column, the column type, the statistic and
 * p-value (within 1e-6), the verdicts and the dataset verdict, for small and large references and for
 * each method asked for by name.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDrift } from "../../../runtime/drift/index.js";
import type { Method } from "../../../runtime/drift/select.js";
import { expectSameReport, generate, oracleDrift } from "./oracle.js";

let dir: string;
const tables: Record<string, { reference: string; current: string }> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-drift-evidently-"));
  for (const s of ["small", "small_equal", "ks_asymp", "large"]) {
    await mkdir(join(dir, s));
    tables[s] = await generate(s, join(dir, s));
  }
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

async function compare(scenario: string, opts: { method?: Method; threshold?: number; columns?: string[] } = {}) {
  const t = tables[scenario]!;
  const flags = [
    ...(opts.method ? ["--method", opts.method] : []),
    ...(opts.threshold !== undefined ? ["--threshold", String(opts.threshold)] : []),
    ...(opts.columns ? ["--columns", opts.columns.join(",")] : []),
  ];
  const [ours, theirs] = await Promise.all([
    runDrift({ reference: t.reference, current: t.current, out: join(dir, scenario, `out-${flags.join("") || "default"}`), ...opts }),
    oracleDrift(t.reference, t.current, flags),
  ]);
  expectSameReport(ours.report, theirs);
  return ours.report;
}

const NUMERICAL = ["num_shift", "num_same", "num_ties", "num_nan", "int_many", "lognormal"];

describe("Evidently's default tests, checked against scipy", () => {
  it("reference of 600 rows: KS for numerical columns, chi-square and Z for few values and categories", async () => {
    const r = await compare("small");
    // The selection itself, column by column (what the oracle agreed with above).
    expect(Object.fromEntries(Object.entries(r.columns).map(([n, c]) => [n, `${c.type}/${c.test}`]))).toEqual({
      num_shift: "numerical/ks",
      num_same: "numerical/ks",
      num_ties: "numerical/ks",
      num_few: "numerical/chisquare", // a float column with 3 distinct values
      num_two: "numerical/z", // 2 distinct values
      num_nan: "numerical/ks",
      int_cat: "categorical/chisquare", // integers with ≤ 10 distinct values are categorical
      int_many: "numerical/ks",
      str_cat: "categorical/chisquare",
      str_two: "categorical/z",
      flag: "categorical/z",
      lognormal: "numerical/ks",
    });
    expect(r.columns.num_shift!.drift).toBe(true);
    expect(r.columns.num_same!.drift).toBe(false);
  });

  it("equal sample sizes take scipy's exact equal-n KS path", async () => {
    await compare("small_equal");
  });

  it("a current table over 10,000 rows takes the asymptotic KS p-value", async () => {
    await compare("ks_asymp");
  });

  it("reference of 5000 rows: normed Wasserstein for numerical columns, Jensen-Shannon for the rest", async () => {
    const r = await compare("large");
    for (const n of NUMERICAL) expect(r.columns[n]!.test, n).toBe("wasserstein");
    for (const n of ["num_few", "num_two", "int_cat", "str_cat", "str_two", "flag"]) expect(r.columns[n]!.test, n).toBe("jensenshannon");
    expect(r.data_quality.columns.str_cat!.unseen_categories).toMatchObject({ count: 1, examples: ["e"] });
  });
});

describe("a method asked for by name, checked against scipy", () => {
  it("psi on a large reference (Sturges bins over the combined data; zero shares filled)", async () => {
    await compare("large", { method: "psi" });
  });

  it("jensenshannon on a large reference, numerical columns binned", async () => {
    await compare("large", { method: "jensenshannon" });
  });

  it("psi and jensenshannon on a small reference", async () => {
    await compare("small", { method: "psi" });
    await compare("small", { method: "jensenshannon" });
  });

  it("ks on the numerical columns of a large reference (asymptotic p-values)", async () => {
    await compare("large", { method: "ks", columns: NUMERICAL });
  });

  it("wasserstein on a small reference, with a custom threshold", async () => {
    await compare("small", { method: "wasserstein", columns: NUMERICAL, threshold: 0.2 });
  });

  it("chisquare and z on the categorical columns", async () => {
    const cats = ["int_cat", "str_cat", "str_two", "flag"];
    await compare("large", { method: "chisquare", columns: cats });
    await compare("large", { method: "z", columns: cats });
  });
});
