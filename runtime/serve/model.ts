import ort from "onnxruntime-node";
import type { ModelVersion } from "../../src/registry/types.js";
import { assertServable, explainOrtTypeError, UnservableModel } from "./servable.js";
import { DATATYPES, oipDatatype, type TensorData, type TensorSpec } from "./tensor.js";

/** Output tensors of one run, by name. */
export type RunOutputs = Record<string, { readonly data: TensorData; readonly dims: readonly number[] }>;

/** Feeds of one run: typed data (strings for BYTES) and shape per input name. */
export type RunFeeds = Record<string, { readonly data: TensorData; readonly shape: readonly number[] }>;

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

  /**
   * Creates the onnxruntime session from the artifact bytes. Throws (as Error, with a message a user can
   * act on) when onnxruntime cannot load it, and {@link UnservableModel} when the model's inputs or outputs
   * have types this server (or onnxruntime-node) cannot pass, so such a version never becomes the one served.
   */
  static async load(mv: ModelVersion, artifact: Buffer): Promise<LoadedModel> {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(artifact, {
        // One request's work is small; parallelism comes from concurrent runs and batching.
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: "all",
      });
    } catch (e) {
      const why = explainOrtTypeError((e as Error).message ?? "");
      if (why) throw new UnservableModel(`model ${mv.name}:${mv.version} cannot be served: ${why}`, [why]);
      throw e;
    }
    try {
      assertServable(`${mv.name}:${mv.version}`, session.inputMetadata, session.outputMetadata);
    } catch (e) {
      await session.release().catch(() => {});
      throw e;
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

/** An input or output as OIP metadata writes it; load() has checked that every one is a servable tensor. */
function describe(m: ort.InferenceSession.ValueMetadata): TensorSpec {
  if (!m.isTensor) return { name: m.name, datatype: "UNKNOWN", shape: [] };
  return {
    name: m.name,
    datatype: oipDatatype(m.type) ?? m.type.toUpperCase(),
    // Symbolic dimensions ("batch", "N") and unknown ones are dynamic: -1, as OIP metadata writes them.
    shape: m.shape.map((d) => (typeof d === "number" && d >= 0 ? d : -1)),
  };
}

function ortType(datatype: string): ort.Tensor.Type {
  const t = DATATYPES[datatype]?.ort;
  if (!t) throw new Error(`unsupported datatype ${datatype}`);
  return t;
}
