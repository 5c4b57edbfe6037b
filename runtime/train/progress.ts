import type { Logger } from "../../src/log.js";

/** One progress report from a trainer. */
export interface Progress {
  readonly step: number;
  readonly total?: number;
  readonly epoch?: number;
  readonly loss?: number;
}

/** How progress is shown: a redrawn terminal line, JSON log lines, or not at all. */
export type ProgressMode = "tty" | "json" | "none";

const KV_LINE = /^\s*MLOPS_PROGRESS\b(.*)$/;

/**
 * Reads a progress report out of one line of trainer output, or `undefined` when it is not one.
 * Two forms: a JSON object with a numeric `step` (`{"step": 3, "total": 30, "epoch": 1}`), and
 * `MLOPS_PROGRESS step=3 total=30 epoch=1` for programs that would rather not print JSON.
 */
export function parseProgressLine(line: string): Progress | undefined {
  const trimmed = line.trim();
  let fields: Record<string, unknown> | undefined;
  if (trimmed.startsWith("{") && trimmed.includes('"step"')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) fields = parsed as Record<string, unknown>;
    } catch {
      return undefined;
    }
  } else {
    const m = KV_LINE.exec(trimmed);
    if (!m) return undefined;
    fields = {};
    for (const pair of m[1]!.trim().split(/\s+/)) {
      const eq = pair.indexOf("=");
      if (eq > 0) fields[pair.slice(0, eq)] = Number(pair.slice(eq + 1));
    }
  }
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
  const step = num(fields?.step);
  if (step === undefined) return undefined;
  const out: { step: number; total?: number; epoch?: number; loss?: number } = { step };
  const total = num(fields?.total);
  const epoch = num(fields?.epoch);
  const loss = num(fields?.loss);
  if (total !== undefined) out.total = total;
  if (epoch !== undefined) out.epoch = epoch;
  if (loss !== undefined) out.loss = loss;
  return out;
}

/** Seconds left at the rate seen so far, or undefined when it cannot be told yet. */
export function estimateSecondsLeft(
  first: { step: number; atMs: number },
  now: { step: number; atMs: number },
  total: number | undefined,
): number | undefined {
  if (total === undefined || now.step <= first.step || now.atMs <= first.atMs) return undefined;
  const perStep = (now.atMs - first.atMs) / (now.step - first.step);
  return Math.max(0, ((total - now.step) * perStep) / 1000);
}

/** `1h02m`, `3m05s`, `12s`. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

export interface ProgressReporterOptions {
  readonly mode: ProgressMode;
  readonly logger: Logger;
  /** Where the terminal line is drawn. @default process.stderr */
  readonly stream?: NodeJS.WriteStream;
  /** Least time between two JSON progress lines. @default 1000 */
  readonly jsonIntervalMs?: number;
  readonly now?: () => number;
}

/**
 * Shows training progress: on a terminal one line redrawn in place (`step 12/30 · epoch 2 · 4s left`);
 * otherwise a JSON log line (`msg: "progress"`) at most once per `jsonIntervalMs`, and always the last.
 */
export class ProgressReporter {
  private first?: { step: number; atMs: number };
  private lastJsonAt = -Infinity;
  private drawn = false;

  constructor(private readonly opts: ProgressReporterOptions) {}

  /** The first step reported: where a resumed trainer started. */
  get firstStep(): number | undefined {
    return this.first?.step;
  }

  update(p: Progress): void {
    const now = (this.opts.now ?? Date.now)();
    this.first ??= { step: p.step, atMs: now };
    const left = estimateSecondsLeft(this.first, { step: p.step, atMs: now }, p.total);
    if (this.opts.mode === "tty") {
      const parts = [`step ${p.step}${p.total !== undefined ? `/${p.total}` : ""}`];
      if (p.epoch !== undefined) parts.push(`epoch ${p.epoch}`);
      if (p.loss !== undefined) parts.push(`loss ${p.loss.toPrecision(4)}`);
      if (left !== undefined) parts.push(`${formatDuration(left)} left`);
      (this.opts.stream ?? process.stderr).write(`\r\x1b[2K${parts.join(" · ")}`);
      this.drawn = true;
    } else if (this.opts.mode === "json") {
      const final = p.total !== undefined && p.step >= p.total;
      if (!final && now - this.lastJsonAt < (this.opts.jsonIntervalMs ?? 1000)) return;
      this.lastJsonAt = now;
      this.opts.logger.info("progress", {
        ...p,
        ...(left !== undefined ? { secondsLeft: Math.round(left) } : {}),
      });
    }
  }

  /** Ends the terminal line so later log lines start on their own. */
  done(): void {
    if (this.drawn) (this.opts.stream ?? process.stderr).write("\n");
    this.drawn = false;
  }
}

/** `tty` when stderr is a terminal, JSON lines otherwise. */
export function defaultProgressMode(): ProgressMode {
  return process.stderr.isTTY ? "tty" : "json";
}
