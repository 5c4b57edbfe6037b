export { Registry, defaultRegistryUri, DEFAULT_REGISTRY_URI } from "./registry.js";
export { promoteVersion, type PromoteOptions, type PromotionResult } from "./promote.js";
export type { Aliases, Lineage, ModelVersion, RegisterOptions, TensorSignature } from "./types.js";
