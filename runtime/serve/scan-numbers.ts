/**
 * The number side of the infer body scanner (scan.ts): JSON numbers read from bytes to the same doubles
 * `JSON.parse` gives, and the `data` arrays of numbers read into a reused `Float64Array`, the hot loop of
 * the whole server (see bench/README.md).
 *
 * Plain decimals are converted with exact arithmetic: m × 10^e and m / 10^e are correctly rounded for
 * m ≤ 2^53 and e ≤ 22 (Clinger's fast path). Everything else goes through `Number()`, which rounds as
 * `JSON.parse` does. What is not a JSON number throws {@link GIVE_UP}.
 */
import type { Buffer } from "node:buffer";

/** Thrown inside the scanner to give up (the caller falls back to `JSON.parse`); never leaves scan.ts. */
export const GIVE_UP = new Error("not the fast path");

/** Deeper nesting is left to `JSON.parse`. */
export const MAX_DEPTH = 32;

/** Where the scanner is in a body; the readers here move it past what they read. */
export interface Cursor {
  readonly b: Buffer;
  readonly end: number;
  /** Index of the next byte to read. */
  i: number;
  /** Values of `data` this body has read so far: where the next `data` starts in the scratch buffer. */
  n: number;
}

/** The numbers of one input's `data`, flattened in row-major order. */
export class ScannedData {
  constructor(
    /** A view into a buffer the next scan reuses: copy out before scanning again. */
    readonly values: Float64Array,
    /** Array nesting of `data`: 1 for a flat array, 2 for an array of rows, … */
    readonly depth: number,
    /**
     * The lengths of the nesting levels when `data` is a regular box (every array at a level as long as
     * the others, values only in the innermost arrays, all at the same depth), e.g. [2, 3] for
     * [[1,2,3],[4,5,6]]; undefined for ragged data such as [[1,2],[3]].
     */
    readonly dims: readonly number[] | undefined,
  ) {}
}

const POW10 = Array.from({ length: 23 }, (_, e) => Number(`1e${e}`));
const MAX_EXACT = 2 ** 53;
const SCRATCH_KEEP = 1 << 16;

const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const MINUS = 0x2d;

let scratch = new Float64Array(1024);

// The structure of the `data` being read, one slot per nesting level (1 = the outer array), so that
// ragged data can be told from a regular box without a second pass. Work per array, none per number.
/** Values read (`n`) when the open array at this level started. */
const openedAt = new Int32Array(MAX_DEPTH + 2);
/** Child arrays of the open array at this level. */
const childArrays = new Int32Array(MAX_DEPTH + 2);
/** Values inside those child arrays. */
const childValues = new Int32Array(MAX_DEPTH + 2);
/** Element count of the arrays at this level closed so far; -1 before the first. */
const levelLength = new Int32Array(MAX_DEPTH + 2);
let regular = true;
/** Depth of the arrays that hold values; 0 before the first closes. */
let valueDepth = 0;

function openLevel(level: number, n: number): void {
  openedAt[level] = n;
  childArrays[level] = 0;
  childValues[level] = 0;
  childArrays[level - 1]++;
}

function closeLevel(level: number, n: number): void {
  const values = n - openedAt[level]!;
  const direct = values - childValues[level]!;
  const kids = childArrays[level]!;
  if (kids > 0 && direct > 0) regular = false;
  const length = kids + direct;
  if (levelLength[level] === -1) levelLength[level] = length;
  else if (levelLength[level] !== length) regular = false;
  if (kids === 0) {
    if (valueDepth === 0) valueDepth = level;
    else if (valueDepth !== level) regular = false;
  }
  childValues[level - 1]! += values;
}

/**
 * `data` at `s.i`: numbers in arrays nested up to MAX_DEPTH, read into the scratch buffer. The hot loop
 * of the whole server, so it keeps its position in locals and reads plain decimals inline; exponents and
 * anything else unusual go through {@link readNumber}.
 */
export function readData(s: Cursor): ScannedData {
  const b = s.b;
  const start = s.n;
  // A body's first `data`: one large request must not pin its buffer forever.
  if (start === 0 && scratch.length > SCRATCH_KEEP) scratch = new Float64Array(1024);
  let n = start;
  let buf = scratch;
  let i = s.i;
  if (b[i] !== OPEN_ARRAY) throw GIVE_UP;
  i++;
  let depth = 1;
  let deepest = 1;
  let afterComma = false;
  regular = true;
  valueDepth = 0;
  levelLength[1] = -1;
  openLevel(1, n);
  for (;;) {
    let c = b[i];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
    if (c === OPEN_ARRAY) {
      if (++depth > MAX_DEPTH) throw GIVE_UP;
      if (depth > deepest) {
        deepest = depth;
        levelLength[depth] = -1;
      }
      openLevel(depth, n);
      i++;
      afterComma = false;
      continue;
    }
    if (c === CLOSE_ARRAY) {
      if (afterComma) throw GIVE_UP;
      i++;
      closeLevel(depth, n);
      depth--;
    } else {
      const first = i;
      const neg = c === MINUS;
      if (neg) c = b[++i];
      let m = 0;
      if (c === 0x30) c = b[++i];
      else if (c >= 0x31 && c <= 0x39) {
        do {
          m = m * 10 + (c - 0x30);
          c = b[++i];
        } while (c >= 0x30 && c <= 0x39);
      } else throw GIVE_UP;
      let exp = 0;
      if (c === 0x2e) {
        const point = i;
        c = b[++i];
        while (c >= 0x30 && c <= 0x39) {
          m = m * 10 + (c - 0x30);
          c = b[++i];
        }
        exp = point + 1 - i;
        if (exp === 0) throw GIVE_UP;
      }
      let v: number;
      if (c === 0x65 || c === 0x45 || m > MAX_EXACT || exp < -22) {
        s.i = first;
        v = readNumber(s);
        i = s.i;
      } else {
        v = exp < 0 ? m / POW10[-exp]! : m;
        if (neg) v = -v;
      }
      if (n === buf.length) scratch = buf = grow(buf);
      buf[n++] = v;
    }
    // After a value: `,` and the next one, or `]` closing one or more arrays.
    for (;;) {
      if (depth === 0) {
        s.i = i;
        s.n = n;
        let dims: number[] | undefined;
        if (deepest === 1) dims = [n - start];
        else if (regular) {
          dims = [];
          for (let level = 1; level <= deepest; level++) dims.push(levelLength[level]!);
        }
        return new ScannedData(buf.subarray(start, n), deepest, dims);
      }
      let d = b[i++];
      while (d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) d = b[i++];
      if (d === COMMA) {
        afterComma = true;
        break;
      }
      if (d !== CLOSE_ARRAY) throw GIVE_UP;
      closeLevel(depth, n);
      depth--;
    }
  }
}

/** A JSON number at `s.i`, strictly by the grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
export function readNumber(s: Cursor): number {
  const b = s.b;
  const end = s.end;
  const start = s.i;
  let i = start;
  const neg = b[i] === MINUS;
  if (neg) i++;
  let c = b[i]!;
  let m = 0;
  if (c === 0x30) i++;
  else if (c >= 0x31 && c <= 0x39) {
    while (i < end && (c = b[i]!) >= 0x30 && c <= 0x39) {
      m = m * 10 + (c - 0x30);
      i++;
    }
  } else throw GIVE_UP;
  let exp = 0;
  if (b[i] === 0x2e) {
    const first = ++i;
    while (i < end && (c = b[i]!) >= 0x30 && c <= 0x39) {
      m = m * 10 + (c - 0x30);
      i++;
    }
    if (i === first) throw GIVE_UP;
    exp = first - i;
  }
  if ((b[i]! | 0x20) === 0x65) {
    i++;
    let eneg = false;
    if (b[i] === 0x2b || b[i] === MINUS) eneg = b[i++] === MINUS;
    const first = i;
    let e = 0;
    while (i < end && (c = b[i]!) >= 0x30 && c <= 0x39) {
      if (e < 1e6) e = e * 10 + (c - 0x30);
      i++;
    }
    if (i === first) throw GIVE_UP;
    exp += eneg ? -e : e;
  }
  s.i = i;
  if (m <= MAX_EXACT && exp >= -22 && exp <= 22) {
    const v = exp < 0 ? m / POW10[-exp]! : exp > 0 ? m * POW10[exp]! : m;
    return neg ? -v : v;
  }
  // Too many digits or too far an exponent for exact arithmetic: let V8 round it, as JSON.parse does.
  return Number(b.toString("latin1", start, i));
}

function grow(buf: Float64Array): Float64Array<ArrayBuffer> {
  const bigger = new Float64Array(buf.length * 2);
  bigger.set(buf);
  return bigger;
}
