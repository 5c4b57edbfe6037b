/**
 * The profile the training job saves (runtime/train/profile.ts): the row-major training matrix profiled
 * column by column equals the profile of the same columns built directly, keeps the model's feature
 * order, and a store that refuses the write leaves the run registered with a warning.
 */
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../../src/random.js";
import type { ObjectStore } from "../../../src/store/types.js";
import { buildProfile } from "../../../runtime/drift/index.js";
import { saveReferenceProfile, splitProfile } from "../../../runtime/train/profile.js";
import type { Dataset } from "../../../runtime/train/dataset.js";
import { captureLogger } from "../train/helpers.js";

function matrix(n: number, d: number): { X: Float64Array; columns: Float64Array[] } {
  const rand = seededRandom(3);
  const X = new Float64Array(n * d);
  const columns = Array.from({ length: d }, () => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      // Column j has 3 + 40·j distinct values (a few exact-valued, the rest wide), one of them every other.
      const v = j % 3 === 0 ? Math.floor(rand() * (3 + 40 * j)) : rand() * (j + 1);
      X[i * d + j] = v;
      columns[j]![i] = v;
    }
  }
  return { X, columns };
}

describe("splitProfile", () => {
  it("equals buildProfile over the same columns, for more features than one group, in the model's order", async () => {
    const n = 500;
    const d = 37; // three groups of 16
    const { X, columns } = matrix(n, d);
    // Names that JavaScript would reorder as object keys ("10" before "b"): the order is kept in `features`.
    const names = Array.from({ length: d }, (_, j) => (j % 2 ? `f${j}` : String(100 - j)));
    const p = await splitProfile({ X, y: new Float64Array(n), n, d }, names, "file:///data.csv");
    const direct = await buildProfile(Object.fromEntries(names.map((name, j) => [name, columns[j]!])));
    expect(p.features).toEqual(names);
    expect(p.rows).toBe(n);
    expect(p.source).toBe("file:///data.csv");
    expect(Object.keys(p.columns).sort()).toEqual(Object.keys(direct.columns).sort());
    for (const name of names) expect(p.columns[name], name).toEqual(direct.columns[name]);
  });
});

describe("saveReferenceProfile", () => {
  const data = { uri: "file:///d.csv", features: ["a", "b"], train: { X: Float64Array.from([1, 2, 3, 4, 5, 6]), y: new Float64Array(3), n: 3, d: 2 } } as unknown as Dataset;
  const spec = { model: "fraud" } as never;

  it("writes models/<name>/profiles/<V>.json and logs where", async () => {
    const puts: string[] = [];
    const store = { put: async (k: string) => void puts.push(k), uriOf: (k: string) => `mem://${k}` } as unknown as ObjectStore;
    const { logger, records } = captureLogger();
    const uri = await saveReferenceProfile({ spec, registry: { store } as never, log: logger }, 7, data);
    expect(uri).toBe("mem://models/fraud/profiles/0000000007.json");
    expect(puts).toEqual(["models/fraud/profiles/0000000007.json"]);
    expect(records().find((r) => r.msg === "reference profile saved")).toMatchObject({ version: 7, rows: 3, features: 2 });
  });

  it("logs a warning, not an error, when the store refuses: the version is registered already", async () => {
    const store = { put: async () => Promise.reject(new Error("AccessDenied")), uriOf: (k: string) => k } as unknown as ObjectStore;
    const { logger, records } = captureLogger();
    expect(await saveReferenceProfile({ spec, registry: { store } as never, log: logger }, 7, data)).toBeUndefined();
    expect(records().find((r) => r.level === "warn")).toMatchObject({ version: 7, error: "AccessDenied" });
  });
});
