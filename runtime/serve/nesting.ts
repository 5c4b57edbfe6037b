/**
 * A bound on nesting before JSON.parse sees a body. JSON.parse builds every array and object it reads, so
 * a few megabytes of `[[[[…` (in `data`, in `parameters`, anywhere) would become millions of nested JS
 * arrays, gigabytes of heap, before any check could refuse them. One pass over the bytes, aware of
 * strings (brackets inside them do not count), finds the depth first and refuses what is too deep.
 */
import type { Buffer } from "node:buffer";
import { MAX_DEPTH } from "./scan-numbers.js";
import { BadRequest } from "./tensor.js";

/**
 * Deepest nesting of arrays and objects a request body may have. The request's own structure takes
 * three levels (`{"inputs":[{"data":` …) and `data` itself as many as its shape has dimensions: this
 * leaves room for tensors of MAX_DEPTH dimensions, far beyond any model's.
 */
export const MAX_BODY_NESTING = MAX_DEPTH + 4;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Throws BadRequest when `body` nests arrays and objects deeper than {@link MAX_BODY_NESTING}. */
export function assertNesting(body: Buffer): void {
  const depth = nestingDepth(body, MAX_BODY_NESTING);
  if (depth > MAX_BODY_NESTING) {
    throw new BadRequest(
      `request body nests arrays or objects more than ${MAX_BODY_NESTING} levels deep; an OIP request needs a few levels plus one per tensor dimension: send "data" flat or nested as its shape`,
    );
  }
}

/**
 * The deepest nesting of `[` and `{` in `body`, counting no brackets inside strings; stops counting once
 * past `limit` (returns limit + 1). Unbalanced or invalid JSON is JSON.parse's to report.
 */
export function nestingDepth(body: Buffer, limit: number): number {
  let depth = 0;
  let deepest = 0;
  const n = body.length;
  for (let i = 0; i < n; i++) {
    const c = body[i]!;
    if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    } else if (c === QUOTE) {
      // Skip the string: to the next quote not escaped by a backslash.
      for (i++; i < n; i++) {
        const s = body[i]!;
        if (s === BACKSLASH) i++;
        else if (s === QUOTE) break;
      }
    }
  }
  return deepest;
}
