/** Input/output tensor description, read from the ONNX graph at registration. */
export interface TensorSignature {
  readonly name: string;
  /** OIP datatype: FP32, FP64, INT32, INT64, BOOL, … */
  readonly datatype: string;
  /** -1 for a dynamic dimension (e.g. the batch). */
  readonly shape: readonly number[];
}

/** Where a version came from (MLflow-style lineage). All optional: the CLI may know none of it. */
export interface Lineage {
  readonly datasetUri?: string;
  readonly datasetDigest?: string;
  readonly codeRevision?: string;
  readonly imageDigest?: string;
  readonly trainer?: string;
  readonly parentVersion?: number;
  readonly runId?: string;
  /** `<registry uri>#<name>:<version>` when this version was promoted from another stage's registry. */
  readonly promotedFrom?: string;
}

/** One immutable registered version. Stored as JSON at `models/<name>/versions/<NNNNNNNNNN>.json`. */
export interface ModelVersion {
  readonly name: string;
  readonly version: number;
  /** `sha256:<hex>` of the artifact bytes. */
  readonly digest: string;
  /** URI of the artifact (content-addressed blob in the store). */
  readonly uri: string;
  readonly format: "onnx";
  readonly sizeBytes: number;
  /** ISO 8601. */
  readonly createdAt: string;
  readonly metrics: Readonly<Record<string, number>>;
  readonly params: Readonly<Record<string, string>>;
  readonly lineage: Lineage;
  readonly signature: { readonly inputs: readonly TensorSignature[]; readonly outputs: readonly TensorSignature[] };
  readonly description?: string;
}

export interface RegisterOptions {
  readonly metrics?: Record<string, number>;
  readonly params?: Record<string, string>;
  readonly lineage?: Lineage;
  /** Move this alias to the new version once it is registered. */
  readonly alias?: string;
  readonly description?: string;
}

/** A model's aliases: alias → version. */
export type Aliases = Readonly<Record<string, number>>;
