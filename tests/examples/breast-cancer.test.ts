import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";

const dir = fileURLToPath(new URL("../../examples/breast-cancer/", import.meta.url));

interface ModelJson {
  features: string[];
  onnx: { input: string; output: string };
  expected: { rows: number[][]; labels: number[]; probability: number[] };
  probability_all_rows: number[];
}

const info = JSON.parse(readFileSync(`${dir}model.json`, "utf8")) as ModelJson;

function readCsv(): { header: string[]; rows: number[][] } {
  const lines = readFileSync(`${dir}data.csv`, "utf8").trimEnd().split("\n");
  const header = lines[0]!.split(",");
  return { header, rows: lines.slice(1).map((l) => l.split(",").map(Number)) };
}

async function predict(rows: number[][]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(`${dir}model.onnx`);
  try {
    const width = rows[0]!.length;
    const input = new ort.Tensor("float32", Float32Array.from(rows.flat()), [rows.length, width]);
    const out = await session.run({ [info.onnx.input]: input });
    return out[info.onnx.output]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

describe("examples/breast-cancer", () => {
  it("has 569 rows of 30 features and a 0/1 label with 212 malignant", () => {
    const { header, rows } = readCsv();
    expect(header).toEqual([...info.features, "label"]);
    expect(header).toHaveLength(31);
    expect(rows).toHaveLength(569);
    expect(rows.every((r) => r.length === 31 && r.every(Number.isFinite))).toBe(true);
    expect(rows.filter((r) => r[30] === 1)).toHaveLength(212);
  });

  it("describes its input and output in the ONNX graph", async () => {
    const session = await ort.InferenceSession.create(`${dir}model.onnx`);
    try {
      expect(session.inputNames).toEqual(["input"]);
      expect(session.outputNames).toEqual(["probability"]);
    } finally {
      await session.release();
    }
  });

  it("gives scikit-learn's probabilities on the first rows within 1e-5", async () => {
    const got = await predict(info.expected.rows);
    expect(got).toHaveLength(info.expected.probability.length);
    info.expected.probability.forEach((p, i) => expect(Math.abs(got[i]! - p)).toBeLessThan(1e-5));
  });

  it("gives scikit-learn's probabilities on every row of data.csv within 1e-5", async () => {
    const rows = readCsv().rows.map((r) => r.slice(0, 30));
    const got = await predict(rows);
    const worst = info.probability_all_rows.reduce((m, p, i) => Math.max(m, Math.abs(got[i]! - p)), 0);
    expect(got).toHaveLength(569);
    expect(worst).toBeLessThan(1e-5);
  });

  it("separates the classes (probability > 0.5 matches the label on at least 95% of rows)", async () => {
    const { rows } = readCsv();
    const got = await predict(rows.map((r) => r.slice(0, 30)));
    const correct = rows.filter((r, i) => (got[i]! > 0.5 ? 1 : 0) === r[30]).length;
    expect(correct / rows.length).toBeGreaterThan(0.95);
  });
});
