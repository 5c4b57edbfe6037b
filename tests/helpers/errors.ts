import { expect } from "vitest";
import { MlopsError } from "../../src/errors.js";

/** The MlopsError `fn` throws; fails the test when it throws nothing or something else. */
export function mlopsFailure(fn: () => unknown): MlopsError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MlopsError);
    return e as MlopsError;
  }
  throw new Error("expected an MlopsError");
}
