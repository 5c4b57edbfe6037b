import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { z } from "zod";
import { isInput } from "./validate.js";

/**
 * What is wrong with a kubeconfig given as a plain string, worded without its content (a kubeconfig
 * carries credentials); undefined when it reads. YAML and JSON both read (kubectl and the Kubernetes
 * provider take either; an EKS TrainingCluster's own `kubeconfig` output is JSON). Outputs are checked
 * by the provider at deploy time.
 */
export function kubeconfigProblem(kubeconfig: string): string | undefined {
  const text = kubeconfig.trim();
  if (text === "") return "is empty: give the kubeconfig's content (YAML or JSON), not a path";
  try {
    // JSON is YAML, but JSON.parse reports a JSON mistake in JSON terms (and tolerates tab indentation).
    if (text.startsWith("{")) JSON.parse(text);
    else YAML.parse(text);
    return undefined;
  } catch (e) {
    // Neither parser's message is used: both quote the offending text.
    const at = (e as { linePos?: readonly { line: number; col: number }[] }).linePos?.[0];
    const where = at ? ` (line ${at.line}, column ${at.col})` : "";
    return `is not valid ${text.startsWith("{") ? "JSON" : "YAML"}${where}: give the kubeconfig's content as kubectl reads it, YAML or JSON`;
  }
}

/** Zod schema for a kubeconfig: a `pulumi.Input<string>` whose plain string reads as YAML or JSON ({@link kubeconfigProblem}). */
export const kubeconfigSchema = z.custom<pulumi.Input<string>>().superRefine((v, ctx) => {
  if (!isInput(v)) {
    ctx.addIssue({ code: "custom", message: "must be a kubeconfig string (YAML or JSON) or an Output of one" });
    return;
  }
  const wrong = typeof v === "string" ? kubeconfigProblem(v) : undefined;
  if (wrong) ctx.addIssue({ code: "custom", message: wrong });
});

/**
 * Which cluster a component deploys to: a provider you made, a kubeconfig (its content, YAML or JSON;
 * give it as a secret), or any object exposing a `provider` (a `TrainingCluster`, for instance).
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
    const parsed = kubeconfigSchema.safeParse(o.kubeconfig);
    for (const issue of parsed.success ? [] : parsed.error.issues) ctx.addIssue({ code: "custom", path: ["kubeconfig"], message: issue.message });
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
