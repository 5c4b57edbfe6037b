/**
 * The JSON-lines metrics file a command trainer may append to (`$MLOPS_METRICS_FILE`): one metric point
 * or one param per line; read as it grows (complete lines only) and once more when the trainer is done.
 */
import { open, readFile, type FileHandle } from "node:fs/promises";
import { show } from "../../src/errors.js";

/** The variable naming the file. */
export const METRICS_FILE_ENV = "MLOPS_METRICS_FILE";

export interface MetricsFileContent {
  readonly metrics: { key: string; value: number; step?: number; timestamp: number }[];
  readonly params: { key: string; value: string }[];
  /** `line N: <what is wrong>; received <the line>`, one per bad line. */
  readonly problems: string[];
}

/**
 * Reads a trainer's JSON-lines metrics file: `{"metric": "loss", "value": 0.3, "step": 1}` (step and
 * `timestamp` in ms optional) or `{"param": "lr", "value": "0.01"}` per line; blank lines are skipped,
 * bad ones named by line number. A missing file is empty.
 */
export async function readMetricsFile(path: string): Promise<MetricsFileContent> {
  const text = await readFile(path, "utf8").catch(() => "");
  return parseMetricsLines(text, 1);
}

/** {@link readMetricsFile} on a piece of the file whose first line is line `firstLine`. */
export function parseMetricsLines(text: string, firstLine: number): MetricsFileContent {
  const out: MetricsFileContent = { metrics: [], params: [], problems: [] };
  const now = Date.now();
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "") return;
    const bad = (what: string) => out.problems.push(`line ${firstLine + i}: ${what}; received ${show(line)}`);
    let o: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(line);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return bad("is not a JSON object");
      o = parsed as Record<string, unknown>;
    } catch {
      return bad("is not JSON");
    }
    if (typeof o.metric === "string" && o.metric !== "") {
      if (typeof o.value !== "number" || !Number.isFinite(o.value)) return bad(`metric "${o.metric}" needs a finite number "value"`);
      if (o.step !== undefined && (typeof o.step !== "number" || !Number.isInteger(o.step) || o.step < 0)) return bad(`"step" must be a whole number ≥ 0`);
      if (o.timestamp !== undefined && (typeof o.timestamp !== "number" || !Number.isFinite(o.timestamp))) return bad(`"timestamp" must be milliseconds since the epoch`);
      out.metrics.push({ key: o.metric, value: o.value, ...(o.step !== undefined ? { step: o.step as number } : {}), timestamp: (o.timestamp as number | undefined) ?? now });
    } else if (typeof o.param === "string" && o.param !== "") {
      if (!["string", "number", "boolean"].includes(typeof o.value)) return bad(`param "${o.param}" needs a string, number or boolean "value"`);
      out.params.push({ key: o.param, value: String(o.value) });
    } else {
      bad('is neither {"metric": <name>, "value": <number>, "step": <n>} nor {"param": <name>, "value": <value>}');
    }
  });
  return out;
}

/** The bytes of `path` from byte `offset` on; undefined when the file does not exist (yet). */
export async function readFrom(path: string, offset: number): Promise<Buffer | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch {
    return undefined;
  }
  try {
    const size = (await handle.stat()).size;
    if (size <= offset) return Buffer.alloc(0);
    const buffer = Buffer.alloc(size - offset);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

