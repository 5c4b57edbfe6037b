import { describe, expect, it } from "vitest";
import { createLogger } from "../../../src/log.js";
import { estimateSecondsLeft, formatDuration, parseProgressLine, ProgressReporter } from "../../../runtime/train/progress.js";

describe("parseProgressLine", () => {
  it("reads a JSON progress line", () => {
    expect(parseProgressLine('{"step": 3, "total": 30, "epoch": 1, "loss": 0.5}')).toEqual({ step: 3, total: 30, epoch: 1, loss: 0.5 });
  });

  it("reads an MLOPS_PROGRESS line", () => {
    expect(parseProgressLine("MLOPS_PROGRESS step=12 total=30")).toEqual({ step: 12, total: 30 });
  });

  it("ignores ordinary output", () => {
    expect(parseProgressLine("epoch 3 done")).toBeUndefined();
    expect(parseProgressLine('{"msg": "hello"}')).toBeUndefined();
    expect(parseProgressLine('{"step": "x"}')).toBeUndefined();
  });
});

describe("progress reporting", () => {
  it("estimates time left from the rate so far", () => {
    expect(estimateSecondsLeft({ step: 0, atMs: 0 }, { step: 10, atMs: 5000 }, 30)).toBe(10);
    expect(estimateSecondsLeft({ step: 0, atMs: 0 }, { step: 0, atMs: 0 }, 30)).toBeUndefined();
  });

  it("formats durations", () => {
    expect(formatDuration(5)).toBe("5s");
    expect(formatDuration(185)).toBe("3m05s");
    expect(formatDuration(3720)).toBe("1h02m");
  });

  it("draws step, epoch and time left on a terminal", () => {
    let out = "";
    const stream = { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WriteStream;
    let t = 0;
    const r = new ProgressReporter({ mode: "tty", logger: createLogger({ write: () => {} }), stream, now: () => t });
    r.update({ step: 0, total: 20 });
    t = 2000;
    r.update({ step: 10, total: 20, epoch: 2 });
    expect(out).toContain("step 10/20 · epoch 2 · 2s left");
  });

  it("logs JSON progress lines at most once per interval, and always the last", () => {
    const lines: string[] = [];
    let t = 0;
    const r = new ProgressReporter({ mode: "json", logger: createLogger({ json: true, write: (l) => lines.push(l) }), now: () => t, jsonIntervalMs: 1000 });
    for (let step = 1; step <= 10; step++) {
      t += 100;
      r.update({ step, total: 10 });
    }
    const steps = lines.map((l) => (JSON.parse(l) as { step: number }).step);
    expect(steps).toEqual([1, 10]);
  });
});
