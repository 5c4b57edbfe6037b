import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelVersion } from "../../../src/registry/types.js";
import { LoadedModel } from "../../../runtime/serve/model.js";
import { parseInferRequest } from "../../../runtime/serve/protocol.js";
import { MAX_DEPTH, scanInferBody } from "../../../runtime/serve/scan.js";
import { BadRequest, decodeInput } from "../../../runtime/serve/tensor.js";
import { fixture, rows } from "./helpers.js";

// The scanner is a shortcut past JSON.parse: every body must come out exactly as the JSON.parse path
// makes it (values, -0, types, error messages), whichever path the scanner chose.

let logistic: LoadedModel;
let multitype: LoadedModel;

beforeAll(async () => {
  const mv = (name: string) => ({ name, version: 1, digest: "sha256:test" }) as ModelVersion;
  logistic = await LoadedModel.load(mv("logistic"), await fixture("logistic"));
  multitype = await LoadedModel.load(mv("multitype"), await fixture("multitype"));
});

afterAll(() => {
  logistic.retire();
  multitype.retire();
});

/** What parseInferRequest makes of a body: the call, or the error it answers with. */
function outcome(model: LoadedModel, body: string | Buffer): unknown {
  try {
    const call = parseInferRequest(body, model);
    const feeds = Object.entries(call.feeds).map(([name, f]) => ({
      name,
      shape: f.shape,
      type: f.data.constructor.name,
      // Object.is-exact, so -0 and 0 differ.
      data: Array.from(f.data as ArrayLike<number | bigint>, (v) => (Object.is(v, -0) ? "-0" : v)),
    }));
    return { id: call.id, rows: call.rows, outputs: call.outputs, feeds };
  } catch (e) {
    if (e instanceof BadRequest) return { status: e.status, error: e.message };
    throw e;
  }
}

/** Checks that the bytes and the text of `body` give the same outcome; returns whether the scanner took it. */
function agree(model: LoadedModel, body: string): boolean {
  const bytes = Buffer.from(body, "utf8");
  expect(outcome(model, bytes)).toEqual(outcome(model, body));
  return scanInferBody(bytes) !== undefined;
}

const row = rows(1)[0]!;
/** A logistic request with `data` written as raw JSON text. */
const withData = (data: string, shape = "[1,30]") => `{"inputs":[{"name":"x","datatype":"FP32","shape":${shape},"data":${data}}]}`;
const valid = JSON.stringify({ inputs: [{ name: "x", datatype: "FP32", shape: [1, 30], data: row }] });

function multi(overrides: Record<string, string> = {}): string {
  const inputs: Record<string, [string, string]> = {
    a: ["FP64", "[1.5, -0.0]"],
    b: ["INT32", "[2147483647, -2147483648]"],
    c: ["INT64", '[9007199254740991, "9223372036854775807"]'],
    d: ["BOOL", "[true, false]"],
    e: ["INT8", "[-128, 127]"],
    f: ["UINT8", "[0, 255]"],
    g: ["INT16", "[1e2, 2.0]"],
  };
  const parts = Object.entries(inputs).map(
    ([name, [dt, data]]) => `{"name":"${name}","datatype":"${dt}","shape":[1,2],"data":${overrides[name] ?? data}}`,
  );
  return `{"inputs":[${parts.join(",")}]}`;
}

describe("fast body scanner", () => {
  it("takes the usual request shape", () => {
    expect(agree(logistic, valid)).toBe(true);
  });

  it("takes an id, requested outputs, parameters and unknown keys", () => {
    const body = JSON.stringify({
      id: "req-1",
      parameters: { a: [1, { b: null }], c: true, d: false, e: "s\"\\\u00e9" },
      inputs: [{ name: "x", datatype: "FP32", shape: [1, 30], data: row, parameters: { binary_data: false } }],
      outputs: [{ name: "probability", parameters: {} }],
      extra: 1,
    });
    expect(agree(logistic, body)).toBe(true);
  });

  it("takes nested rows and JSON whitespace anywhere", () => {
    const body = JSON.stringify({ inputs: [{ name: "x", datatype: "FP32", shape: [2, 30], data: rows(2) }] }, null, "\t")
      .replace(/,/g, " ,\r\n ");
    expect(agree(logistic, body)).toBe(true);
  });

  it("reads every number the way JSON.parse does", () => {
    const numbers = [
      "0", "-0", "-0.0", "0e5", "1", "-1", "0.1", "0.30000000000000004", "1e5", "1E+5", "1e-5", "-1.5e-3",
      "123456789", "9007199254740993", "123456789012345678901234567890", "1.7976931348623157e308", "1e308",
      "1e400", "-1e400", "4.9e-324", "2.2250738585072014e-308", "1e-400", "1e22", "1e23", "1e-22", "1e-23",
      "0.000001", "0.00000000000000000000000001", "3.4028235e38", "3.4028236e38", "1.00000000000000000000001",
      "7.0e-10", "1e0000000000000000000000000000000000000001",
    ];
    const text = `[${numbers.join(",")}]`;
    const scanned = scanInferBody(Buffer.from(`{"inputs":[{"data":${text}}]}`));
    const got = Array.from(scanned!.inputs![0]!.data!.values);
    const want = JSON.parse(text) as number[];
    got.forEach((v, i) => expect(Object.is(v, want[i]), `${numbers[i]} read as ${v}, JSON.parse gives ${want[i]}`).toBe(true));
  });

  it("keeps -0 in the tensor", () => {
    expect(agree(logistic, withData(`[-0,${row.slice(1).join(",")}]`))).toBe(true);
    const call = parseInferRequest(Buffer.from(withData(`[-0,${row.slice(1).join(",")}]`)), logistic);
    expect(Object.is(call.feeds.x!.data[0], -0)).toBe(true);
  });

  it("reads unicode escapes in names and keys", () => {
    expect(agree(logistic, valid.replace('"name":"x"', '"n\\u0061me":"\\u0078"').replace('"FP32"', '"FP\\u00332"'))).toBe(true);
  });

  it("leaves raw non-ASCII in a name to JSON.parse", () => {
    expect(agree(logistic, valid.replace('"name":"x"', '"name":"x\u00e9"'))).toBe(false);
  });

  it("takes raw UTF-8 in strings it only skips", () => {
    expect(agree(logistic, valid.replace("{", '{"note":"d\u00e9j\u00e0 vu \u{1f600}",'))).toBe(true);
  });

  it("leaves duplicate keys to JSON.parse, which keeps the last", () => {
    expect(agree(logistic, valid.replace('"data":', '"data":[1,2],"data":'))).toBe(false);
    expect(agree(logistic, valid.replace("{", `{"inputs":[],`))).toBe(false);
  });

  it("leaves non-number values in data to JSON.parse", () => {
    for (const leaf of ['"NaN"', '"1.5"', "true", "null", "{}"]) expect(agree(logistic, withData(`[${leaf},${row.slice(1).join(",")}]`))).toBe(false);
  });

  it("leaves nesting deeper than it follows to JSON.parse", () => {
    const deep = "[".repeat(MAX_DEPTH + 1) + "1" + "]".repeat(MAX_DEPTH + 1);
    expect(agree(logistic, withData(deep))).toBe(false);
    const params = '{"a":'.repeat(MAX_DEPTH + 1) + "1" + "}".repeat(MAX_DEPTH + 1);
    expect(agree(logistic, valid.replace("{", `{"parameters":${params},`))).toBe(false);
  });

  it("refuses what is not JSON, so the error comes from JSON.parse", () => {
    const broken = [
      "", " ", "null", "[]", '"x"', "\ufeff" + valid, valid + "x", valid + "}", valid.slice(0, -1),
      valid.replace("}]}", "},]}"), valid.replace("]}]}", "],}]}"), valid.replace(/,/, ",,"), valid.replace("{", "{,"),
      withData("[01]"), withData("[1.]"), withData("[.5]"), withData("[+1]"), withData("[-]"), withData("[1e]"),
      withData("[1e+]"), withData("[NaN]"), withData("[Infinity]"), withData("[-Infinity]"), withData("[0x10]"),
      withData("[1,]"), withData("[,1]"), withData("[1 2]"), withData("[[1],]"), withData("[1]]"), withData("[[1]"),
      valid.replace('"x"', '"x\ty"'), valid.replace('"x"', '"x\\q"'), valid.replace('"x"', '"\\u12"'), valid.replace('"x"', "'x'"),
      valid.replace('"name"', "name"), valid.replace('"FP32"', "FP32"), valid.replace('"x"', "tru"),
    ];
    for (const body of broken) expect(agree(logistic, body), JSON.stringify(body)).toBe(false);
  });

  it("answers every checked mistake with the JSON.parse path's message", () => {
    const bodies = [
      "{}", '{"inputs":[]}', '{"inputs":null}', '{"inputs":{}}', '{"inputs":[1]}', '{"id":5,"inputs":[]}', `{"id":null,${valid.slice(1)}}`,
      valid.replace('"x"', '"features"'), valid.replace('"FP32"', '"FP64"'), valid.replace("[1,30]", "[30]"),
      valid.replace("[1,30]", "[1.5,30]"), valid.replace("[1,30]", "[2,30]"), valid.replace("[1,30]", "[1e9,30]"),
      valid.replace("[1,30]", "[1,29]"), valid.replace("[1,30]", '["1",30]'), withData(`[${row.join(",")},1]`),
      withData(`[[[${row.join(",")}]]]`),
      withData("[]"), withData("[[]]"), valid.replace("}]}", '}],"outputs":[{"name":"nope"}]}'),
      valid.replace("}]}", '}],"outputs":[5]}'), valid.replace("}]}", '}],"outputs":{}}'),
      `{"inputs":[${valid.slice(11, -2)},${valid.slice(11, -2)}]}`,
    ];
    for (const body of bodies) agree(logistic, body);
  });

  it("gives every datatype the JSON.parse path's values", () => {
    // BOOL's true/false and INT64's decimal strings are not numbers: this body goes through JSON.parse.
    expect(agree(multitype, multi())).toBe(false);
  });

  it("fails integer datatypes with the JSON.parse path's message", () => {
    const cases = [["b", "[1.5, 2]"], ["e", "[128, 0]"], ["f", "[-1, 0]"], ["g", "[1e5, 0]"], ["c", "[1e300, 0]"], ["d", "[1, 0]"]];
    for (const [name, data] of cases) agree(multitype, multi({ [name!]: data!, ...(name === "d" ? {} : { c: "[1, 2]", d: "[1, 0]" }) }));
  });

  it("decodes scanned integers into the same typed arrays as parsed ones", () => {
    const values = [0, -0, 1, -1, 100, 127, -128, 2147483647, -2147483648, 9007199254740991, -9007199254740991];
    for (const datatype of ["INT8", "UINT8", "INT16", "UINT16", "INT32", "UINT32", "INT64", "FP32", "FP64"]) {
      const spec = { name: "v", datatype, shape: [-1, values.length] };
      for (const v of values) {
        const text = `[[${values.map(() => (Object.is(v, -0) ? "-0" : String(v))).join(",")}]]`;
        const scanned = scanInferBody(Buffer.from(`{"inputs":[{"data":${text}}]}`))!.inputs![0]!.data!;
        const decode = (d: unknown) => {
          try {
            return Array.from(decodeInput({ datatype, shape: [1, values.length], data: d }, spec, 1e6).data as ArrayLike<number | bigint>);
          } catch (e) {
            return (e as Error).constructor.name;
          }
        };
        const fromText = decode(JSON.parse(text));
        // A scanned value that fails a check is re-read by JSON.parse, so only the successes must agree.
        if (typeof fromText !== "string") expect(decode(scanned), `${datatype} ${v}`).toEqual(fromText);
        else expect(decode(scanned)).toBe("BadRequest");
      }
    }
  });

  it("reads a body larger than its reused buffers the same way", () => {
    const big = JSON.stringify({ inputs: [{ name: "x", datatype: "FP32", shape: [2200, 30], data: rows(2200) }] });
    expect(agree(logistic, big)).toBe(true);
    expect(agree(logistic, valid)).toBe(true);
  });

  it("does not keep numbers from one body in the next", () => {
    const first = parseInferRequest(Buffer.from(valid), logistic);
    const before = Array.from(first.feeds.x!.data as Float32Array);
    parseInferRequest(Buffer.from(withData(`[${row.map((v) => -v).join(",")}]`)), logistic);
    expect(Array.from(first.feeds.x!.data as Float32Array)).toEqual(before);
  });
});
