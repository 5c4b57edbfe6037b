import onnxProto from "onnx-proto";

// onnx-proto ships CommonJS that assigns its root to module.exports: take the namespace off the default.
const { onnx } = onnxProto;

/**
 * ONNX IR version written into every model. IR 8 is what the bundled schema (onnx 1.10) describes and
 * what onnxruntime 1.x reads.
 */
export const ONNX_IR_VERSION = 8;

/** Default opset of the `ai.onnx` domain: 15 is covered by the schema above and by onnxruntime-node. */
export const ONNX_DEFAULT_OPSET = 15;

/** Element types this writer can declare on graph inputs/outputs and store in initializers. */
export type OnnxElemType = "float" | "double" | "int64" | "int32" | "bool" | "string";

/** TensorProto.DataType code of each element type (what a `Cast` node's `to` attribute takes). */
export const ONNX_ELEM_TYPE: Readonly<Record<OnnxElemType, number>> = {
  float: onnx.TensorProto.DataType.FLOAT,
  double: onnx.TensorProto.DataType.DOUBLE,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  bool: onnx.TensorProto.DataType.BOOL,
  string: onnx.TensorProto.DataType.STRING,
};

/** A graph input or output: name, element type and shape; a string dimension is symbolic (e.g. `"batch"`). */
export interface OnnxValueInfo {
  readonly name: string;
  readonly elemType: OnnxElemType;
  readonly shape: readonly (number | string)[];
  readonly docString?: string;
}

/** A constant tensor stored in the graph. `float` data is written as float32, `double` as float64. */
export interface OnnxInitializer {
  readonly name: string;
  readonly elemType: "float" | "double" | "int64" | "int32";
  readonly dims: readonly number[];
  readonly data: ArrayLike<number>;
}

/** An attribute value; arrays of numbers are `ints` when every entry is an integer and `asFloats` is unset. */
export type OnnxAttributeValue = number | string | readonly number[] | readonly string[] | { readonly floats: readonly number[] } | { readonly float: number };

/** One operator node. */
export interface OnnxNode {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** @default - `${opType}_${index}` */
  readonly name?: string;
  /** @default "" (the ai.onnx domain) */
  readonly domain?: string;
  /**
   * Integers become INT/INTS, other numbers FLOAT/FLOATS, strings STRING/STRINGS. Use `{ float: 1 }` or
   * `{ floats: [...] }` to force float for whole numbers.
   */
  readonly attributes?: Readonly<Record<string, OnnxAttributeValue>>;
}

/** Everything needed to write one single-graph ONNX model. */
export interface OnnxModelDef {
  readonly graphName: string;
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  readonly nodes: readonly OnnxNode[];
  /** @default [] */
  readonly initializers?: readonly OnnxInitializer[];
  /** @default {@link ONNX_DEFAULT_OPSET} */
  readonly opset?: number;
  /** @default "pulumi-mlops" */
  readonly producerName?: string;
  /** @default "" */
  readonly producerVersion?: string;
  /** @default "" */
  readonly docString?: string;
  /** Stored as the model's `metadata_props` (onnxruntime exposes them as custom metadata). @default {} */
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * Writes a single-graph ONNX ModelProto. The graph is checked for the mistakes that otherwise surface
 * only as an opaque onnxruntime load error: duplicate names, a node input nothing produces, an output
 * nothing produces, initializer data whose length does not match its dims.
 *
 * @example
 * buildOnnxModel({
 *   graphName: "double",
 *   inputs: [{ name: "x", elemType: "float", shape: ["batch", 3] }],
 *   outputs: [{ name: "y", elemType: "float", shape: ["batch", 3] }],
 *   initializers: [{ name: "two", elemType: "float", dims: [1], data: [2] }],
 *   nodes: [{ opType: "Mul", inputs: ["x", "two"], outputs: ["y"] }],
 * });
 */
export function buildOnnxModel(def: OnnxModelDef): Buffer {
  checkGraph(def);
  const model = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: "", version: def.opset ?? ONNX_DEFAULT_OPSET }],
    producerName: def.producerName ?? "pulumi-mlops",
    producerVersion: def.producerVersion ?? "",
    docString: def.docString ?? "",
    metadataProps: Object.entries(def.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: def.graphName,
      input: def.inputs.map(valueInfo),
      output: def.outputs.map(valueInfo),
      initializer: (def.initializers ?? []).map(tensor),
      node: def.nodes.map((n, i) => ({
        name: n.name ?? `${n.opType}_${i}`,
        opType: n.opType,
        domain: n.domain ?? "",
        input: [...n.inputs],
        output: [...n.outputs],
        attribute: Object.entries(n.attributes ?? {}).map(([name, v]) => attribute(name, v)),
      })),
    },
  });
  return Buffer.from(onnx.ModelProto.encode(model).finish());
}

type ValueInfoMessage = NonNullable<Parameters<typeof onnx.ValueInfoProto.create>[0]>;
type TensorMessage = NonNullable<Parameters<typeof onnx.TensorProto.create>[0]>;
type AttributeMessage = NonNullable<Parameters<typeof onnx.AttributeProto.create>[0]>;

function valueInfo(v: OnnxValueInfo): ValueInfoMessage {
  return {
    name: v.name,
    docString: v.docString ?? "",
    type: {
      tensorType: {
        elemType: ONNX_ELEM_TYPE[v.elemType],
        shape: { dim: v.shape.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

function tensor(t: OnnxInitializer): TensorMessage {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== count) {
    throw new Error(`ONNX initializer ${t.name}: ${t.data.length} values for dims [${t.dims.join(", ")}] (${count})`);
  }
  // raw_data is little-endian per the ONNX spec; Buffer writes make that explicit on any host.
  let raw: Buffer;
  switch (t.elemType) {
    case "float":
      raw = Buffer.alloc(count * 4);
      for (let i = 0; i < count; i++) raw.writeFloatLE(t.data[i]!, i * 4);
      break;
    case "double":
      raw = Buffer.alloc(count * 8);
      for (let i = 0; i < count; i++) raw.writeDoubleLE(t.data[i]!, i * 8);
      break;
    case "int64":
      raw = Buffer.alloc(count * 8);
      for (let i = 0; i < count; i++) raw.writeBigInt64LE(BigInt(t.data[i]!), i * 8);
      break;
    case "int32":
      raw = Buffer.alloc(count * 4);
      for (let i = 0; i < count; i++) raw.writeInt32LE(t.data[i]!, i * 4);
      break;
  }
  return { name: t.name, dataType: ONNX_ELEM_TYPE[t.elemType], dims: [...t.dims], rawData: raw };
}

function attribute(name: string, v: OnnxAttributeValue): AttributeMessage {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === "number") {
    return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
  }
  if (typeof v === "string") return { name, type: T.STRING, s: Buffer.from(v, "utf8") };
  if ("floats" in v) return { name, type: T.FLOATS, floats: [...v.floats] };
  if ("float" in v) return { name, type: T.FLOAT, f: v.float };
  const arr = v as readonly (number | string)[];
  if (arr.every((x) => typeof x === "string")) {
    return { name, type: T.STRINGS, strings: (arr as readonly string[]).map((s) => Buffer.from(s, "utf8")) };
  }
  const nums = arr as readonly number[];
  return nums.every(Number.isInteger) ? { name, type: T.INTS, ints: [...nums] } : { name, type: T.FLOATS, floats: [...nums] };
}

/** Bugs in a caller's graph are programming errors, so plain Error: users never write graphs by hand. */
function checkGraph(def: OnnxModelDef): void {
  const defined = new Set<string>();
  const define = (name: string, what: string): void => {
    if (!name) throw new Error(`ONNX graph ${def.graphName}: ${what} has an empty name`);
    if (defined.has(name)) throw new Error(`ONNX graph ${def.graphName}: ${what} ${name} is defined twice`);
    defined.add(name);
  };
  for (const v of def.inputs) define(v.name, "input");
  for (const t of def.initializers ?? []) define(t.name, "initializer");
  def.nodes.forEach((n, i) => {
    for (const input of n.inputs) {
      // An empty name marks an omitted optional input in ONNX.
      if (input !== "" && !defined.has(input)) {
        throw new Error(`ONNX graph ${def.graphName}: node ${n.name ?? i} (${n.opType}) reads ${input}, which nothing defines before it`);
      }
    }
    for (const output of n.outputs) define(output, `output of node ${n.name ?? i} (${n.opType})`);
  });
  for (const o of def.outputs) {
    if (!defined.has(o.name)) throw new Error(`ONNX graph ${def.graphName}: graph output ${o.name} is produced by no node`);
  }
}
