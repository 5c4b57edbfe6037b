export { Registry, CorruptRecordError, defaultRegistryUri, readModelFile, DEFAULT_REGISTRY_URI, MAX_ARTIFACT_BYTES } from "./registry.js";
export { promoteVersion, type PromoteOptions, type PromotionResult } from "./promote.js";
export type { Aliases, Lineage, ModelTrainingSet, ModelVersion, RegisterOptions, TensorSignature } from "./types.js";
