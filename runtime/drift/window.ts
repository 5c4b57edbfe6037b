/**
 * The time window of payload logs a drift run reads: `--since <duration>` back from now (`90s`, `15m`,
 * `1h`, `1h30m`, `2d`), or from an ISO 8601 time; `--until` likewise, default now.
 */
import { MlopsError } from "../../src/errors.js";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;

/** Milliseconds of a duration such as `1h30m`; undefined when `text` is not one. */
export function durationMs(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms > 0 ? ms : undefined;
}

export interface Window {
  readonly since: Date;
  readonly until: Date;
  /** As the user gave it, for messages: `--since 1h` or `--since 2026-05-01T12:00:00Z`. */
  readonly label: string;
}

/** The window `[since, until)`: each a duration before `now` or an ISO 8601 time; `until` defaults to now. */
export function parseWindow(since: string, until: string | undefined, now: Date = new Date()): Window {
  const at = (text: string, flag: string): Date => {
    const ms = durationMs(text);
    if (ms !== undefined) return new Date(now.getTime() - ms);
    const t = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : NaN;
    if (Number.isFinite(t)) return new Date(t);
    throw MlopsError.of(flag, "is neither a duration nor a time", text, 'Give a duration back from now such as "90s", "15m", "1h" or "1h30m", or an ISO 8601 time such as "2026-05-01T12:00:00Z".');
  };
  const s = at(since, "--since");
  const u = until === undefined ? now : at(until, "--until");
  if (s.getTime() >= u.getTime()) {
    throw MlopsError.of("--since", `is not before --until (${u.toISOString()})`, since, "Give a window that ends after it starts.");
  }
  return { since: s, until: u, label: `--since ${since}${until !== undefined ? ` --until ${until}` : ""}` };
}
