import ort from "onnxruntime-node";
import type { ModelVersion } from "../../src/registry/types.js";
import { DATATYPES, oipDatatype, type TensorSpec, type TypedArray } from "./tensor.js";

/** Output tensors of one run, by name. */
export type RunOutputs = Record<string, { readonly data: TypedArray | unknown; readonly dims: readonly number[] }>;

/** Feeds of one run: typed data and shape per input name. */
export type RunFeeds = Record<string, { readonly data: TypedArray; readonly shape: readonly number[] }>;

/**
 * One model version in memory: its onnxruntime session, and inputs/outputs described from the ONNX graph
 * itself (not from registry metadata, which may be missing or stale).
 */
export class LoadedModel {
  /** `String(version)`, as OIP writes versions. */
  readonly versionString: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Lookup by input name for request validation. */
  readonly inputByName: ReadonlyMap<string, TensorSpec>;
  readonly outputNames: ReadonlySet<string>;
  /**
   * True when every input and output has a dynamic first dimension, so requests can be stacked along it.
   * Cleared at run time if the model turns out not to return one row per input row.
   */
  batchable: boolean;
  /** Requests holding this model (queued or running); the session is released when a retired model drains. */
  private holders = 0;
  private retired = false;
  private released = false;

  private constructor(
    readonly mv: ModelVersion,
    private readonly session: ort.InferenceSession,
  ) {
    this.versionString = String(mv.version);
    this.inputs = session.inputMetadata.map(describe);
    this.outputs = session.outputMetadata.map(describe);
    this.inputByName = new Map(this.inputs.map((t) => [t.name, t]));
    this.outputNames = new Set(this.outputs.map((t) => t.name));
    const dynamicFirst = (t: TensorSpec) => t.shape.length > 0 && t.shape[0]! < 0;
    this.batchable = this.inputs.length > 0 && this.inputs.every(dynamicFirst) && this.outputs.every(dynamicFirst);
  }

  /** Creates the onnxruntime session from the artifact bytes; throws MlopsError-worthy messages as Error. */
  static async load(mv: ModelVersion, artifact: Buffer): Promise<LoadedModel> {
    const session = await ort.InferenceSession.create(artifact, {
      // One request's work is small; parallelism comes from concurrent runs and batching.
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
    });
    for (const m of [...session.inputMetadata, ...session.outputMetadata]) {
      if (!m.isTensor) throw new Error(`model ${mv.name}:${mv.version}: ${m.name} is not a tensor; only tensor inputs and outputs can be served`);
    }
    return new LoadedModel(mv, session);
  }

  /** Runs the session once. */
  async run(feeds: RunFeeds): Promise<RunOutputs> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const spec of this.inputs) {
      const f = feeds[spec.name]!;
      ortFeeds[spec.name] = new ort.Tensor(ortType(spec.datatype), f.data as never, f.shape as number[]);
    }
    const out = await this.session.run(ortFeeds);
    return out as unknown as RunOutputs;
  }

  acquire(): void {
    this.holders++;
  }

  release(): void {
    this.holders--;
    if (this.retired && this.holders === 0) void this.dispose();
  }

  /** Marks this model replaced; its session is freed once the requests holding it have finished. */
  retire(): void {
    this.retired = true;
    if (this.holders === 0) void this.dispose();
  }

  private async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release().catch(() => {});
  }
}

function describe(m: ort.InferenceSession.ValueMetadata): TensorSpec {
  if (!m.isTensor) return { name: m.name, datatype: "UNKNOWN", shape: [] };
  return {
    name: m.name,
    datatype: oipDatatype(m.type),
    // Symbolic dimensions ("batch", "N") and unknown ones are dynamic: -1, as OIP metadata writes them.
    shape: m.shape.map((d) => (typeof d === "number" && d >= 0 ? d : -1)),
  };
}

function ortType(datatype: string): ort.Tensor.Type {
  const t = DATATYPES[datatype]?.ort;
  if (!t) throw new Error(`unsupported datatype ${datatype}`);
  return t;
}
