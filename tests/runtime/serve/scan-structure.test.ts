import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelVersion } from "../../../src/registry/types.js";
import { LoadedModel } from "../../../runtime/serve/model.js";
import { parseInferRequest } from "../../../runtime/serve/protocol.js";
import { NESTED, scanInferBody } from "../../../runtime/serve/scan.js";
import { BadRequest } from "../../../runtime/serve/tensor.js";
import { fixture, rows } from "./helpers.js";

// What the fast scanner adds for the binary extension and the shape checks: `parameters` read on the
// fast path, and the structure of nested `data`, each agreeing with the JSON.parse path.

let logistic: LoadedModel;
beforeAll(async () => {
  logistic = await LoadedModel.load({ name: "logistic", version: 1, digest: "sha256:test" } as ModelVersion, await fixture("logistic"));
});
afterAll(() => logistic.retire());

function outcome(body: string | Buffer): unknown {
  try {
    const call = parseInferRequest(body, logistic);
    return { outputs: call.outputs, binaryOutput: call.binaryOutput, x: Array.from(call.feeds.x!.data as Float32Array) };
  } catch (e) {
    if (e instanceof BadRequest) return { status: e.status, error: e.message };
    throw e;
  }
}

/** Same outcome from the bytes (scanner first) and from the text (JSON.parse); returns whether the scanner took it. */
function agree(body: string): boolean {
  expect(outcome(Buffer.from(body))).toEqual(outcome(body));
  return scanInferBody(Buffer.from(body)) !== undefined;
}

const row = rows(1)[0]!;
const input = (data: unknown, shape = [1, 30], extra: Record<string, unknown> = {}) => ({ name: "x", datatype: "FP32", shape, data, ...extra });

describe("the scanner reads parameters", () => {
  it("takes binary_data_output and per-output binary_data on the fast path", () => {
    const body = JSON.stringify({
      parameters: { binary_data_output: true, other: { deep: [1, 2] }, s: "é" },
      inputs: [input(row, [1, 30], { parameters: { content_type: "np" } })],
      outputs: [{ name: "probability", parameters: { binary_data: false } }],
    });
    expect(agree(body)).toBe(true);
    expect(outcome(Buffer.from(body))).toMatchObject({ binaryOutput: true, outputs: [{ name: "probability", binary: false }] });
    expect(scanInferBody(Buffer.from(body))!.parameters).toEqual({ binary_data_output: true });
  });

  it("marks a parameter it reads that holds an array or object, and the check fails as JSON.parse's does", () => {
    const body = JSON.stringify({ parameters: { binary_data_output: [true] }, inputs: [input(row)] });
    expect(scanInferBody(Buffer.from(body))!.parameters!.binary_data_output).toBe(NESTED);
    agree(body);
    expect(outcome(body)).toMatchObject({ status: 400, error: expect.stringMatching(/binary_data_output must be true or false/) });
  });

  it("leaves a repeated parameter it reads to JSON.parse", () => {
    expect(agree(`{"parameters":{"binary_data_output":true,"binary_data_output":false},"inputs":[${JSON.stringify(input(row))}]}`)).toBe(false);
  });

  it("refuses the shared-memory and classification extensions with a 400", () => {
    agree(JSON.stringify({ inputs: [input(row, [1, 30], { parameters: { shared_memory_region: "r" } })] }));
    expect(outcome(JSON.stringify({ inputs: [input(row, [1, 30], { parameters: { shared_memory_region: "r" } })] }))).toMatchObject({ error: expect.stringMatching(/shared-memory extension/) });
    expect(outcome(JSON.stringify({ inputs: [input(row)], outputs: [{ name: "probability", parameters: { classification: 2 } }] }))).toMatchObject({
      error: expect.stringMatching(/classification extension/),
    });
  });
});

describe("the scanner sees the structure of nested data", () => {
  const dims = (data: string) => scanInferBody(Buffer.from(`{"inputs":[{"data":${data}}]}`))!.inputs![0]!.data!.dims;

  it("gives the lengths of a regular box", () => {
    expect(dims("[1,2,3]")).toEqual([3]);
    expect(dims("[[1,2,3],[4,5,6]]")).toEqual([2, 3]);
    expect(dims("[[[1],[2]],[[3],[4]]]")).toEqual([2, 2, 1]);
  });

  it("gives none for ragged or mixed nesting", () => {
    for (const data of ["[[1,2],[3]]", "[[1],2]", "[1,[2]]", "[[[1]],[2]]", "[[1,2],[[3],[4]]]", "[[],[1]]"]) expect(dims(data), data).toBeUndefined();
  });

  it("answers ragged, short and deep bodies as the JSON.parse path does", () => {
    const two = [row, row];
    for (const [data, shape] of [
      [[row, row.slice(1)], [2, 30]],
      [[[...row, ...row]], [2, 30]],
      [[...row, row], [2, 30]],
      [[[row]], [1, 30]],
      [two, [2, 30]],
      [two.flat(), [2, 30]],
    ] as const) {
      agree(JSON.stringify({ inputs: [input(data, [...shape])] }));
    }
    expect(agree(JSON.stringify({ inputs: [input([row, row], [2, 30])] }))).toBe(true);
  });
});
