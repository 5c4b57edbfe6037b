/**
 * `pulumi-mlops:cluster.context`: which context of the kubeconfig (the stage's `kubeconfig`, else the
 * ambient one) the stack deploys to. TrainingCluster takes a kubeconfig, not a context, so the stack
 * hands it the same kubeconfig with `current-context` set, as `kubectl config use-context` would.
 */
import YAML from "yaml";
import { MlopsError } from "../src/errors.js";

/**
 * The kubeconfig with `current-context: <context>`. Throws an MlopsError naming the key and the contexts
 * the kubeconfig has (names only: the kubeconfig itself is a secret and never printed).
 */
export function withContext(kubeconfig: string, context: string, stack: string): string {
  let doc: unknown;
  try {
    // JSON is YAML: one parser for both forms kubectl reads.
    doc = YAML.parse(kubeconfig);
  } catch {
    doc = undefined;
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) {
    throw new MlopsError(
      `pulumi-mlops:cluster.context: cannot be applied: the kubeconfig is not a YAML or JSON mapping (not shown: secret). ` +
        `Fix: set pulumi-mlops:kubeconfig (pulumi config set --secret --stack ${stack} pulumi-mlops:kubeconfig "$(cat ~/.kube/config)") or fix $KUBECONFIG.`,
    );
  }
  const config = doc as { contexts?: unknown; "current-context"?: unknown };
  const names = Array.isArray(config.contexts)
    ? config.contexts.map((c) => (c && typeof c === "object" ? (c as { name?: unknown }).name : undefined)).filter((n): n is string => typeof n === "string")
    : [];
  if (!names.includes(context)) {
    throw new MlopsError(
      `pulumi-mlops:cluster.context: the kubeconfig has no context ${JSON.stringify(context)}; it has ${names.length ? names.map((n) => JSON.stringify(n)).join(", ") : "none"}. ` +
        `Fix: pulumi config set --stack ${stack} --path 'pulumi-mlops:cluster.context' <one of them> (kubectl config get-contexts lists them), or remove it to use the current context.`,
    );
  }
  config["current-context"] = context;
  return YAML.stringify(config);
}
