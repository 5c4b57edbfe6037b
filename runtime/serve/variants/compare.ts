/**
 * Comparing a shadow's answer with stable's: both OIP JSON answers (inflated when the client asked for a
 * compressed one), output by output, element by element, within a small tolerance (two builds of one
 * model differ in the last bits of a float). Binary answers are not compared (`skipped`).
 */
import { promisify } from "node:util";
import * as zlib from "node:zlib";
import type { Reply } from "../routes/reply.js";
import type { ShadowResult } from "./metrics.js";

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);

/** Absolute and relative tolerance for two numbers to agree. */
export const AGREE_ABS = 1e-6;
export const AGREE_REL = 1e-4;

export interface Comparison {
  readonly result: ShadowResult;
  /** What differs, for the log: the first output that did. */
  readonly detail?: string;
  readonly stable?: unknown;
  readonly shadow?: unknown;
}

async function json(reply: Reply): Promise<{ outputs?: { name: string; data: unknown[] }[] } | undefined> {
  const type = reply.headers?.["content-type"];
  if (type !== undefined && !type.startsWith("application/json")) return undefined;
  let body = typeof reply.body === "string" ? Buffer.from(reply.body) : reply.body;
  const enc = reply.headers?.["content-encoding"];
  if (enc === "gzip") body = await gunzip(body);
  else if (enc === "deflate") body = await inflate(body);
  else if (enc !== undefined) return undefined;
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
}

function same(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number") return Math.abs(a - b) <= AGREE_ABS + AGREE_REL * Math.abs(a);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  return a === b;
}

/** Judges one mirrored request: stable's reply (what the client got) against the shadow's (discarded). */
export async function compareReplies(stable: Reply, shadow: Reply): Promise<Comparison> {
  if (stable.status >= 300) return { result: "skipped", detail: `stable answered ${stable.status}` };
  if (shadow.status >= 300) return { result: "shadow_error", detail: `shadow answered ${shadow.status}`, shadow: clip(shadow.body) };
  const [a, b] = await Promise.all([json(stable), json(shadow)]);
  if (!a?.outputs || !b?.outputs) return { result: "skipped", detail: "an answer is not JSON with outputs" };
  for (const out of a.outputs) {
    const other = b.outputs.find((o) => o.name === out.name);
    if (!other) return { result: "disagree", detail: `the shadow has no output ${out.name}`, stable: clip(out.data), shadow: clip(b.outputs.map((o) => o.name)) };
    if (!same(out.data, other.data)) return { result: "disagree", detail: `output ${out.name} differs`, stable: clip(out.data), shadow: clip(other.data) };
  }
  return { result: "agree" };
}

/** At most 1 KB of a value, for a log line. */
function clip(v: unknown): string {
  const s = typeof v === "string" ? v : Buffer.isBuffer(v) ? v.toString("utf8") : JSON.stringify(v);
  return s.length > 1024 ? `${s.slice(0, 1021)}...` : s;
}
