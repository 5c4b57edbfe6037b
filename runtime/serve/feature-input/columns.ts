/**
 * Stored feature values into the model's input tensor. The online store keeps each value as its JSON text
 * (runtime/features/online/keys.ts); a column writer turns that text into the input's element type at one
 * position, and says why a value does not fit (a float64 beyond float32's range, an int64 beyond INT32's).
 * Which feature dtypes an input datatype takes is decided once per model version, at load time:
 *
 * | input datatype            | feature dtypes it takes                   |
 * | ------------------------- | ----------------------------------------- |
 * | FP16, FP32, FP64          | float32, float64, int32, int64, bool (0/1) |
 * | INT8…INT64, UINT8…UINT64  | int32, int64, bool (0/1)                  |
 * | BOOL                      | bool                                      |
 * | BYTES                     | string                                    |
 *
 * A float feature into an integer input is refused rather than truncated: that is a model and a feature
 * list that do not belong together.
 */
import type { FeatureDtype } from "../../../src/spec/features.js";
import { fitsHalf, toHalfBits } from "../fp16.js";
import { DATATYPES, type DatatypeInfo, type TensorData } from "../tensor.js";

/** Writes one stored value (its JSON text) at `at`; returns why it does not fit, or undefined when written. */
export type ColumnWriter = (out: TensorData, at: number, text: string) => string | undefined;

/** Writes the configured fill value at `at`. */
export type FillWriter = (out: TensorData, at: number) => void;

const NUMERIC: ReadonlySet<FeatureDtype> = new Set(["float32", "float64", "int32", "int64", "bool"]);
const INTEGRAL: ReadonlySet<FeatureDtype> = new Set(["int32", "int64", "bool"]);

/** The feature dtypes an input of `datatype` takes, for messages. */
export function acceptedDtypes(datatype: string): string {
  const kind = DATATYPES[datatype]?.kind;
  if (kind === "float" || kind === "half") return "float32, float64, int32, int64 or bool";
  if (kind === "int" || kind === "int64" || kind === "uint64") return "int32, int64 or bool";
  if (kind === "bool") return "bool";
  if (kind === "bytes") return "string";
  return "none";
}

/** The writer for features of `dtype` into an input of `datatype`; undefined when that input cannot take them. */
export function columnWriter(datatype: string, dtype: FeatureDtype): ColumnWriter | undefined {
  const info = DATATYPES[datatype];
  if (!info) return undefined;
  switch (info.kind) {
    case "float":
      if (!NUMERIC.has(dtype)) return undefined;
      return (out, at, text) => {
        const f = out as Float32Array;
        f[at] = number(text);
        const stored = f[at]!;
        // float32 overflows to ±Infinity beyond its range.
        return stored - stored === 0 ? undefined : `does not fit ${datatype}`;
      };
    case "half":
      if (!NUMERIC.has(dtype)) return undefined;
      return (out, at, text) => {
        const v = number(text);
        if (!fitsHalf(v)) return `does not fit FP16 (±65504)`;
        (out as Uint16Array)[at] = toHalfBits(v);
        return undefined;
      };
    case "int":
      if (!INTEGRAL.has(dtype)) return undefined;
      return (out, at, text) => {
        const v = number(text);
        if (!Number.isInteger(v) || v < info.min || v > info.max) return `does not fit ${datatype} (${info.min} to ${info.max})`;
        (out as Int32Array)[at] = v;
        return undefined;
      };
    case "int64":
    case "uint64":
      if (!INTEGRAL.has(dtype)) return undefined;
      return (out, at, text) => {
        const v = text === "true" ? 1n : text === "false" ? 0n : BigInt(text);
        if (info.kind === "uint64" && v < 0n) return "does not fit UINT64 (it is negative)";
        (out as BigInt64Array)[at] = v;
        return undefined;
      };
    case "bool":
      if (dtype !== "bool") return undefined;
      return (out, at, text) => {
        (out as Uint8Array)[at] = text === "true" ? 1 : 0;
        return undefined;
      };
    case "bytes":
      if (dtype !== "string") return undefined;
      return (out, at, text) => {
        (out as string[])[at] = JSON.parse(text) as string;
        return undefined;
      };
  }
}

/** Numbers and booleans as the stored JSON text holds them. */
function number(text: string): number {
  return text === "true" ? 1 : text === "false" ? 0 : Number(text);
}

/**
 * The writer of `fill` into an input of `datatype`, or why that input cannot take it (a fraction into an
 * integer input, a BYTES input, which takes strings).
 */
export function fillWriter(datatype: string, fill: number): FillWriter | string {
  const info: DatatypeInfo | undefined = DATATYPES[datatype];
  if (!info) return `input datatype ${datatype} is not served`;
  switch (info.kind) {
    case "float": {
      const probe = info.make(1) as Float32Array;
      probe[0] = fill;
      if (!Number.isFinite(probe[0]!)) return `does not fit ${datatype}`;
      return (out, at) => ((out as Float32Array)[at] = fill);
    }
    case "half": {
      if (!fitsHalf(fill)) return "does not fit FP16 (±65504)";
      const bits = toHalfBits(fill);
      return (out, at) => ((out as Uint16Array)[at] = bits);
    }
    case "int":
      if (!Number.isInteger(fill) || fill < info.min || fill > info.max) return `is not an integer from ${info.min} to ${info.max}, which ${datatype} needs`;
      return (out, at) => ((out as Int32Array)[at] = fill);
    case "int64":
    case "uint64": {
      if (!Number.isSafeInteger(fill) || (info.kind === "uint64" && fill < 0)) return `is not ${info.kind === "uint64" ? "a non-negative" : "an"} integer, which ${datatype} needs`;
      const big = BigInt(fill);
      return (out, at) => ((out as BigInt64Array)[at] = big);
    }
    case "bool":
      if (fill !== 0 && fill !== 1) return "is not 0 or 1, which BOOL needs";
      return (out, at) => ((out as Uint8Array)[at] = fill);
    case "bytes":
      return "is a number, but a BYTES input takes strings";
  }
}
