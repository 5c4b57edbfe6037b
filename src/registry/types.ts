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
  /** The saved training set it was trained on (`dataset: { trainingSet }`); datasetUri/datasetDigest are its data's. */
  readonly trainingSet?: ModelTrainingSet;
}

/** A FeatureStore training set, as a model version records it. */
export interface ModelTrainingSet {
  readonly name: string;
  /** The version used (`:latest` resolved when the run started). */
  readonly version: number;
  /** `sha256:<hex>` of its data file, checked before training. */
  readonly digest: string;
  /** The FeatureStore registry it was read from. */
  readonly registry: string;
  /** The feature view versions its join read: view name → version. */
  readonly views: Readonly<Record<string, number>>;
  /** `sha256:<hex>` of the entity file the join was run on. */
  readonly entitiesDigest: string;
  /** The features it holds, `view:feature`, in column order. */
  readonly features: readonly string[];
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
