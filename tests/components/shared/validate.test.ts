// One validation path for every component: the schema and the cross-field rules, all problems at once.
import { describe, expect, test } from "vitest";
import { z } from "zod";
import { problem, MlopsError } from "../../../src/errors.js";
import { quantityValue, validateArgs } from "../../../components/shared/validate.js";
import { mlopsFailure } from "../../helpers/errors.js";

const Schema = z.object({ min: z.number().int().min(0), max: z.number().int() }).strict();
const minAtMostMax = (a: { min?: unknown; max?: unknown }) =>
  typeof a?.min === "number" && typeof a?.max === "number" && a.min > a.max ? [problem("args.min", `is greater than max (${a.max})`, a.min, "Lower min.")] : [];


describe("validateArgs", () => {
  test("returns the parsed args when everything holds", () => {
    expect(validateArgs(Schema, { min: 1, max: 2 }, { context: "new Thing(\"t\")", crossFieldChecks: minAtMostMax })).toEqual({ min: 1, max: 2 });
  });

  test("reports schema and cross-field problems together in one error", () => {
    const err = mlopsFailure(() => validateArgs(Schema, { min: 5, max: 2, extra: 1 }, { context: "new Thing(\"t\")", crossFieldChecks: minAtMostMax }));
    expect(err.problems).toEqual([expect.stringMatching(/^args: .*Remove extra/), expect.stringMatching(/^args\.min: is greater than max \(2\); received 5\. Lower min\./)]);
    expect(err.message).toMatch(/^new Thing\("t"\): 2 invalid values:/);
  });

  test("names each property under the prefix given", () => {
    const err = mlopsFailure(() => validateArgs(Schema, { min: -1, max: 1 }, { context: "c", prefix: "" }));
    expect(err.problems).toEqual([expect.stringMatching(/^min: /)]);
  });
});

describe("quantityValue", () => {
  test.each([
    ["500m", 0.5],
    ["4", 4],
    ["1Gi", 2 ** 30],
    ["1.5k", 1500],
  ])("reads %s as %d", (q, v) => {
    expect(quantityValue(q)).toBe(v);
  });

  test("is undefined for what is not a quantity", () => {
    expect(quantityValue("2 GB")).toBeUndefined();
  });
});
