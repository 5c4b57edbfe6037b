/**
 * Reference profiles: drift from a profile equals drift from the table it was built from wherever the
 * profile keeps every value (small references, categorical columns, few distinct values), is close and
 * flagged where it keeps a sketch, and a profile built from in-memory arrays equals one built from a file.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MlopsError } from "../../../src/errors.js";
import { buildProfile, EXACT_VALUES, readProfile, runDrift, SKETCH_POINTS } from "../../../runtime/drift/index.js";
import { generate } from "./oracle.js";

let dir: string;
let small: { reference: string; current: string };
let large: { reference: string; current: string };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-drift-profile-"));
  await mkdir(join(dir, "s"));
  await mkdir(join(dir, "l"));
  [small, large] = await Promise.all([generate("small", join(dir, "s")), generate("large", join(dir, "l"))]);
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Equal, numbers within 1e-12 relative (sums over categories may run in another order). */
function expectNearlyEqual(actual: unknown, expected: unknown, where = ""): void {
  if (typeof expected === "number" && typeof actual === "number") {
    expect(actual === expected || Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected)), `${where}: ${actual} vs ${expected}`).toBe(true);
  } else if (expected !== null && typeof expected === "object") {
    expect(Object.keys(actual as object).sort(), where).toEqual(Object.keys(expected).sort());
    for (const [k, v] of Object.entries(expected)) expectNearlyEqual((actual as Record<string, unknown>)[k], v, `${where}.${k}`);
  } else {
    expect(actual, where).toEqual(expected);
  }
}

async function profileFile(table: string, name: string): Promise<string> {
  const path = join(dir, `${name}.json`);
  await writeFile(path, JSON.stringify(await buildProfile(table)));
  return path;
}

describe("drift from a reference profile", () => {
  it("equals drift from the table for a reference of at most 1000 rows (every value kept: KS, chi-square and Z exact)", async () => {
    const profile = await profileFile(small.reference, "small");
    const [fromTable, fromProfile] = await Promise.all([
      runDrift({ reference: small.reference, current: small.current, out: join(dir, "out-st") }),
      runDrift({ reference: profile, current: small.current, out: join(dir, "out-sp") }),
    ]);
    expectNearlyEqual(fromProfile.report.columns, fromTable.report.columns, "columns");
    expect(fromProfile.report.data_quality.approximate).toEqual([]);
    expect(fromProfile.report.data_quality.reference.kind).toBe("profile");
    expect(fromProfile.report.data_quality.columns).toEqual(fromTable.report.data_quality.columns);
  });

  it("is exact for categorical and few-valued columns of a large reference, close and flagged for sketched ones", async () => {
    const profile = await profileFile(large.reference, "large");
    const stored = await readProfile(profile, "--reference");
    const numShift = stored.columns.num_shift!;
    expect("values" in numShift && !numShift.exact && numShift.values.length).toBeLessThanOrEqual(SKETCH_POINTS);
    const [fromTable, fromProfile] = await Promise.all([
      runDrift({ reference: large.reference, current: large.current, out: join(dir, "out-lt") }),
      runDrift({ reference: profile, current: large.current, out: join(dir, "out-lp") }),
    ]);
    const sketched = ["num_shift", "num_same", "num_nan", "lognormal"];
    expect(fromProfile.report.data_quality.approximate.sort()).toEqual(sketched.sort());
    for (const [name, c] of Object.entries(fromTable.report.columns)) {
      const p = fromProfile.report.columns[name]!;
      expect(p.test, name).toBe(c.test);
      if (sketched.includes(name)) {
        expect(Math.abs(p.statistic - c.statistic), `${name}: ${p.statistic} vs ${c.statistic}`).toBeLessThan(0.005);
        expect(p.drift, name).toBe(c.drift);
      } else {
        expectNearlyEqual(p, c, name);
      }
    }
    expect(fromProfile.report.dataset_drift).toBe(fromTable.report.dataset_drift);
  });

  it("keeps every value of a numerical column with at most EXACT_VALUES distinct values", async () => {
    const stored = await buildProfile({ x: Float64Array.from({ length: 10_000 }, (_, i) => i % EXACT_VALUES) });
    const x = stored.columns.x!;
    expect("exact" in x && x.exact).toBe(true);
    expect("values" in x && x.values.length).toBe(EXACT_VALUES);
    expect("counts" in x && x.counts.every((c) => c === 5)).toBe(true);
  });
});

describe("buildProfile", () => {
  it("gives the same statistics from in-memory arrays as from a CSV file of the same data", async () => {
    const n = 300;
    const x = Array.from({ length: n }, (_, i) => (i % 7 === 0 ? null : Math.sin(i) * 10));
    const c = Array.from({ length: n }, (_, i) => (i % 11 === 0 ? null : ["red", "green", "blue"][i % 3]!));
    const csv = join(dir, "arrays.csv");
    await writeFile(csv, "x,c\n" + x.map((v, i) => `${v === null ? "" : v},${c[i] ?? ""}`).join("\n") + "\n");
    const [fromArrays, fromFile] = await Promise.all([buildProfile({ x, c }), buildProfile(csv)]);
    expect(fromFile.rows).toBe(n);
    expect(fromArrays.columns.x).toMatchObject({ ...fromFile.columns.x, type: "DOUBLE" });
    const sortCats = (p: typeof fromFile) => [...(p.columns.c as { categories: [string, number][] }).categories].sort();
    expect(sortCats(fromArrays)).toEqual(sortCats(fromFile));
    expect(fromArrays.columns.c).toMatchObject({ rows: n, missing: 28 });
  });

  it("fails when a profile file has a field of the wrong type, naming the field", async () => {
    const path = join(dir, "bad.json");
    const good = JSON.parse(await readFile(await profileFile(small.reference, "good"), "utf8"));
    good.columns.num_shift.std = "wide";
    await writeFile(path, JSON.stringify(good));
    const err = await readProfile(path, "--reference").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlopsError);
    expect((err as Error).message).toMatch(/profile\.columns\.num_shift/);
  });
});
