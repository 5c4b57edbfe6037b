// The public components. Only classes and their argument types are exported here; builders and
// defaults stay importable from each component's folder for tests and advanced use.
export { ModelRegistry, type ModelRegistryArgs, type ModelRegistryNodes, type RegistryStorageArgs } from "./model-registry/index.js";
export {
  ModelEndpoint,
  buildEndpointSpec,
  type ModelEndpointArgs,
  type ModelEndpointNodes,
  type ModelEndpointTransforms,
  type EndpointSpecArgs,
} from "./model-endpoint/index.js";
export type { KubernetesTarget } from "./shared/kubernetes.js";
export { stageTier, STAGE_DEFAULTS, type StageTier } from "./shared/stage.js";
export type { Transform } from "./shared/transform.js";
export { TrainingCluster, type TrainingClusterArgs, type TrainingClusterNodes, type GpuNodePoolArgs, type EksArgs, type TeamArgs } from "./training-cluster/index.js";
export { TrainingJob, type TrainingJobArgs, type TrainingJobNodes } from "./training-job/index.js";
export { RuntimeImage, type RuntimeImageArgs } from "./runtime-image/index.js";
export { FeatureStore, type FeatureStoreArgs, type FeatureStoreNodes, type FeatureStoreTransforms } from "./feature-store/index.js";
export { MonitoringStack, type MonitoringStackArgs, type MonitoringStackNodes, type MonitoringStackTransforms, type MonitoredEndpoint } from "./monitoring-stack/index.js";
