/**
 * The rules for what runs in the cluster: every pod meets Pod Security "restricted", says what resources
 * it needs, holds no long-lived cloud keys, and in prod runs images pinned by digest.
 */
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { cloudKeySecretKeys, cloudKeyViolations, podSpecOf, resourceViolations, restrictedViolations, unpinnedImages, type PodSpec } from "./pod-security.js";
import { STAGE_CONFIG_SCHEMA, tierOf } from "./stage.js";

/** Resources a pod policy skips: their Pulumi name, or `<namespace>/<name>` of the Kubernetes object. */
const EXEMPT_SCHEMA = {
  exempt: {
    type: "array" as const,
    items: { type: "string" as const },
    default: [] as string[],
    description: "Workloads this policy skips (a node agent that needs the host): the Pulumi resource name or <namespace>/<name>.",
  },
};

interface PodConfig {
  exempt?: string[];
  stage?: string;
}

function isExempt(args: ResourceValidationArgs, exempt: readonly string[] = []): boolean {
  if (exempt.length === 0) return false;
  if (exempt.includes(args.name)) return true;
  // During a preview the namespace (made by the same program) may not be known yet: reading an unknown
  // value throws, and the engine would skip the whole policy. Unknown names are exempt by Pulumi name only.
  try {
    const meta = (args.props.metadata ?? {}) as { name?: string; namespace?: string };
    return exempt.includes(`${meta.namespace ?? "default"}/${meta.name ?? ""}`);
  } catch {
    return false;
  }
}

/** A validation of the pod inside any pod-carrying resource; other resources are not its business. */
function forPods(check: (pod: PodSpec, args: ResourceValidationArgs) => string[], message: (args: ResourceValidationArgs) => string) {
  return (args: ResourceValidationArgs, report: ReportViolation): void => {
    const found = podSpecOf(args.type, args.props);
    if (!found) return;
    const config = args.getConfig<PodConfig>();
    if (isExempt(args, config.exempt)) return;
    const lines = check(found.spec, args);
    if (lines.length > 0) report(`${message(args)} (${args.type} ${args.name}, at ${found.path}):\n  ${lines.join("\n  ")}`);
  };
}

export const podSecurityRestricted: ResourceValidationPolicy = {
  name: "pods-restricted",
  description: 'Every pod meets the Pod Security Standard "restricted" (non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp, no host namespaces or hostPath).',
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps: "Use components/shared/pod-security.ts (restrictedPodSecurityContext, restrictedContainerSecurityContext) or set the fields each line names.",
  configSchema: { properties: { ...EXEMPT_SCHEMA } },
  validateResource: forPods((pod) => restrictedViolations(pod), () => 'pod does not meet Pod Security "restricted"'),
};

export const podResourceLimits: ResourceValidationPolicy = {
  name: "pods-resource-limits",
  description: "Every container requests CPU and memory and limits memory.",
  enforcementLevel: "mandatory",
  severity: "medium",
  configSchema: { properties: { ...EXEMPT_SCHEMA } },
  validateResource: forPods((pod) => resourceViolations(pod), () => "container resources are not set"),
};

export const noCloudKeysInPods: ResourceValidationPolicy = {
  name: "pods-no-long-lived-cloud-keys",
  description: "No pod gets long-lived cloud keys (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, literal or from a Secret), and no Secret holds them: pods use an IAM role for their ServiceAccount.",
  enforcementLevel: "mandatory",
  severity: "critical",
  configSchema: { properties: { ...EXEMPT_SCHEMA } },
  validateResource: [
    forPods((pod) => cloudKeyViolations(pod), () => "pod receives long-lived cloud keys"),
    (args, report) => {
      if (args.type !== "kubernetes:core/v1:Secret") return;
      const keys = cloudKeySecretKeys(args.props);
      if (keys.length > 0) {
        report(`Secret ${args.name} holds long-lived cloud keys (${keys.join(", ")}); remove them and give the pods an IAM role (IRSA) instead`);
      }
    },
  ],
};

export const imagesPinnedInProd: ResourceValidationPolicy = {
  name: "images-pinned-by-digest-in-prod",
  description: "In prod every container image is pinned by digest (<repo>@sha256:<digest>), so what was tested is what runs.",
  enforcementLevel: "mandatory",
  severity: "high",
  configSchema: { properties: { ...EXEMPT_SCHEMA, ...STAGE_CONFIG_SCHEMA.properties } },
  validateResource: (args, report) => {
    if (!podSpecOf(args.type, args.props)) return;
    if (tierOf(args.urn, args.getConfig<PodConfig>()) !== "prod") return;
    forPods((pod) => unpinnedImages(pod), () => "image not pinned by digest in prod")(args, report);
  },
};

export const WORKLOAD_POLICIES = [podSecurityRestricted, podResourceLimits, noCloudKeysInPods, imagesPinnedInProd] as const;
