/**
 * A fast reader for the usual shape of an OIP v2 infer request body, straight from the request's bytes:
 *
 *   {"id": "…", "inputs": [{"name": "…", "datatype": "…", "shape": [1, 256], "data": [0.5, -1e-3, …]}],
 *    "outputs": [{"name": "…"}], "parameters": {…}}
 *
 * `JSON.parse` builds a JS array of boxed numbers that is then copied into a typed array; this reads the
 * numbers into a reused buffer in one pass. Parsing was the largest share of the server's CPU in the
 * benchmark, ahead of onnxruntime (see bench/README.md). It is only a shortcut: it accepts nothing that `JSON.parse` would reject, it
 * returns the values `JSON.parse` would give, and for anything it does not fully recognise (a value
 * that is not a number in `data`, raw non-ASCII in a string it reads, a duplicate key, nesting deeper
 * than {@link MAX_DEPTH}, invalid JSON, …) it returns undefined and the caller parses the text with
 * `JSON.parse` as before, so every error message comes from one place.
 */
import type { Buffer } from "node:buffer";

/** The numbers of one input's `data`, flattened in row-major order. */
export class ScannedData {
  constructor(
    /** A view into a buffer the next scan reuses: copy out before scanning again. */
    readonly values: Float64Array,
    /** Array nesting of `data`: 1 for a flat array, 2 for an array of rows, … */
    readonly depth: number,
  ) {}
}

/** One element of `inputs`; a key the body does not have is undefined, as with `JSON.parse`. */
export interface ScannedInput {
  name?: string;
  datatype?: string;
  shape?: number[];
  data?: ScannedData;
}

/** The fields of the request the server reads; other keys (`parameters`, …) are checked and skipped. */
export interface ScannedBody {
  id?: string;
  inputs?: ScannedInput[];
  outputs?: { name?: string }[];
}

/** Deeper nesting is left to `JSON.parse`. */
export const MAX_DEPTH = 32;

// Exact powers of ten: m × 10^e and m / 10^e are correctly rounded for m ≤ 2^53 and e ≤ 22 (Clinger's
// fast path), so they equal what JSON.parse gives. Everything else goes through Number().
const POW10 = Array.from({ length: 23 }, (_, e) => Number(`1e${e}`));
const MAX_EXACT = 2 ** 53;
const SCRATCH_KEEP = 1 << 16;

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;

/** Thrown inside the scanner to give up; never leaves this module. */
const GIVE_UP = new Error("not the fast path");

let scratch = new Float64Array(1024);

/** Reads an infer request body; undefined means "use JSON.parse" (see the module comment). */
export function scanInferBody(body: Buffer): ScannedBody | undefined {
  // One large request must not pin its buffer forever.
  if (scratch.length > SCRATCH_KEEP) scratch = new Float64Array(1024);
  try {
    return new Scanner(body).body();
  } catch {
    return undefined;
  }
}

class Scanner {
  private i = 0;
  private n = 0;
  private readonly end: number;

  constructor(private readonly b: Buffer) {
    this.end = b.length;
  }

  body(): ScannedBody {
    const out: ScannedBody = {};
    this.ws();
    this.object((key) => {
      if (key !== "id" && key !== "inputs" && key !== "outputs") this.skip(1);
      // A duplicate key: JSON.parse keeps the last one; leave that to it.
      else if (Object.hasOwn(out, key)) throw GIVE_UP;
      else if (key === "id") out.id = this.string();
      else if (key === "inputs") out.inputs = this.array(() => this.input());
      // Only `name` of a requested output is read; reading it like an input is as strict as needed.
      else out.outputs = this.array(() => this.input());
    });
    this.ws();
    if (this.i !== this.end) throw GIVE_UP;
    return out;
  }

  private input(): ScannedInput {
    const out: ScannedInput = {};
    this.object((key) => {
      if (Object.hasOwn(out, key)) throw GIVE_UP;
      if (key === "name") out.name = this.string();
      else if (key === "datatype") out.datatype = this.string();
      else if (key === "shape") out.shape = this.array(() => this.number());
      else if (key === "data") out.data = this.data();
      else this.skip(2);
    });
    return out;
  }

  /** `{` key `:` value, … `}`; `member` reads the value of each key. Leaves `i` after the `}`. */
  private object(member: (key: string) => void): void {
    const b = this.b;
    if (b[this.i] !== OPEN_OBJECT) throw GIVE_UP;
    this.i++;
    this.ws();
    if (b[this.i] === CLOSE_OBJECT) {
      this.i++;
      return;
    }
    for (;;) {
      const key = this.key();
      this.ws();
      if (b[this.i] !== COLON) throw GIVE_UP;
      this.i++;
      this.ws();
      member(key);
      this.ws();
      const c = b[this.i];
      this.i++;
      if (c === CLOSE_OBJECT) return;
      if (c !== COMMA) throw GIVE_UP;
      this.ws();
    }
  }

  /** `[` value, … `]`. */
  private array<T>(element: () => T): T[] {
    const b = this.b;
    if (b[this.i] !== OPEN_ARRAY) throw GIVE_UP;
    this.i++;
    this.ws();
    const out: T[] = [];
    if (b[this.i] === CLOSE_ARRAY) {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(element());
      this.ws();
      const c = b[this.i];
      this.i++;
      if (c === CLOSE_ARRAY) return out;
      if (c !== COMMA) throw GIVE_UP;
      this.ws();
    }
  }

  /**
   * `data`: numbers in arrays nested up to MAX_DEPTH, read into the scratch buffer. The hot loop of the
   * whole server, so it keeps its position in locals and reads plain decimals inline; exponents and
   * anything else unusual go through {@link number}.
   */
  private data(): ScannedData {
    const b = this.b;
    const start = this.n;
    let n = start;
    let buf = scratch;
    let i = this.i;
    if (b[i] !== OPEN_ARRAY) throw GIVE_UP;
    i++;
    let depth = 1;
    let deepest = 1;
    let afterComma = false;
    for (;;) {
      let c = b[i];
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
      if (c === OPEN_ARRAY) {
        if (++depth > MAX_DEPTH) throw GIVE_UP;
        if (depth > deepest) deepest = depth;
        i++;
        afterComma = false;
        continue;
      }
      if (c === CLOSE_ARRAY) {
        if (afterComma) throw GIVE_UP;
        i++;
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
          this.i = first;
          v = this.number();
          i = this.i;
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
          this.i = i;
          this.n = n;
          return new ScannedData(buf.subarray(start, n), deepest);
        }
        let d = b[i++];
        while (d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) d = b[i++];
        if (d === COMMA) {
          afterComma = true;
          break;
        }
        if (d !== CLOSE_ARRAY) throw GIVE_UP;
        depth--;
      }
    }
  }

  /** A JSON number, strictly by the grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
  private number(): number {
    const b = this.b;
    const end = this.end;
    const start = this.i;
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
    this.i = i;
    if (m <= MAX_EXACT && exp >= -22 && exp <= 22) {
      const v = exp < 0 ? m / POW10[-exp]! : exp > 0 ? m * POW10[exp]! : m;
      return neg ? -v : v;
    }
    // Too many digits or too far an exponent for exact arithmetic: let V8 round it, as JSON.parse does.
    return Number(this.b.toString("latin1", start, i));
  }

  /** A key: the common ones compared by bytes, anything with escapes decoded the way JSON.parse would. */
  private key(): string {
    const b = this.b;
    if (b[this.i] !== QUOTE) throw GIVE_UP;
    const start = this.i + 1;
    const escaped = this.skipString();
    const len = this.i - 1 - start;
    // Unknown keys are only skipped, so their text does not matter (raw UTF-8 included).
    if (!escaped) {
      for (const k of KEYS) if (sameText(b, start, len, k)) return k;
      return "";
    }
    return this.decode(start);
  }

  /** A string value the server uses (names, id): ASCII only, else JSON.parse reads the whole body. */
  private string(): string {
    const b = this.b;
    if (b[this.i] !== QUOTE) throw GIVE_UP;
    const start = this.i + 1;
    const escaped = this.skipString();
    const stop = this.i - 1;
    if (escaped) return this.decode(start);
    // Names repeat from one request to the next: hand back the same string rather than a new one.
    const len = stop - start;
    for (const t of recent) if (sameText(b, start, len, t)) return t;
    for (let j = start; j < stop; j++) if (b[j]! >= 0x80) throw GIVE_UP;
    const t = b.toString("latin1", start, stop);
    recent[recentNext++ % recent.length] = t;
    return t;
  }

  private decode(start: number): string {
    for (let j = start; j < this.i; j++) if (this.b[j]! >= 0x80) throw GIVE_UP;
    return JSON.parse(this.b.toString("latin1", start - 1, this.i)) as string;
  }

  /** Moves past a string starting at its opening quote, checking escapes; true when it has any. */
  private skipString(): boolean {
    const b = this.b;
    const end = this.end;
    let i = this.i + 1;
    let escaped = false;
    for (;;) {
      if (i >= end) throw GIVE_UP;
      const c = b[i++]!;
      if (c === QUOTE) break;
      if (c < 0x20) throw GIVE_UP;
      if (c === BACKSLASH) {
        escaped = true;
        const e = b[i++];
        if (e === 0x75) {
          for (let k = 0; k < 4; k++) if (!isHex(b[i++]!)) throw GIVE_UP;
        } else if (e === undefined || !SIMPLE_ESCAPES.includes(e)) throw GIVE_UP;
      }
    }
    this.i = i;
    return escaped;
  }

  /** Checks and skips any JSON value. */
  private skip(depth: number): void {
    if (depth > MAX_DEPTH) throw GIVE_UP;
    const c = this.b[this.i];
    if (c === OPEN_OBJECT) this.object(() => this.skip(depth + 1));
    else if (c === OPEN_ARRAY) this.array(() => this.skip(depth + 1));
    else if (c === QUOTE) this.skipString();
    else if (c === 0x74) this.literal("true");
    else if (c === 0x66) this.literal("false");
    else if (c === 0x6e) this.literal("null");
    else this.number();
  }

  private literal(word: string): void {
    if (this.b.toString("latin1", this.i, this.i + word.length) !== word) throw GIVE_UP;
    this.i += word.length;
  }

  /** JSON whitespace: space, tab, line feed, carriage return. */
  private ws(): void {
    let c = this.b[this.i];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = this.b[++this.i];
  }
}

const KEYS: readonly string[] = ["data", "name", "datatype", "shape", "inputs", "id", "outputs"];

/** The last strings read (input names, datatypes, …), to reuse. */
const recent: string[] = Array.from({ length: 16 }, () => "");
let recentNext = 0;

/** True when bytes [start, start + len) of `b` spell `text` (which is ASCII). */
function sameText(b: Buffer, start: number, len: number, text: string): boolean {
  if (text.length !== len) return false;
  for (let j = 0; j < len; j++) if (b[start + j] !== text.charCodeAt(j)) return false;
  return true;
}

/** `\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`: the escapes JSON has besides `\uXXXX`. */
const SIMPLE_ESCAPES: readonly number[] = [QUOTE, BACKSLASH, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74];

function grow(buf: Float64Array): Float64Array<ArrayBuffer> {
  const bigger = new Float64Array(buf.length * 2);
  bigger.set(buf);
  return bigger;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}
