/**
 * A fast reader for the usual shape of an OIP v2 infer request body, straight from the request's bytes:
 *
 *   {"id": "…", "inputs": [{"name": "…", "datatype": "…", "shape": [1, 256], "data": [0.5, -1e-3, …]}],
 *    "outputs": [{"name": "…", "parameters": {"binary_data": true}}], "parameters": {…}}
 *
 * `JSON.parse` builds a JS array of boxed numbers that is then copied into a typed array; this reads the
 * numbers into a reused buffer in one pass (scan-numbers.ts). Parsing was the largest share of the
 * server's CPU in the benchmark, ahead of onnxruntime (see bench/README.md). This file walks the JSON
 * structure, strings and keys. It is only a shortcut: it accepts nothing that `JSON.parse` would reject, it
 * returns the values `JSON.parse` would give, and for anything it does not fully recognise (a value
 * that is not a number in `data`, raw non-ASCII in a string it reads, a duplicate key, nesting deeper
 * than {@link MAX_DEPTH}, invalid JSON, …) it returns undefined and the caller parses the text with
 * `JSON.parse` as before, so every error message comes from one place.
 */
import type { Buffer } from "node:buffer";
import { GIVE_UP, MAX_DEPTH, readData, readNumber, type Cursor, type ScannedData } from "./scan-numbers.js";

export { MAX_DEPTH };

/** One element of `inputs` (or `outputs`); a key the body does not have is undefined, as with `JSON.parse`. */
export interface ScannedInput {
  name?: string;
  datatype?: string;
  shape?: number[];
  data?: ScannedData;
  parameters?: ScannedParameters;
}

/**
 * A `parameters` object with only the keys the server reads (see {@link PARAMETER_KEYS}); their values
 * are the scalars JSON.parse would give, or {@link NESTED} for an array or object (which no such key
 * takes, so the check that reads it fails and the body is parsed again with JSON.parse).
 */
export type ScannedParameters = Record<string, string | number | boolean | null | typeof NESTED>;

/** Stands for an array or object value of a parameter the server reads. */
export const NESTED: unique symbol = Symbol("nested parameter value");

/** The fields of the request the server reads; other keys are checked and skipped. */
export interface ScannedBody {
  id?: string;
  inputs?: ScannedInput[];
  outputs?: ScannedInput[];
  parameters?: ScannedParameters;
}

/** The parameters the server reads: the binary tensor data extension's, and those it refuses (shared memory, classification). */
export const PARAMETER_KEYS: readonly string[] = [
  "binary_data_size",
  "binary_data",
  "binary_data_output",
  "shared_memory_region",
  "classification",
];

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const BACKSLASH = 0x5c;

/** Reads an infer request body; undefined means "use JSON.parse" (see the module comment). */
export function scanInferBody(body: Buffer): ScannedBody | undefined {
  try {
    return new Scanner(body).body();
  } catch {
    return undefined;
  }
}

class Scanner implements Cursor {
  i = 0;
  n = 0;
  readonly end: number;

  constructor(readonly b: Buffer) {
    this.end = b.length;
  }

  body(): ScannedBody {
    const out: ScannedBody = {};
    this.ws();
    this.object((key) => {
      if (key !== "id" && key !== "inputs" && key !== "outputs" && key !== "parameters") this.skip(1);
      // A duplicate key: JSON.parse keeps the last one; leave that to it.
      else if (Object.hasOwn(out, key)) throw GIVE_UP;
      else if (key === "id") out.id = this.string();
      else if (key === "parameters") out.parameters = this.parameters();
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
      else if (key === "shape") out.shape = this.array(() => readNumber(this));
      else if (key === "data") out.data = readData(this);
      else if (key === "parameters") out.parameters = this.parameters();
      else this.skip(2);
    });
    return out;
  }

  /** A `parameters` object: the keys the server reads, with their scalar values; the rest skipped. */
  private parameters(): ScannedParameters {
    const out: ScannedParameters = {};
    this.object((key) => {
      if (!PARAMETER_KEYS.includes(key)) {
        this.skip(3);
        return;
      }
      if (Object.hasOwn(out, key)) throw GIVE_UP;
      out[key] = this.scalar();
    });
    return out;
  }

  /** A parameter's value: a string, number, true, false or null; {@link NESTED} for an array or object (skipped). */
  private scalar(): ScannedParameters[string] {
    const c = this.b[this.i];
    if (c === QUOTE) return this.string();
    if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      this.skip(3);
      return NESTED;
    }
    for (const [word, value] of LITERALS) {
      if (c === word.charCodeAt(0)) {
        this.literal(word);
        return value;
      }
    }
    return readNumber(this);
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
    else readNumber(this);
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

const LITERALS: readonly (readonly [string, boolean | null])[] = [["true", true], ["false", false], ["null", null]];

const KEYS: readonly string[] = ["data", "name", "datatype", "shape", "inputs", "id", "outputs", "parameters", ...PARAMETER_KEYS];

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

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}
