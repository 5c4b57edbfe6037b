/** Small PromQL writing helpers: label matchers quoted as PromQL strings, numbers without float noise. */

/** A label value as a PromQL string literal (double-quoted, backslashes and quotes escaped). */
export function quote(value: string): string {
  return JSON.stringify(value);
}

/** `{a="x", b=~"y"}` from `{ a: "x", b: /y/ }`-like pairs; `=~` for RegExp sources given as `{ re: "..." }`. */
export function selector(labels: Readonly<Record<string, string | { readonly re: string } | { readonly not: string }>>): string {
  const parts = Object.entries(labels).map(([k, v]) => {
    if (typeof v === "string") return `${k}=${quote(v)}`;
    if ("re" in v) return `${k}=~${quote(v.re)}`;
    return `${k}!=${quote(v.not)}`;
  });
  return `{${parts.join(", ")}}`;
}

/** A number as PromQL reads it, rounded to 12 significant digits (14.4 × 0.001 is 0.0144, not 0.014400000000000001). */
export function num(x: number): string {
  return String(Number(x.toPrecision(12)));
}

/** A regex alternative matching exactly the given values (each escaped). */
export function anyOf(values: readonly string[]): string {
  return values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
}

/**
 * The `le` matcher for a bucket bound. Prometheus 3 normalizes classic-histogram bounds to floats on
 * ingestion (`le="1"` becomes `le="1.0"`), Prometheus 2 keeps the exposition's text (prom-client writes `1`):
 * whole numbers match either form.
 */
export function leMatcher(bound: number): { readonly re: string } | string {
  const text = num(bound);
  return Number.isInteger(bound) ? { re: `${text}(\\.0)?` } : text;
}

/** Seconds in a Prometheus duration made of whole units (`90s`, `5m`, `1h30m`, `3d`, `1w`). */
export function promDurationSeconds(d: string): number {
  const unit: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  let total = 0;
  const re = /([0-9]+)(ms|s|m|h|d|w|y)/g;
  let consumed = 0;
  for (const m of d.matchAll(re)) {
    total += Number(m[1]) * unit[m[2]!]!;
    consumed += m[0].length;
  }
  if (consumed !== d.length || d.length === 0) throw new Error(`not a Prometheus duration: ${d}`);
  return total;
}

/** A PromQL duration pattern: whole numbers and units, largest first (`1h30m`, `5m`, `3d`). */
export const PROM_DURATION = /^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$/;
