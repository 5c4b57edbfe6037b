import { parseArgs, type ParseArgsConfig } from "node:util";
import { MlopsError } from "../src/errors.js";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** The parsed flags, typed from the option declarations. */
export type Values<O extends Options> = {
  [K in keyof O]?: O[K] extends { type: "boolean" }
    ? O[K] extends { multiple: true }
      ? boolean[]
      : boolean
    : O[K] extends { multiple: true }
      ? string[]
      : string;
};

/** `--help` or `-h` was given: the command prints its usage and exits 0 (cli/main.ts). */
export class HelpRequested extends Error {
  constructor(readonly usage: string) {
    super(usage);
  }
}

/** True when `--help`/`-h` comes before a `--` that ends the flags. */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === "--help" || a === "-h");
}

/**
 * parseArgs with strict checking, turned into an MlopsError that names the command and its usage.
 * `--help`/`-h` anywhere before `--` asks for the usage instead ({@link HelpRequested}).
 */
export function parse<O extends Options>(argv: string[], options: O, usage: string): { values: Values<O>; positionals: string[] } {
  if (wantsHelp(argv)) throw new HelpRequested(usage);
  try {
    const r = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: r.values as Values<O>, positionals: r.positionals };
  } catch (e) {
    throw new MlopsError(`${(e as Error).message}\nusage: ${usage}`);
  }
}

/** `--metric k=v` pairs into a record; `kind` names the flag in errors. */
export function keyValues(pairs: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) {
      throw MlopsError.of(`--${flag}`, "is not a key=value pair", pair, `Write --${flag} name=value.`);
    }
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** Like keyValues, with numeric values (metrics). */
export function numericKeyValues(pairs: string[] | undefined, flag: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(keyValues(pairs, flag))) {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n)) {
      throw MlopsError.of(`--${flag} ${k}`, "is not a finite number", v, `Write --${flag} ${k}=0.93.`);
    }
    out[k] = n;
  }
  return out;
}

/** A non-negative integer flag, or the default. */
export function intFlag(value: string | undefined, flag: string, fallback: number, min = 0, max = 2 ** 31): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw MlopsError.of(`--${flag}`, `must be a whole number from ${min} to ${max}`, value, `Pass e.g. --${flag} ${fallback}.`);
  }
  return n;
}

export function numberFlag(value: string | undefined, flag: string, fallback: number, min = 0, max = Infinity): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    throw MlopsError.of(`--${flag}`, `must be a number from ${min} to ${max}`, value, `Pass e.g. --${flag} ${fallback}.`);
  }
  return n;
}

/** Exactly `n` positionals, else an error with the usage line. */
export function positionals(list: string[], names: string[], usage: string): string[] {
  if (list.length !== names.length) {
    const missing = names.slice(list.length);
    const what = missing.length > 0 ? `missing ${missing.map((m) => `<${m}>`).join(" ")}` : `unexpected argument ${JSON.stringify(list[names.length])}`;
    throw new MlopsError(`${what}\nusage: ${usage}`);
  }
  return list;
}
