export { stackContext, stackPhysicalName, stageTier, STAGE_DEFAULTS, type StackContext, type StageTier } from "./stage.js";
export { applyTransform, deepMerge, type Transform, type DeepPartial } from "./transform.js";
export { KubernetesTargetSchema, resolveProvider, type KubernetesTarget } from "./kubernetes.js";
export { runtimeImage, dockerContext, LOCAL_RUNTIME_IMAGE, RUNTIME_PLATFORM, type RuntimeImageArgs } from "./image.js";
export { physicalName, dnsLabel, labelValue, recommendedLabels, selectorLabels, LABEL } from "../../src/naming.js";
export {
  createServiceAccountRole,
  irsaRole,
  isServiceAccountRoleHost,
  normalizeServiceAccountRole,
  serviceAccountRolePolicy,
  type IrsaIssuer,
  type ServiceAccountRoleArgs,
  type ServiceAccountRoleHost,
  type ServiceAccountRoleRequest,
} from "./irsa.js";
export { podSecurityLabels, restrictedContainerSecurityContext, restrictedPodSecurityContext, type PodSecurityLevel } from "./pod-security.js";
export { runtimePodTemplate, runtimeServiceAccount, type RuntimeWorkload, type ScratchVolume } from "./workload.js";
export { validateArgs, type ValidateOptions } from "./validate.js";
export { GPU_RESOURCE, IRSA_ANNOTATION, RUNTIME_UID } from "./constants.js";
export { isInput, isDeferred, inputString, dnsLabelSchema, DNS_LABEL, QUANTITY } from "./validate.js";
