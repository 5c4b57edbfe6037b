import { describe, expect, it } from "vitest";
import { holdoutMask, holdoutSize, seededRandom } from "../../../runtime/train/split.js";

describe("holdout split", () => {
  it("picks the same rows for the same seed", () => {
    expect(Array.from(holdoutMask(500, 0.2, 42))).toEqual(Array.from(holdoutMask(500, 0.2, 42)));
  });

  it("picks different rows for another seed", () => {
    expect(Array.from(holdoutMask(500, 0.2, 42))).not.toEqual(Array.from(holdoutMask(500, 0.2, 43)));
  });

  it("holds out round(n × fraction) rows", () => {
    const mask = holdoutMask(1001, 0.25, 1);
    expect(mask.reduce((s, v) => s + v, 0)).toBe(250);
  });

  it("keeps at least one row on each side", () => {
    expect(holdoutSize(2, 0.01)).toBe(1);
    expect(holdoutSize(3, 0.99)).toBe(2);
  });

  it("spreads the holdout over the file rather than taking a block", () => {
    const mask = holdoutMask(1000, 0.2, 5);
    const firstHalf = mask.slice(0, 500).reduce((s, v) => s + v, 0);
    expect(firstHalf).toBeGreaterThan(70);
    expect(firstHalf).toBeLessThan(130);
  });

  it("draws from a PRNG whose sequence is fixed by the seed", () => {
    const a = seededRandom(9);
    const b = seededRandom(9);
    const xs = Array.from({ length: 5 }, () => a());
    expect(xs).toEqual(Array.from({ length: 5 }, () => b()));
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });
});
