import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MlopsError } from "../../../src/errors.js";
import { datasetFormat, loadDataset, sha256File } from "../../../runtime/train/dataset.js";
import { dataDir, specIn, writeClassificationCsv } from "./helpers.js";

const builtin = { builtin: "logistic-regression" as const };

describe("loadDataset", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await dataDir({ rows: 500 })));
  afterEach(() => cleanup());

  it("uses every column but the label and the excluded ones as features by default", async () => {
    const data = await loadDataset(specIn(dir, { trainer: builtin }), { dir: join(dir, "stage"), stage: false });
    expect(data.features).toEqual(["x1", "x2", "x3", "x4"]);
    expect(data.train.n + data.holdout.n).toBe(500);
    expect(data.holdout.n).toBe(100);
  });

  it("reads the feature values row-major in file order", async () => {
    const data = await loadDataset(specIn(dir, { trainer: builtin, split: { holdoutFraction: 0.5, seed: 1 } }), { dir: join(dir, "stage"), stage: false });
    const lines = (await readFile(join(dir, "data.csv"), "utf8")).trim().split("\n").slice(1).map((l) => l.split(",").map(Number));
    const all = [...Array.from({ length: data.train.n }, (_, i) => data.train.X[i * 4]!), ...Array.from({ length: data.holdout.n }, (_, i) => data.holdout.X[i * 4]!)];
    expect(all.sort()).toEqual(lines.map((l) => l[1]!).sort());
  });

  it("records the sha256 of the file bytes", async () => {
    const data = await loadDataset(specIn(dir, { trainer: builtin }), { dir: join(dir, "stage"), stage: false });
    expect(data.digest).toBe(await sha256File(join(dir, "data.csv")));
    expect(data.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("stages train and holdout as Parquet and CSV next to the original", async () => {
    const data = await loadDataset(specIn(dir, { trainer: builtin }), { dir: join(dir, "stage"), stage: true });
    expect((await readdir(join(dir, "stage"))).sort()).toEqual(["data.csv", "holdout.csv", "holdout.parquet", "train.csv", "train.parquet"]);
    const holdoutCsv = (await readFile(data.staged!.holdoutCsv, "utf8")).trim().split("\n");
    expect(holdoutCsv[0]).toBe("id,x1,x2,x3,x4,label");
    expect(holdoutCsv.length - 1).toBe(data.holdout.n);
    // The staged holdout is the rows the runtime scores on, in the same order.
    expect(Number(holdoutCsv[1]!.split(",")[1])).toBeCloseTo(data.holdout.X[0]!, 6);
  });

  it("reads Parquet", async () => {
    const db = await DuckDBInstance.create(":memory:");
    const conn = await db.connect();
    await conn.run(`COPY (SELECT * FROM read_csv_auto('${join(dir, "data.csv")}')) TO '${join(dir, "data.parquet")}' (FORMAT parquet)`);
    conn.closeSync();
    db.closeSync();
    const spec = specIn(dir, { trainer: builtin, dataset: { uri: `file://${join(dir, "data.parquet")}`, label: "label", exclude: ["id"] } });
    const data = await loadDataset(spec, { dir: join(dir, "stage"), stage: false });
    expect(data.format).toBe("parquet");
    expect(data.train.n).toBe(400);
  });

  it("tells the format from the extension", () => {
    expect(datasetFormat("s3://b/k/data.parquet")).toBe("parquet");
    expect(datasetFormat("file:///x/data.csv.gz")).toBe("csv");
    expect(datasetFormat("file:///x/data", "csv")).toBe("csv");
  });

  it("fails when the format cannot be told", () => {
    expect(() => datasetFormat("file:///x/data.bin")).toThrow(/dataset.format/);
  });

  it("fails when the label column does not exist, naming it", async () => {
    const spec = specIn(dir, { trainer: builtin, dataset: { uri: `file://${join(dir, "data.csv")}`, label: "is_fraud", exclude: ["id"] } });
    const err = await loadDataset(spec, { dir: join(dir, "stage"), stage: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlopsError);
    expect((err as Error).message).toMatch(/dataset.label: no column named "is_fraud"; the file has id, x1, x2, x3, x4, label/);
  });

  it("fails when a feature is not numeric, naming the column and its type", async () => {
    await writeClassificationCsv(join(dir, "data.csv"), { rows: 100, text: true });
    const err = await loadDataset(specIn(dir, { trainer: builtin }), { dir: join(dir, "stage"), stage: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlopsError);
    expect((err as Error).message).toMatch(/feature column "segment" is VARCHAR, not numeric.*dataset.exclude/);
  });

  it("fails when a classification label is not 0/1", async () => {
    const spec = specIn(dir, { trainer: builtin, dataset: { uri: `file://${join(dir, "data.csv")}`, label: "x1", exclude: ["id", "label"] } });
    await expect(loadDataset(spec, { dir: join(dir, "stage"), stage: false })).rejects.toThrow(/must hold 0 and 1 for classification/);
  });

  it("fails when the file is empty, saying so", async () => {
    await writeFile(join(dir, "data.csv"), "");
    await expect(loadDataset(specIn(dir, { trainer: builtin }), { dir: join(dir, "stage"), stage: false })).rejects.toThrow(/dataset\.uri: has no data rows/);
  });

  it("fails when the file has a header and no rows, saying so rather than calling every column text", async () => {
    await writeFile(join(dir, "data.csv"), "id,x1,label\n");
    const err = await loadDataset(specIn(dir, { trainer: builtin }), { dir: join(dir, "stage"), stage: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlopsError);
    expect((err as Error).message).toMatch(/dataset\.uri: has no data rows/);
    expect((err as Error).message).not.toMatch(/VARCHAR/);
  });

  it("fails when a value is NaN, naming the file's line and the column", async () => {
    const rows = ["id,x1,x2,label", ...Array.from({ length: 20 }, (_, i) => `${i},${i},${i === 6 ? "NaN" : i * 2},${i % 2}`)];
    await writeFile(join(dir, "data.csv"), rows.join("\n") + "\n");
    await expect(loadDataset(specIn(dir, { trainer: builtin }), { dir: join(dir, "stage"), stage: false })).rejects.toThrow(
      /dataset column "x2": is not a finite number at line 8 of file:\/\/.*data\.csv; received NaN/,
    );
  });

  it("fails when there are too few rows for the split, saying how many each side gets", async () => {
    await writeFile(join(dir, "data.csv"), "id,x1,label\n1,1,0\n2,2,1\n");
    await expect(loadDataset(specIn(dir, { trainer: builtin }), { dir: join(dir, "stage"), stage: false })).rejects.toThrow(
      /has 2 rows: split\.holdoutFraction 0\.2 leaves 1 for training and 1 for the holdout, and training needs at least 2/,
    );
  });

  it("fails when the dataset file does not exist", async () => {
    const spec = specIn(dir, { trainer: builtin, dataset: { uri: `file://${join(dir, "nope.csv")}`, label: "label" } });
    await expect(loadDataset(spec, { dir: join(dir, "stage"), stage: false })).rejects.toThrow(/dataset.uri: does not exist/);
  });
});
