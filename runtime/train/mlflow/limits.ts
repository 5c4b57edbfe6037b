/**
 * What one `mlops train` run's tracking server accepts from a client it does not control: how deeply a
 * request body may nest, how much of a value an error message echoes, which metric/param/tag names are
 * safe to treat as paths (MLflow's own rule), and how large the run record may grow (distinct metric keys,
 * points, params, tags). Past a record bound the request is answered 400 RESOURCE_LIMIT_EXCEEDED and
 * nothing of it is logged.
 */

/** Deepest nesting of arrays/objects in a request body; MLflow's requests nest 3 deep. */
export const MAX_JSON_DEPTH = 32;

/** The record's bounds, for all the MLflow runs a script opens together (one mlops run is one record). */
export const RECORD_LIMITS = { metricKeys: 1000, metricPoints: 100_000, params: 1000, tags: 1000, runs: 1000, experiments: 1000 } as const;

/** The deepest nesting in a JSON text, counted without parsing it (strings skipped); stops once past `max`. */
export function jsonDepthOver(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** A value as an error message shows it: JSON, at most 100 characters, never a throw (deep or cyclic values). */
export function shown(v: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = Array.isArray(v) ? "[…]" : typeof v === "object" && v !== null ? "{…}" : String(v);
  }
  return text.length > 100 ? `${text.slice(0, 100)}… (${text.length} characters)` : text;
}

/**
 * Why a name would not stay itself as a file path (MLflow: "names may be treated as files in certain
 * cases, and must not resolve to other names when treated as such"): a leading or trailing "/", an empty,
 * "." or ".." segment. Undefined when the name is fine.
 */
export function pathProblem(name: string): string | undefined {
  if (name.startsWith("/")) return "it starts with /";
  if (name.endsWith("/")) return "it ends with /";
  const bad = name.split("/").find((p) => p === "" || p === "." || p === "..");
  return bad === undefined ? undefined : `it has a ${bad === "" ? "empty" : JSON.stringify(bad)} path segment`;
}

/** The 400 a client gets past a record bound. */
export function limitMessage(what: string, limit: number, got: number): string {
  return `A run can hold at most ${limit} ${what}; this request would make it ${got}. Log fewer (e.g. a metric every N steps), or split the work into several mlops train runs.`;
}
