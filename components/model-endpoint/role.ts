import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { parseModelRef } from "../../src/spec/model-ref.js";
import { registryKmsKeyArn } from "../model-registry/kms.js";
import { isServiceAccountRoleHost } from "../shared/irsa.js";
import type { ModelEndpointArgs } from "./args.js";

/** Suffix of the role's name on the cluster (`<cluster>-<endpoint>-endpoint-role`), apart from a training job's. */
export const ENDPOINT_ROLE_SUFFIX = "endpoint";

export interface EndpointRoleRequest {
  readonly name: string;
  readonly args: ModelEndpointArgs;
  /** The namespace's name when known before deployment; undefined for a Namespace resource passed in. */
  readonly namespace: string | undefined;
  readonly serviceAccount: string;
  readonly registryUri: pulumi.Output<string>;
  /** The payload log's URI (args.logging.uri), when logging is on. */
  readonly loggingUri?: pulumi.Output<string>;
}

/**
 * The IAM role for the serving pods, when the endpoint can make one: the `kubernetes` target is a cluster
 * that issues ServiceAccount roles (a TrainingCluster; on EKS), the registry may be on S3, and no
 * `serviceAccountRoleArn` was given. The role reads the registry location only (and decrypts with its KMS
 * key, if any, through S3); with payload logging to an `s3://` URI it may also put objects under that prefix
 * (never delete), encrypting with `logging.kmsKeyArn`. With a canary (`variants.canary`) on an S3 registry
 * the pods also write the rollout state they share ({@link rolloutPrefixes}), encrypting with the
 * registry's key; without one they never write to the registry. Undefined otherwise.
 */
export function endpointRole(parent: pulumi.Resource, req: EndpointRoleRequest): aws.iam.Role | undefined {
  const { args } = req;
  if (args.serviceAccountRoleArn !== undefined || !isServiceAccountRoleHost(args.kubernetes)) return undefined;
  // Static credentials win over IRSA in the runtime's S3 client (src/store/index.ts): a role would go unused.
  if (args.s3?.credentials !== undefined) return undefined;
  const logsToS3 = args.logging !== undefined && !(typeof args.logging.uri === "string" && !args.logging.uri.startsWith("s3://"));
  const registryOnS3 = !(typeof args.registry === "string" && !args.registry.startsWith("s3://"));
  if (!registryOnS3 && !logsToS3) return undefined;
  if (req.namespace === undefined) {
    pulumi.log.warn(
      `ModelEndpoint "${req.name}": the namespace is a Namespace resource, whose name is only known at deploy time, so no IAM role was made for the serving pods and they may not read the registry. ` +
        `Give the namespace by name, or pass serviceAccountRoleArn.`,
      parent,
    );
    return undefined;
  }
  // A ModelRegistry's URI is known only at deploy time: a local one is refused there, with the way out.
  // Made only where used: a file:// registry with logs to S3 gives the role no registry access at all.
  const registry = () =>
    req.registryUri.apply((uri) => {
      if (!uri.startsWith("s3://")) {
        throw new pulumi.ResourceError(
          `ModelEndpoint "${req.name}": registry ${JSON.stringify(uri)} is not on S3, so no IAM role can grant the serving pods access to it. ` +
            `Use an S3 registry (ModelRegistry with storage: { s3: {} } or { bucket }), or pass serviceAccountRoleArn if the image carries the models.`,
          parent,
        );
      }
      return uri;
    });
  const registryKey = registryKmsKeyArn(args.registry, args.registryKmsKeyArn);
  // The rollout state lives beside the model in the registry: on S3 only when the registry is.
  const rollouts = registryOnS3 ? rolloutPrefixes(args) : [];
  const rolloutPuts = rollouts.map((p) => registry().apply((uri) => `${uri.replace(/\/+$/, "")}/${p}`));
  if (rolloutPuts.length > 0 && (!logsToS3 || req.loggingUri === undefined)) {
    return args.kubernetes.addServiceAccountRole(
      `${req.name}-${ENDPOINT_ROLE_SUFFIX}`,
      { namespace: req.namespace, serviceAccount: req.serviceAccount, read: [registry()], put: rolloutPuts, kmsKeyArns: [registryKey] },
      { parent },
    );
  }
  if (!logsToS3 || req.loggingUri === undefined) {
    return args.kubernetes.addServiceAccountRole(
      `${req.name}-${ENDPOINT_ROLE_SUFFIX}`,
      { namespace: req.namespace, serviceAccount: req.serviceAccount, read: [registry()], kmsKeyArns: [registryKey] },
      { parent },
    );
  }
  const logs = req.loggingUri.apply((uri) => {
    if (!uri.startsWith("s3://")) {
      throw new pulumi.ResourceError(
        `ModelEndpoint "${req.name}": logging.uri ${JSON.stringify(uri)} is not on S3, so no IAM role can grant the serving pods access to it. ` +
          `Use an s3:// URI, or pass serviceAccountRoleArn with a role that may write there.`,
        parent,
      );
    }
    return uri;
  });
  // Objects are added under the prefix, never deleted; the registry's key stays decrypt-only.
  return args.kubernetes.addServiceAccountRole(
    `${req.name}-${ENDPOINT_ROLE_SUFFIX}`,
    {
      namespace: req.namespace,
      serviceAccount: req.serviceAccount,
      read: registryOnS3 ? [registry()] : [],
      put: [logs, ...rolloutPuts],
      kmsKeyArns: [...(args.logging!.kmsKeyArn !== undefined ? [args.logging!.kmsKeyArn] : []), ...(rolloutPuts.length > 0 ? [registryKey] : [])],
      readKmsKeyArns: [registryKey],
    },
    { parent },
  );
}

/**
 * The registry folders (relative to its root) the serving pods write when the endpoint has a canary: the
 * rollout state every replica follows, `models/<name>/rollouts/` (current.json, revisions/, history/:
 * src/registry/rollouts.ts), and with `onSuccess: "promote"` the model's `models/<name>/aliases/`, where
 * the replica whose decision landed moves the stable alias. Objects are put, never deleted. Empty without
 * a canary (a shadow writes nothing to the registry).
 */
export function rolloutPrefixes(args: Pick<ModelEndpointArgs, "model" | "variants">): string[] {
  const canary = args.variants?.canary;
  if (canary === undefined) return [];
  const name = parseModelRef(args.model).name;
  return [`models/${name}/rollouts`, ...(canary.onSuccess === "promote" ? [`models/${name}/aliases`] : [])];
}
