/**
 * readPayloadLogs on records written by hand: this project's, and SageMaker Data Capture's own encodings
 * (CSV, base64), the time range and the partitions it skips, column names, and what it skips and why.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { onnxFeatureNames, readPayloadLogs } from "../../../runtime/serve/payload-reader.js";
import { batchKey, recordLine } from "../../../runtime/serve/payload-record.js";
import { buildOnnxModel } from "../../../src/onnx/build.js";
import { FileStore, type ObjectStore } from "../../../src/store/index.js";

let dir: string;
let store: FileStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-payload-read-"));
  store = new FileStore(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const oip = (data: unknown, shape: number[], extra: object = {}) => JSON.stringify({ inputs: [{ name: "x", datatype: "FP32", shape, data }], ...extra });
const event = (input: string, requestId?: string) => ({ model: "fraud", version: "2", requestId, input, output: "{}" });
const at = (h: number, m = 0) => Date.UTC(2026, 5, 1, h, m);

/** Writes one object of records at `time` (the key's partition) from the lines given. */
async function write(time: number, lines: string[], model = "fraud"): Promise<string> {
  const key = batchKey(model, "ep", "primary", time);
  await store.put(key, lines.join("\n") + "\n");
  return key;
}

/** A Data Capture record as SageMaker writes one (no project fields), with the input as given. */
const sagemaker = (data: string, encoding: string, observedContentType: string, time: number) =>
  JSON.stringify({
    captureData: { endpointInput: { observedContentType, mode: "INPUT", data, encoding }, endpointOutput: { observedContentType: "text/csv", mode: "OUTPUT", data: "0.5", encoding: "CSV" } },
    eventMetadata: { eventId: `e-${time}`, inferenceTime: new Date(time).toISOString() },
    eventVersion: "0",
  });

describe("readPayloadLogs", () => {
  it("gives one row per tensor row, flat or nested data, with f0..fd-1 columns and per-row ids, times and versions", async () => {
    await write(at(9), [recordLine(event(oip([1, 2, 3, 4], [2, 2]), "a"), at(9, 1), "ep", "primary"), recordLine(event(oip([[5, 6]], [1, 2])), at(9, 2), "ep", "primary")]);
    const t = await readPayloadLogs(store.uri);
    expect(t.columns).toEqual(["f0", "f1"]);
    expect(t.rows).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(t.inferenceIds.slice(0, 2)).toEqual(["a", "a"]);
    expect(t.inferenceIds[2]).toMatch(/^[0-9a-f-]{36}$/);
    expect(t.times[0]).toBe("2026-06-01T09:01:00.000Z");
    expect(t.modelVersions).toEqual(["2", "2", "2"]);
    expect(t.columnArrays()).toEqual({ f0: new Float64Array([1, 3, 5]), f1: new Float64Array([2, 4, 6]) });
  });

  it("reads SageMaker Data Capture's CSV and base64-encoded JSON records", async () => {
    await write(at(9), [
      sagemaker("1,2\n3,4", "CSV", "text/csv", at(9, 1)),
      sagemaker(Buffer.from(oip([5, 6], [1, 2])).toString("base64"), "BASE64", "application/json", at(9, 2)),
      sagemaker(Buffer.from("7,8").toString("base64"), "BASE64", "text/csv", at(9, 3)),
    ]);
    const t = await readPayloadLogs(store.uri);
    expect(t.rows).toEqual([[1, 2], [3, 4], [5, 6], [7, 8]]);
    expect(t.inferenceIds).toEqual([`e-${at(9, 1)}`, `e-${at(9, 1)}`, `e-${at(9, 2)}`, `e-${at(9, 3)}`]);
  });

  it("reads [since, until) only, and does not open the objects of hours outside it", async () => {
    await write(at(8), [recordLine(event(oip([1], [1, 1])), at(8, 59), "ep", "primary")]);
    await write(at(9), [recordLine(event(oip([2], [1, 1])), at(9, 10), "ep", "primary"), recordLine(event(oip([3], [1, 1])), at(9, 50), "ep", "primary")]);
    await write(at(10), [recordLine(event(oip([4], [1, 1])), at(10, 0), "ep", "primary")]);
    const opened: string[] = [];
    const counting = { uri: store.uri, list: (p: string) => store.list(p), get: (k: string) => (opened.push(k), store.get(k)) } as unknown as ObjectStore;
    const t = await readPayloadLogs(store.uri, { since: new Date(at(9, 5)), until: at(10, 0), store: counting });
    expect(t.rows).toEqual([[2], [3]]);
    expect(t.records).toBe(2);
    expect(opened.map((k) => k.split("/").slice(3, 7).join("/"))).toEqual(["2026/06/01/09"]);
  });

  it("names the columns as given (the model's own feature names, from its ONNX metadata)", async () => {
    const onnx = buildOnnxModel({
      graphName: "id",
      inputs: [{ name: "x", elemType: "float", shape: ["n", 2] }],
      outputs: [{ name: "y", elemType: "float", shape: ["n", 2] }],
      nodes: [{ opType: "Identity", inputs: ["x"], outputs: ["y"] }],
      metadata: { "mlops.features": JSON.stringify(["amount", "age"]) },
    });
    const columns = onnxFeatureNames(onnx);
    expect(columns).toEqual(["amount", "age"]);
    await write(at(9), [recordLine(event(oip([1, 2], [1, 2])), at(9, 1), "ep", "primary")]);
    const t = await readPayloadLogs(store.uri, { columns });
    expect(t.columnArrays()).toEqual({ amount: new Float64Array([1]), age: new Float64Array([2]) });
  });

  it("reads the input named by `input` among several, and only the model asked for", async () => {
    const two = JSON.stringify({ inputs: [{ name: "ids", datatype: "INT64", shape: [1], data: [7] }, { name: "x", datatype: "FP32", shape: [1, 2], data: [1.5, 2.5] }] });
    await write(at(9), [recordLine(event(two), at(9, 1), "ep", "primary")]);
    await write(at(9), [recordLine({ ...event(oip([9, 9], [1, 2])), model: "other" }, at(9, 2), "ep", "primary")], "other");
    expect((await readPayloadLogs(store.uri, { model: "fraud", input: "x" })).rows).toEqual([[1.5, 2.5]]);
    expect((await readPayloadLogs(store.uri, { model: "fraud" })).rows).toEqual([[7]]);
    expect((await readPayloadLogs(store.uri, { model: "other" })).rows).toEqual([[9, 9]]);
  });

  it("skips and counts what is no table row: unreadable lines, strings, higher ranks, another width, a missing input", async () => {
    await write(at(9), [
      recordLine(event(oip([1, 2], [1, 2])), at(9, 1), "ep", "primary"),
      "not json",
      recordLine(event(JSON.stringify({ inputs: [{ name: "x", datatype: "BYTES", shape: [1, 2], data: ["a", "b"] }] })), at(9, 2), "ep", "primary"),
      recordLine(event(oip([1, 2, 3, 4], [1, 2, 2])), at(9, 3), "ep", "primary"),
      recordLine(event(oip([1, 2, 3], [1, 3])), at(9, 4), "ep", "primary"),
      recordLine(event(oip([1, 2, 3], [2, 2])), at(9, 5), "ep", "primary"),
      recordLine(event(JSON.stringify({ inputs: [] })), at(9, 6), "ep", "primary"),
    ]);
    const t = await readPayloadLogs(store.uri);
    expect(t.rows).toEqual([[1, 2]]);
    expect(t.skipped).toEqual({ unreadable: 1, not_numeric: 1, shape: 2, width: 1, no_input: 1 });
    expect(t.records).toBe(6);
  });

  it("fails naming the option for a bad time range or name", async () => {
    await expect(readPayloadLogs(store.uri, { since: "yesterday" })).rejects.toThrow(/since: is not a time; received "yesterday"/);
    await expect(readPayloadLogs(store.uri, { since: at(10), until: at(9) })).rejects.toThrow(/since: is not before until/);
    await expect(readPayloadLogs(store.uri, { model: "../x" })).rejects.toThrow(/model: is not a name/);
  });
});
