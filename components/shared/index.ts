export { stackContext, stackPhysicalName, isProdStage, type StackContext } from "./stack.js";
export { validateArgs } from "./validate.js";
export { applyTransform, deepMerge, type Transform, type DeepPartial } from "./transform.js";
export { KubernetesTargetSchema, resolveProvider, type KubernetesTarget } from "./kubernetes.js";
export { runtimeImage, dockerContext, LOCAL_RUNTIME_IMAGE, RUNTIME_PLATFORM, type RuntimeImageArgs } from "./image.js";
export { physicalName, dnsLabel, labelValue, recommendedLabels, selectorLabels, LABEL } from "../../src/naming.js";
export { isServiceAccountRoleHost, type ServiceAccountRoleArgs, type ServiceAccountRoleHost } from "./service-account-role.js";
export { GPU_RESOURCE, IRSA_ANNOTATION, RUNTIME_UID } from "./constants.js";
export { isInput, isDeferred, inputString, dnsLabelSchema, DNS_LABEL, QUANTITY } from "./validate.js";
