/**
 * A loaded model version bound to the endpoint's `features` block: the checks that need the model (which
 * input the features fill, its width against the feature count, the datatypes), made once when the version
 * loads so a version that does not fit is never served, and what each request by entity id then needs.
 */
import { MlopsError } from "../../../src/errors.js";
import type { EndpointFeatures } from "../../../src/spec/endpoint-features.js";
import { keyFix, keyText, type KeyType } from "../../features/online/keys.js";
import type { LookupPlan } from "../../features/online/request.js";
import type { OnlineStore } from "../../features/online/types.js";
import type { LoadedModel, RunFeeds } from "../model.js";
import type { InferCall, InputSignature } from "../protocol.js";
import { BadRequest, DATATYPES, type TensorData, type TensorSpec } from "../tensor.js";
import { acceptedDtypes, columnWriter, fillWriter, type ColumnWriter, type FillWriter } from "./columns.js";
import { lookupRows, type FeatureTable } from "./lookup.js";
import type { FeatureLookupMetrics } from "./metrics.js";

/** What the endpoint shares between its versions: the store, the compiled feature list, the entity. */
export interface FeatureContext {
  readonly cfg: EndpointFeatures;
  readonly store: OnlineStore;
  readonly plan: LookupPlan;
  readonly metrics: FeatureLookupMetrics;
  readonly joinKey: string;
  readonly keyType: KeyType;
}

/** One served version's side of serving by entity id (ServingVersion.features). */
export interface BoundFeatures {
  /** The tensor name requests by entity id send: the entity's join key. */
  readonly joinKey: string;
  /** Model metadata `parameters` that advertise the entity input (protocol.ts modelMetadata). */
  readonly parameters: Readonly<Record<string, string>>;
  /** For parseInferRequest: the signature of a request that sends the join key, undefined for any other. */
  readonly alternate: (inputs: readonly unknown[]) => InputSignature | undefined;
  /** True when a parsed call carries the entity key tensor rather than the features. */
  byEntity(call: InferCall): boolean;
  /** Looks the features up and returns the call as if the client had sent them (rejects with BadRequest). */
  resolve(call: InferCall): Promise<InferCall>;
}

/** Checks `model` against the features block and binds it; throws MlopsError naming the field and the fix. */
export function bindModel(ctx: FeatureContext, model: LoadedModel): BoundFeatures {
  const { cfg, joinKey, keyType, plan } = ctx;
  const ref = `${model.mv.name}:${model.mv.version}`;
  const input = featureInput(cfg, model, ref);
  const width = cfg.features.length;
  const declared = input.shape[1]!;
  if (declared >= 0 && declared !== width) {
    throw MlopsError.of(
      "features.features",
      `lists ${width} feature${width === 1 ? "" : "s"}, but input "${input.name}" of model ${ref} takes ${declared} (shape ${JSON.stringify(input.shape)})`,
      cfg.features,
      `List the model's ${declared} features in its input order, or serve a model trained on these ${width}.`,
    );
  }
  if (model.inputByName.has(joinKey)) {
    throw MlopsError.of(
      "features.entity",
      `has join key ${joinKey}, which is also the name of an input of model ${ref}, so a request by entity id could not be told from one with the model's own inputs`,
      cfg.entity,
      "Rename that model input (or the join key).",
    );
  }
  const writers: ColumnWriter[] = plan.outputs.map((o, j) => {
    const pv = plan.views[o.view]!;
    const name = pv.features[o.feature]!;
    const dtype = pv.view.features.find((f) => f.name === name)!.dtype;
    const w = columnWriter(input.datatype, dtype);
    if (!w) {
      throw MlopsError.of(
        `features.features[${j}]`,
        `is a ${dtype} feature, which input "${input.name}" (${input.datatype}) of model ${ref} cannot take`,
        cfg.features[j],
        `A ${input.datatype} input takes ${acceptedDtypes(input.datatype)} features: list features of those types, or serve a model whose input takes this one.`,
      );
    }
    return w;
  });
  let fill: FillWriter | undefined;
  if (cfg.missing !== "error") {
    const w = fillWriter(input.datatype, cfg.missing.fill);
    if (typeof w === "string") {
      throw MlopsError.of("features.missing.fill", `${w} (input "${input.name}" of model ${ref} is ${input.datatype})`, cfg.missing.fill, 'Give a value the input\'s datatype holds, or use missing: "error".');
    }
    fill = w;
  }
  const table: FeatureTable = {
    plan,
    refs: cfg.features,
    writers,
    fill,
    info: DATATYPES[input.datatype]!,
    input: input.name,
    joinKey,
    ttls: plan.views.map((pv) => pv.view.ttl),
  };
  return new Bound(ctx, model, input, table);
}

/** The input the features fill: `features.input`, or the model's only input; two-dimensional. */
function featureInput(cfg: EndpointFeatures, model: LoadedModel, ref: string): TensorSpec {
  const list = model.inputs.map((s) => `${s.name} (${s.datatype} ${JSON.stringify(s.shape)})`).join(", ");
  let input: TensorSpec | undefined;
  if (cfg.input !== undefined) {
    input = model.inputByName.get(cfg.input);
    if (!input) throw MlopsError.of("features.input", `is not an input of model ${ref}`, cfg.input, `Name one of its inputs: ${list}.`);
  } else if (model.inputs.length === 1) {
    input = model.inputs[0]!;
  } else {
    throw MlopsError.of("features.input", `must name the input the features fill: model ${ref} has ${model.inputs.length} inputs`, undefined, `Set features.input to one of: ${list}.`);
  }
  if (input.shape.length !== 2) {
    throw MlopsError.of(
      "features.input",
      `names input "${input.name}" of model ${ref}, of shape ${JSON.stringify(input.shape)}; the features fill a two-dimensional [rows, features] input`,
      input.name,
      "Serve a model whose feature input is rows × features, or send the model's inputs yourself.",
    );
  }
  return input;
}

class Bound implements BoundFeatures {
  readonly joinKey: string;
  readonly parameters: Readonly<Record<string, string>>;
  /** By datatype, then rank (index 1 or 2): the signature of a request that sends the join key. */
  private readonly signatures: Record<"INT64" | "BYTES", InputSignature[]>;
  private readonly keyDatatype: "INT64" | "BYTES";

  constructor(
    private readonly ctx: FeatureContext,
    private readonly model: LoadedModel,
    private readonly input: TensorSpec,
    private readonly table: FeatureTable,
  ) {
    this.joinKey = ctx.joinKey;
    this.keyDatatype = ctx.keyType === "int64" ? "INT64" : "BYTES";
    const dim0 = input.shape[0]!;
    const signature = (datatype: string, shape: number[]): InputSignature => {
      const entity: TensorSpec = { name: ctx.joinKey, datatype, shape };
      const inputs = model.inputs.map((s) => (s.name === input.name ? entity : s));
      return {
        inputs,
        inputByName: new Map(inputs.map((s) => [s.name, s])),
        // The model's own flag: it is cleared at run time if the model turns out not to batch.
        get batchable() {
          return model.batchable;
        },
      };
    };
    const both = (datatype: string) => [signature(datatype, [dim0]), signature(datatype, [dim0]), signature(datatype, [dim0, 1])];
    this.signatures = { INT64: both("INT64"), BYTES: both("BYTES") };
    const cfg = ctx.cfg;
    this.parameters = {
      entity_input: ctx.joinKey,
      entity_input_datatype: this.keyDatatype,
      entity_input_shape: JSON.stringify([dim0]),
      entity_input_replaces: input.name,
      entity: cfg.entity,
      features: cfg.features.join(","),
      missing_features: cfg.missing === "error" ? "error" : `fill:${cfg.missing.fill}`,
    };
  }

  readonly alternate = (inputs: readonly unknown[]): InputSignature | undefined => {
    for (const raw of inputs) {
      if (raw === null || typeof raw !== "object" || (raw as { name?: unknown }).name !== this.joinKey) continue;
      const { datatype, shape } = raw as { datatype?: unknown; shape?: unknown };
      const rank = Array.isArray(shape) && shape.length === 2 ? 2 : 1;
      // An int64 key may come as BYTES of decimal digits too; a string key only as BYTES.
      const type = datatype === "BYTES" ? "BYTES" : this.keyDatatype;
      return this.signatures[type][rank];
    }
    return undefined;
  };

  byEntity(call: InferCall): boolean {
    return call.feeds[this.joinKey] !== undefined;
  }

  async resolve(call: InferCall): Promise<InferCall> {
    const feed = call.feeds[this.joinKey]!;
    const rows = feed.shape[0] ?? 1;
    const max = this.ctx.cfg.maxEntities;
    if (rows > max) {
      throw new BadRequest(`input "${this.joinKey}" carries ${rows} entity rows; this endpoint looks up at most ${max} per request (features.maxEntities): send fewer rows per request`);
    }
    const keys = entityKeys(feed.data, this.ctx.keyType, this.joinKey);
    const data = await lookupRows(this.ctx.store, this.table, this.ctx.metrics, keys);
    const feeds: Record<string, RunFeeds[string]> = {};
    for (const spec of this.model.inputs) feeds[spec.name] = spec.name === this.input.name ? { data, shape: [rows, this.table.refs.length] } : call.feeds[spec.name]!;
    return { ...call, feeds };
  }
}

/** The canonical key text (runtime/features/online/keys.ts) of each entity in the request. */
function entityKeys(data: TensorData, type: KeyType, joinKey: string): string[] {
  const keys = new Array<string>(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    // INT64 elements are int64 by construction; BYTES elements are checked against the key's type.
    const text = typeof v === "bigint" ? v.toString() : keyText(v, type);
    if (text === undefined) {
      throw new BadRequest(`input "${joinKey}": element ${i} is ${JSON.stringify(String(v).slice(0, 40))}, not ${type === "int64" ? "an int64" : "a string"} join key value. ${keyFix(type)}`);
    }
    keys[i] = text;
  }
  return keys;
}
