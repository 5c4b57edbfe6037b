import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { isInput } from "./validate.js";

/**
 * Which cluster a component deploys to: a provider you made, a kubeconfig, or any object exposing a
 * `provider` (a `TrainingCluster`, for instance).
 *
 * @example { provider: myProvider }
 * @example { kubeconfig: cluster.kubeconfig }
 * @example cluster // a TrainingCluster
 */
export type KubernetesTarget =
  | { readonly provider: k8s.Provider }
  | { readonly kubeconfig: pulumi.Input<string> }
  | { readonly provider: k8s.Provider; readonly [key: string]: unknown };

/**
 * Zod schema for {@link KubernetesTarget}. Exactly one of `provider` and `kubeconfig`: with both, which
 * cluster is meant is ambiguous.
 */
export const KubernetesTargetSchema = z.custom<KubernetesTarget>().superRefine((v, ctx) => {
  if (v === null || typeof v !== "object") {
    ctx.addIssue({ code: "custom", message: "must be { provider }, { kubeconfig } or a cluster object with a provider" });
    return;
  }
  const o = v as Record<string, unknown>;
  const hasProvider = "provider" in o && o.provider !== undefined;
  const hasKubeconfig = "kubeconfig" in o && o.kubeconfig !== undefined;
  // A cluster component (TrainingCluster) carries both: its provider is the one to use.
  const isCluster = pulumi.Resource.isInstance(v);
  if (hasProvider && hasKubeconfig && !isCluster) {
    ctx.addIssue({ code: "custom", message: "gives both provider and kubeconfig: give one (the provider already carries a kubeconfig)" });
  } else if (hasKubeconfig) {
    if (!isInput(o.kubeconfig)) ctx.addIssue({ code: "custom", path: ["kubeconfig"], message: "must be a kubeconfig string (or Output of one)" });
  } else if (!hasProvider) {
    ctx.addIssue({ code: "custom", message: "must be { provider }, { kubeconfig } or a cluster object with a provider" });
  } else if (!k8s.Provider.isInstance(o.provider)) {
    ctx.addIssue({ code: "custom", path: ["provider"], message: "must be a @pulumi/kubernetes Provider" });
  }
});

/** The provider to create children with: the one given, or a new one (child of `parent`) for a kubeconfig. */
export function resolveProvider(target: KubernetesTarget, name: string, parent: pulumi.Resource): k8s.Provider {
  // A cluster component carries both a kubeconfig and its provider: reuse the provider.
  if ("provider" in target && k8s.Provider.isInstance(target.provider)) return target.provider;
  if ("kubeconfig" in target && target.kubeconfig !== undefined) {
    return new k8s.Provider(`${name}-k8s`, { kubeconfig: target.kubeconfig as pulumi.Input<string> }, { parent });
  }
  return (target as { provider: k8s.Provider }).provider;
}
