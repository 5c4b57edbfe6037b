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
export type { Transform } from "./shared/transform.js";
export {
  TrainingCluster,
  TrainingJob,
  type TrainingClusterArgs,
  type GpuNodePoolArgs,
  type EksArgs,
  type TeamArgs,
  type TrainingJobArgs,
  type TrainingJobNodes,
} from "./training-cluster/index.js";
export { RuntimeImage, type RuntimeImageArgs } from "./runtime-image/index.js";
