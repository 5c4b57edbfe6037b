import type { EndpointSpec } from "../spec/endpoint.js";

/**
 * What is promoted together, as one immutable unit: the model version, the runtime image it was
 * validated with, its serving config, the feature view versions it reads, its drift reference profile and
 * the run (with its gate) that produced it. Nothing here says when or by whom it was made: equal inputs
 * give an equal body, and the body's digest is the release's identity.
 */
export interface ReleaseBody {
  readonly apiVersion: "mlops/v1";
  readonly kind: "Release";
  /** The release's name (usually the endpoint's or the model's). */
  readonly name: string;
  readonly model: ReleaseModel;
  /** The runtime image, pinned by digest. @default - none: the stage keeps the image it runs */
  readonly image?: { readonly ref: string; readonly digest: string };
  /** The EndpointSpec as parsed (defaults applied). @default - none: the stage keeps its serving config */
  readonly serving?: EndpointSpec;
  /** The feature view versions the endpoint reads, found in the feature registry by their definitions' digests. */
  readonly features?: ReleaseFeatures;
  /** The drift reference profile of the model version (contract 1), by its key and the digest of its bytes. */
  readonly profile?: { readonly key: string; readonly digest: string };
  /** The training run that produced the version (contract 3, found through `lineage.runId`). */
  readonly run?: ReleaseRun;
}

export interface ReleaseModel {
  readonly name: string;
  /** The version number in the registry the release was created in (a promoted copy gets the target's next number). */
  readonly version: number;
  /** `sha256:<hex>` of the ONNX artifact: what identifies the model across registries. */
  readonly digest: string;
  /** The metrics recorded with the version. */
  readonly metrics: Readonly<Record<string, number>>;
  /** The saved training set it was trained on, when it was (its view versions included). */
  readonly trainingSet?: { readonly name: string; readonly version: number; readonly digest: string; readonly views: Readonly<Record<string, number>> };
}

export interface ReleaseFeatures {
  /** The FeatureStore registry the versions were found in. */
  readonly registry: string;
  readonly store: string;
  /** view → its version and the digest of its definition. */
  readonly views: Readonly<Record<string, { readonly version: number; readonly digest: string }>>;
}

export interface GateCheck {
  readonly metric: string;
  readonly op: string;
  readonly bound: number;
  /** The value the run measured; `null` when the trainer did not report the metric. */
  readonly value: number | null;
  readonly passed: boolean;
}

export interface ReleaseRun {
  readonly runId: string;
  /** False when the version names a run whose record the registry does not hold: nothing below is known then. */
  readonly recorded: boolean;
  readonly status?: string;
  readonly gate?: { readonly passed: boolean; readonly checks: readonly GateCheck[] };
  /** The final value of each metric the run logged. */
  readonly metrics?: Readonly<Record<string, number>>;
  readonly datasetDigest?: string;
  readonly codeRevision?: string;
  readonly imageDigest?: string;
}

/** A release as stored at `releases/<name>/<hex>.json`: the body, its digest, and when it was first made (outside the digest). */
export interface ReleaseRecord {
  /** `sha256:<hex>` of the canonical JSON of {@link release}. */
  readonly digest: string;
  /** When this release was first created (ISO 8601); creating it again keeps the first record. */
  readonly createdAt: string;
  readonly release: ReleaseBody;
}
