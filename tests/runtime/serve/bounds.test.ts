import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_BODY_NESTING, nestingDepth } from "../../../runtime/serve/nesting.js";
import { BadRequest, decodeInput } from "../../../runtime/serve/tensor.js";
import { appFor, infer, inferBody, rows } from "./helpers.js";
import { serveFixture, type Live } from "./live.js";
import { post } from "./oip-client.js";

// Work per request is bounded before it is spent: outputs, nesting, answer size; values must fit their
// datatype and nested data must follow its shape.

const x = (over: Record<string, unknown> = {}) => ({ name: "x", datatype: "FP32", shape: [1, 30], data: rows(1)[0], ...over });

/** `depth` nested arrays around one number, as text (a few MB for a large depth). */
const brackets = (depth: number) => "[".repeat(depth) + "1" + "]".repeat(depth);

describe("bounded requests (logistic)", () => {
  let h: Awaited<ReturnType<typeof appFor>>;
  beforeAll(async () => {
    h = await appFor("logistic", { spec: { server: { maxResponseBytes: 2048 } } });
  });
  afterAll(() => h.cleanup());

  async function fails(body: string | object, status: number, message: RegExp) {
    const r = await infer(h.app, "logistic", body);
    expect(r.status, r.body).toBe(status);
    expect(r.json().error).toMatch(message);
  }

  it("fails with 400 when the same output is requested twice (as Triton does)", () =>
    fails(inferBody(rows(1), { outputs: [{ name: "probability" }, { name: "probability" }] }), 400, /"outputs" lists 2 entries, but the model has 1 outputs/));

  it("fails with 400 on a long outputs list, before looking at its entries", () =>
    fails(inferBody(rows(1), { outputs: Array.from({ length: 100_000 }, () => ({ name: "probability" })) }), 400, /"outputs" lists 100000 entries, but the model has 1 outputs/));

  it("fails with 400 on megabytes of nested brackets in parameters", () =>
    fails(`{"parameters":{"deep":${brackets(1_500_000)}},"inputs":[${JSON.stringify(x())}]}`, 400, /nests arrays or objects more than 36 levels deep/));

  it("fails with 400 on megabytes of nested brackets in data", () =>
    fails(`{"inputs":[${JSON.stringify(x({ data: "DATA" })).replace('"DATA"', brackets(1_500_000))}]}`, 400, /nests arrays or objects more than 36 levels deep/));

  it("still takes parameters nested a few levels", async () => {
    const r = await infer(h.app, "logistic", inferBody(rows(1), { parameters: { a: { b: [[1, [2]], { c: null }] } } }));
    expect(r.status).toBe(200);
  });

  it("fails with 413 naming spec.server.maxResponseBytes when the answer would be too large", () =>
    fails(inferBody(rows(200)), 413, /the answer would be \d+ bytes or more, over this server's limit of 2048 bytes \(spec.server.maxResponseBytes\); send fewer rows/));

  it("answers when the answer fits the limit", async () => {
    expect((await infer(h.app, "logistic", inferBody(rows(20)))).status).toBe(200);
  });

  it("fails with 400 naming the input and element when an FP32 value overflows float32", () =>
    fails({ inputs: [x({ data: [...rows(1)[0]!.slice(0, 4), 1e39, ...rows(1)[0]!.slice(5)] })] }, 400, /input "x": value 4 \(row-major\) is 1e\+39; a number within FP32's range \(±3.4028235e\+38\) expected/));

  it("takes the largest float32 and values that round to it", async () => {
    const r = await infer(h.app, "logistic", { inputs: [x({ data: [3.4028234663852886e38, 3.4028235e38, ...rows(1)[0]!.slice(2)] })] });
    expect(r.status, r.body).toBe(200);
  });

  it("fails with 400 naming the input and element when a value is beyond even FP64 (1e400)", () =>
    fails(`{"inputs":[{"name":"x","datatype":"FP32","shape":[1,30],"data":[${rows(1)[0]!.slice(1).join(",")},-1e400]}]}`, 400, /input "x": value 29 \(row-major\) is -Infinity; a number within FP32's range/));

  it("fails with 400 naming the input when nested rows are ragged", () =>
    fails({ inputs: [x({ shape: [2, 30], data: [rows(1)[0], rows(1)[0]!.slice(1)] })] }, 400, /input "x": "data" does not follow its shape \[2,30\]: data\[1\] has 29 elements, dimension 1 is 30/));

  it("fails with 400 when nested data has fewer rows than the shape, though the count of values matches", () =>
    fails({ inputs: [x({ shape: [2, 30], data: [[...rows(1)[0]!, ...rows(1)[0]!]] })] }, 400, /input "x": "data" does not follow its shape \[2,30\]: data has 1 elements, dimension 0 is 2/));

  it("fails with 400 when data mixes values and rows", () =>
    fails({ inputs: [x({ shape: [2, 30], data: [...rows(1)[0]!, rows(1)[0]] })] }, 400, /input "x": "data" mixes values and arrays at its top level \(data\[30\] is an array\)/));

  it("takes flat data with the right count, as the spec allows", async () => {
    expect((await infer(h.app, "logistic", { inputs: [x({ shape: [2, 30], data: rows(2).flat() })] })).status).toBe(200);
  });
});

describe("values outside integer datatypes (multitype)", () => {
  let h: Awaited<ReturnType<typeof appFor>>;
  beforeAll(async () => {
    h = await appFor("multitype");
  });
  afterAll(() => h.cleanup());

  const base: Record<string, [string, unknown[]]> = {
    a: ["FP64", [0.5, 1]], b: ["INT32", [1, 2]], c: ["INT64", [1, 2]], d: ["BOOL", [true, false]],
    e: ["INT8", [1, 2]], f: ["UINT8", [1, 2]], g: ["INT16", [1, 2]],
  };
  const body = (over: Record<string, unknown[]>) => ({
    inputs: Object.entries(base).map(([name, [datatype, data]]) => ({ name, datatype, shape: [1, 2], data: over[name] ?? data })),
  });

  it.each([
    ["e", [1, 300], /input "e": value 1 \(row-major\) is 300; an integer from -128 to 127 expected/],
    ["f", [-1, 0], /input "f": value 0 \(row-major\) is -1; an integer from 0 to 255 expected/],
    ["b", [2147483648, 0], /input "b": value 0 \(row-major\) is 2147483648; an integer from -2147483648 to 2147483647/],
    ["c", ["9223372036854775808", 0], /input "c": value 0 \(row-major\) is "9223372036854775808"; an integer from -9223372036854775808 to 9223372036854775807/],
    ["a", [1e400, 0], /input "a": value 0 \(row-major\) is Infinity; a number within FP64's range/],
  ])("fails with 400 naming input %s and the element out of range", async (name, data, message) => {
    const text = JSON.stringify(body({ [name]: data as unknown[] })).replace("null", "1e400");
    const r = await infer(h.app, "multitype", text);
    expect(r.status, r.body).toBe(400);
    expect(r.json().error).toMatch(message);
  });
});

describe("UINT64 (no fixture model: decoded directly)", () => {
  const spec = { name: "u", datatype: "UINT64", shape: [-1, 3] };
  it("takes numbers and decimal strings up to 2^64 - 1", () => {
    const { data } = decodeInput({ datatype: "UINT64", shape: [1, 3], data: [0, "18446744073709551615", 9007199254740991] }, spec, 1000);
    expect(data).toBeInstanceOf(BigUint64Array);
    expect(Array.from(data as BigUint64Array)).toEqual([0n, 2n ** 64n - 1n, 9007199254740991n]);
  });
  it("fails naming the input and element for negative or too large values", () => {
    for (const bad of [-1, "18446744073709551616"]) {
      expect(() => decodeInput({ datatype: "UINT64", shape: [1, 3], data: [1, bad, 2] }, spec, 1000)).toThrow(BadRequest);
      expect(() => decodeInput({ datatype: "UINT64", shape: [1, 3], data: [1, bad, 2] }, spec, 1000)).toThrow(/input "u": value 1 \(row-major\) .* an integer from 0 to 18446744073709551615/);
    }
  });
});

describe("nesting pre-scan", () => {
  it("counts brackets, not those inside strings", () => {
    expect(nestingDepth(Buffer.from('{"a":[[1]],"b":"[[[[[[","c":"\\"[[["}'), 100)).toBe(3);
    expect(nestingDepth(Buffer.from(brackets(50)), MAX_BODY_NESTING)).toBe(MAX_BODY_NESTING + 1);
  });
});

describe("hostile requests in parallel do not starve another client", () => {
  let live: Live;
  beforeAll(async () => {
    live = await serveFixture("logistic");
  });
  afterAll(() => live.close());

  it("answers a normal request correctly while deep, long and repeated requests are refused", async () => {
    const json = { "content-type": "application/json" };
    const hostile = [
      `{"parameters":{"p":${brackets(1_000_000)}},"inputs":[${JSON.stringify(x())}]}`,
      `{"inputs":[${JSON.stringify(x({ data: "DATA" })).replace('"DATA"', brackets(1_000_000))}]}`,
      JSON.stringify(inferBody(rows(1), { outputs: Array.from({ length: 150_000 }, () => ({ name: "probability" })) })),
      `{"parameters":{"p":[${"{},".repeat(900_000)}{}]},"inputs":[${JSON.stringify(x())}]}`,
    ];
    const before = await post(live.inferUrl, Buffer.from(JSON.stringify(inferBody(rows(2)))), json);
    const hostileAnswers = hostile.flatMap((b) => [post(live.inferUrl, Buffer.from(b), json), post(live.inferUrl, Buffer.from(b), json)]);
    const normal = post(live.inferUrl, Buffer.from(JSON.stringify(inferBody(rows(2)))), json);
    const [n, ...refused] = await Promise.all([normal, ...hostileAnswers]);
    expect(n!.status).toBe(200);
    expect(JSON.parse(n!.body.toString()).outputs).toEqual(JSON.parse(before.body.toString()).outputs);
    // The first three are refused; the wide (not deep) parameters array is within bounds and answered.
    expect(refused.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 400, 200, 200]);
  });
});
