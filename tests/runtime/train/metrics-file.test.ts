/** The JSON-lines metrics file of a command trainer: metric and param lines, bad lines named by number. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseMetricsLines, readMetricsFile } from "../../../runtime/train/metrics-file.js";

describe("the metrics file", () => {
  it("reads metric points (step and timestamp optional) and params of any scalar type", () => {
    const r = parseMetricsLines(
      ['{"metric": "loss", "value": 0.3, "step": 1, "timestamp": 1700000000000}', "", '{"metric": "loss", "value": 0.2}', '{"param": "lr", "value": 0.01}', '{"param": "amp", "value": true}'].join("\n"),
      1,
    );
    expect(r.problems).toEqual([]);
    expect(r.metrics).toEqual([
      { key: "loss", value: 0.3, step: 1, timestamp: 1700000000000 },
      { key: "loss", value: 0.2, timestamp: expect.any(Number) },
    ]);
    expect(r.params).toEqual([{ key: "lr", value: "0.01" }, { key: "amp", value: "true" }]);
  });

  it("names every bad line by its number in the file, with what is wrong", () => {
    const lines = ["[1, 2]", '{"metric": "loss"}', '{"metric": "loss", "value": 1, "step": 1.5}', '{"param": "x", "value": {"a": 1}}', '{"value": 3}', '{"metric": "loss", "value": 1, "timestamp": "now"}'];
    const r = parseMetricsLines(lines.join("\n"), 41);
    expect(r.metrics).toEqual([]);
    expect(r.problems.map((p) => p.slice(0, p.indexOf(";")))).toEqual([
      "line 41: is not a JSON object",
      'line 42: metric "loss" needs a finite number "value"',
      'line 43: "step" must be a whole number ≥ 0',
      'line 44: param "x" needs a string, number or boolean "value"',
      'line 45: is neither {"metric": <name>, "value": <number>, "step": <n>} nor {"param": <name>, "value": <value>}',
      'line 46: "timestamp" must be milliseconds since the epoch',
    ]);
    expect(r.problems[0]).toBe('line 41: is not a JSON object; received "[1, 2]"');
  });

  it("a file that does not exist (the trainer wrote none) is empty", async () => {
    expect(await readMetricsFile(join("/nonexistent", "metrics.jsonl"))).toEqual({ metrics: [], params: [], problems: [] });
  });
});
