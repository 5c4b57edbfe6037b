import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFor, infer, inferBody, rows } from "./helpers.js";

const x = (over: Record<string, unknown> = {}) => ({ name: "x", datatype: "FP32", shape: [1, 30], data: rows(1)[0], ...over });

describe("infer errors: 4xx with {error} saying what is wrong", () => {
  let h: Awaited<ReturnType<typeof appFor>>;
  beforeAll(async () => {
    h = await appFor("logistic", { spec: { server: { maxBodyBytes: 4096 } } });
  });
  afterAll(() => h.cleanup());

  async function fails(body: string | object, status: number, message: RegExp, url = "/v2/models/logistic/infer") {
    const r = await h.app.inject({ method: "POST", url, body });
    expect(r.status).toBe(status);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(r.json().error).toMatch(message);
  }

  it("fails with 400 when the body is not JSON", () => fails('{"inputs": [', 400, /not valid JSON/));
  it("fails with 400 when the body is empty", () => fails("", 400, /not valid JSON/));
  it("fails with 400 when the body is a JSON array", () => fails("[1,2]", 400, /must be a JSON object/));
  it("fails with 400 when inputs is missing", () => fails({}, 400, /"inputs" must be a non-empty array.*x \(FP32 \[-1,30\]\)/));
  it("fails with 400 when an input name is unknown", () => fails({ inputs: [x({ name: "features" })] }, 400, /no input named "features".*x \(FP32/));
  it("fails with 400 when an input has no name", () => fails({ inputs: [x({ name: 3 })] }, 400, /"name" must be a string/));
  it("fails with 400 when there are too many inputs", () => fails({ inputs: [x(), x()] }, 400, /has 2 inputs; the model takes 1/));
  it("fails with 400 when the datatype is wrong", () => fails({ inputs: [x({ datatype: "FP64" })] }, 400, /datatype FP64 does not match the model's FP32/));
  it("fails with 400 when the datatype is missing", () => fails({ inputs: [x({ datatype: undefined })] }, 400, /"datatype" must be a string/));
  it("fails with 400 when the shape has the wrong rank", () => fails({ inputs: [x({ shape: [30] })] }, 400, /has 1 dimensions; the model expects 2/));
  it("fails with 400 when a fixed dimension differs", () => fails({ inputs: [x({ shape: [1, 29], data: rows(1, 29)[0] })] }, 400, /dimension 1 must be 30/));
  it("fails with 400 when a dimension is not a positive integer", () => fails({ inputs: [x({ shape: [1.5, 30] })] }, 400, /positive integers; dimension 0 is 1.5/));
  it("fails with 400 when the shape is missing", () => fails({ inputs: [x({ shape: undefined })] }, 400, /"shape" must be an array/));
  it("fails with 400 when data is shorter than the shape", () => fails({ inputs: [x({ shape: [2, 30] })] }, 400, /needs 60 values; "data" has 30/));
  it("fails with 400 when data is longer than the shape", () => fails({ inputs: [x({ data: [...rows(1)[0]!, 1] })] }, 400, /needs 30 values; "data" has 31/));
  it("fails with 400 when the shape claims more values than the body holds", () =>
    fails({ inputs: [x({ shape: [100000000, 30] })] }, 400, /needs 3000000000 values, more than the request carries/));
  it("fails with 400 when data is nested deeper than the shape", () => fails({ inputs: [x({ data: [rows(1)] })] }, 400, /nested deeper/));
  it("fails with 400 when data is missing", () => fails({ inputs: [x({ data: undefined })] }, 400, /"data" must be an array/));
  it("fails with 400 when a value is not a number", () => fails({ inputs: [x({ data: ["a", ...rows(1)[0]!.slice(1)] })] }, 400, /value 0 \(row-major\) is "a"; a number expected/));
  it("fails with 400 when a value is null", () => fails({ inputs: [x({ data: [...rows(1)[0]!.slice(1), null] })] }, 400, /value 29 .* is null/));
  it("fails with 400 when id is not a string", () => fails(inferBody(rows(1), { id: 5 }), 400, /"id" must be a string/));
  it("fails with 400 when a requested output does not exist", () =>
    fails(inferBody(rows(1), { outputs: [{ name: "label" }] }), 400, /"label" is not an output of the model; its outputs are probability/));
  it("fails with 404 when the model is unknown", () => fails(inferBody(rows(1)), 404, /"other" is not served here/, "/v2/models/other/infer"));
  it("fails with 404 when the version is not the loaded one", () =>
    fails(inferBody(rows(1)), 404, /version "2" .* not loaded; this server has version 1 loaded/, "/v2/models/logistic/versions/2/infer"));

  it("fails with 405 when infer is called with GET", async () => {
    const r = await h.app.inject({ method: "GET", url: "/v2/models/logistic/infer" });
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe("POST");
  });

  it("fails with 413 when the body is over server.maxBodyBytes", async () => {
    const r = await infer(h.app, "logistic", inferBody(rows(40)));
    expect(r.status).toBe(413);
    expect(r.json().error).toMatch(/limit is 4096 bytes/);
    expect(r.headers.connection).toBe("close");
  });

  it("keeps serving after a run of bad requests", async () => {
    await Promise.all([infer(h.app, "logistic", "nope"), infer(h.app, "logistic", { inputs: [x({ datatype: "INT8" })] })]);
    expect((await infer(h.app, "logistic", inferBody(rows(1)))).status).toBe(200);
  });
});

describe("infer errors on typed inputs", () => {
  let h: Awaited<ReturnType<typeof appFor>>;
  beforeAll(async () => {
    h = await appFor("multitype");
  });
  afterAll(() => h.cleanup());

  const inputs = (over: Record<string, Record<string, unknown>> = {}) => ({
    inputs: (
      [
        ["a", "FP64", [1.5, 2]],
        ["b", "INT32", [1, 2]],
        ["c", "INT64", [1, 2]],
        ["d", "BOOL", [true, false]],
        ["e", "INT8", [1, 2]],
        ["f", "UINT8", [1, 2]],
        ["g", "INT16", [1, 2]],
      ] as const
    ).map(([name, datatype, data]) => ({ name, datatype, shape: [1, 2], data, ...over[name] })),
  });

  it("accepts INT64 beyond 2^53 as a decimal string", async () => {
    const r = await infer(h.app, "multitype", inputs({ c: { data: ["9007199254740993", "-5"] } }));
    expect(r.status).toBe(200);
    expect(r.body).toContain('"name":"c_out","datatype":"INT64","shape":[1,2],"data":[9007199254740994,-4]');
  });

  it("fails with 400 when an integer input gets a fraction", async () => {
    const r = await infer(h.app, "multitype", inputs({ b: { data: [1.5, 2] } }));
    expect(r.status).toBe(400);
    expect(r.json().error).toMatch(/input "b": value 0 .* is 1.5; an integer from -2147483648 to 2147483647 expected/);
  });

  it("fails with 400 when an INT8 value is out of range", async () => {
    const r = await infer(h.app, "multitype", inputs({ e: { data: [1, 128] } }));
    expect(r.status).toBe(400);
    expect(r.json().error).toMatch(/input "e": value 1 .* from -128 to 127/);
  });

  it("fails with 400 when a BOOL input gets a number", async () => {
    const r = await infer(h.app, "multitype", inputs({ d: { data: [1, 0] } }));
    expect(r.status).toBe(400);
    expect(r.json().error).toMatch(/input "d": value 0 .* is 1; true or false expected/);
  });

  it("fails with 400 when an input is missing", async () => {
    const body = inputs();
    body.inputs.pop();
    const r = await infer(h.app, "multitype", body);
    expect(r.status).toBe(400);
    expect(r.json().error).toMatch(/has 6 inputs; the model takes 7/);
  });

  it("fails with 400 when an input is given twice", async () => {
    const r = await infer(h.app, "multitype", inputs({ g: { name: "a", datatype: "FP64" } }));
    expect(r.status).toBe(400);
    expect(r.json().error).toMatch(/input "a" is given twice/);
  });

  it("fails with 400 when inputs disagree on the number of rows", async () => {
    const r = await infer(h.app, "multitype", inputs({ b: { shape: [2, 2], data: [1, 2, 3, 4] } }));
    expect(r.status).toBe(400);
    expect(r.json().error).toMatch(/input "b" has 2 rows .* an earlier input has 1/);
  });
});
