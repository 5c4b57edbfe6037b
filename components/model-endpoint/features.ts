/**
 * ModelEndpoint's `features` arg: serving by entity id (runtime/serve/feature-input/). The endpoint renders
 * the EndpointSpec's `features` block from the FeatureStore's spec, and gives its pods the online store's
 * AUTH token by Secret reference, in the variable that spec's `online.redis.passwordEnv` names.
 *
 * Pods read Secrets of their own namespace only, so the endpoint either runs in the store's namespace
 * (the store's Secret, `FeatureStore.authSecretName`, is used) or is given `passwordSecret`, a copy in
 * its own namespace; any other combination fails the deployment naming both ways out. The endpoint's
 * NetworkPolicy restricts ingress only, so nothing stops its pods reaching Redis; the in-cluster Redis's
 * own policy admits pods of the store's namespace and of the namespaces in the store's `server.allowFrom`.
 */
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { endpointFeaturesProblems, EndpointFeaturesSchema, MissingFeaturesSchema, type EndpointFeaturesInput } from "../../src/spec/endpoint-features.js";
import type { FeatureStoreSpec, FeatureStoreSpecInput } from "../../src/spec/features.js";
import { FEATURE_STORE_DEFAULTS } from "../feature-store/normalize.js";
import { isDeferred } from "../shared/validate.js";

/** What an endpoint needs of a feature store: a FeatureStore has all of it (`spec`, `namespace`, `authSecretName`). */
export interface FeatureStoreOutputs {
  /** The FeatureStore spec (`FeatureStore.spec`), rendered into the endpoint's spec. */
  readonly spec: pulumi.Input<FeatureStoreSpecInput> | pulumi.Output<FeatureStoreSpec>;
  /** Where the store's Secret is (`FeatureStore.namespace`). @default - the endpoint's namespace */
  readonly namespace?: pulumi.Input<string>;
  /** The Secret holding the online store's AUTH token under key `password` (`FeatureStore.authSecretName`). @default - none: a store without AUTH */
  readonly authSecretName?: string;
}

export interface EndpointFeaturesArgs {
  /** The feature store: a FeatureStore, or its outputs. */
  readonly store: FeatureStoreOutputs;
  /**
   * The entity the requests send the join key of, e.g. `"customer"` (tensor `customer_id`): INT64 ids for an
   * int64 entity (BYTES of digits work too), BYTES for a string one; shape [N] or [N, 1].
   */
  readonly entity: string;
  /**
   * `view:feature` references in the model's input order: feature i is column i of the model's input, whose
   * width must equal their count (checked when each version loads; a version that does not fit is not served).
   * @example ["txn_stats:spend_7d", "txn_stats:txn_count_7d"]
   */
  readonly features: readonly string[];
  /** The model input the features fill. @default - the model's only input */
  readonly input?: string;
  /**
   * A missing (NOT_FOUND, NULL_VALUE) or stale (OUTSIDE_MAX_AGE) value: `"error"` answers 422 naming the
   * entity, the feature and the status; `{ fill: n }` serves n in its place (counted in
   * `mlops_feature_lookup_values_total` by status either way).
   * @default "error"
   */
  readonly missing?: "error" | { readonly fill: number };
  /** Entity rows a request may carry. @default 1000 */
  readonly maxEntities?: number;
  /**
   * A Secret in the endpoint's own namespace holding the online store's AUTH token, for an endpoint outside the
   * store's namespace: copy the store's Secret (`FeatureStore.authSecretName`) there and name the copy. With the
   * in-cluster Redis, also list the endpoint's namespace in the store's `server.allowFrom`, whose policy admits it.
   * @default - the store's own Secret, which needs the endpoint in the store's namespace
   */
  readonly passwordSecret?: { readonly name: string; readonly key?: string };
}

const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export const EndpointFeaturesArgsSchema = z
  .object({
    // A FeatureStore carries much more than these three: only they are read.
    store: z
      .looseObject({
        spec: z.custom<FeatureStoreOutputs["spec"]>((v) => (v !== null && typeof v === "object") || isDeferred(v), "must be a FeatureStore spec or an Output of one (FeatureStore.spec)"),
        namespace: z.custom<pulumi.Input<string>>((v) => typeof v === "string" || isDeferred(v), "must be a namespace name or an Output of one").optional(),
        authSecretName: z.string().regex(SECRET_NAME, "must be a Secret name").optional(),
      }),
    entity: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, "must be an entity name of the feature store"),
    features: z.array(z.string().regex(/^[a-z][a-z0-9_]{0,62}:[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be a "view:feature" reference')).min(1, "must list at least one view:feature reference"),
    input: z.string().min(1).max(256).optional(),
    missing: MissingFeaturesSchema.optional(),
    maxEntities: z.number().int().min(1).max(100_000).optional(),
    passwordSecret: z.object({ name: z.string().regex(SECRET_NAME, "must be a Secret name"), key: z.string().regex(/^[-._a-zA-Z0-9]{1,253}$/, "must be a Secret key").optional() }).strict().optional(),
  })
  .strict();

/** The key of the store's Secret that holds the token (the FeatureStore's own). */
export const FEATURE_PASSWORD_KEY = FEATURE_STORE_DEFAULTS.secretKeys.password;

/** The `features` block the EndpointSpec gets, from the args and the store's resolved spec. */
export function featuresBlock(f: EndpointFeaturesArgs, store: FeatureStoreSpecInput | FeatureStoreSpec): EndpointFeaturesInput {
  return {
    store: store as FeatureStoreSpecInput,
    entity: f.entity,
    features: [...f.features],
    ...(f.input !== undefined ? { input: f.input } : {}),
    ...(f.missing !== undefined ? { missing: f.missing } : {}),
    ...(f.maxEntities !== undefined ? { maxEntities: f.maxEntities } : {}),
  };
}

/** The spec's own checks, at construction, when the store's spec is plain data (an Output is checked at deploy time). */
export function featuresArgsProblems(f: EndpointFeaturesArgs | undefined): string[] {
  if (f === undefined || isDeferred(f.store?.spec) || typeof f.store?.spec !== "object") return [];
  const parsed = EndpointFeaturesSchema.safeParse(featuresBlock(f, f.store.spec as FeatureStoreSpecInput));
  return parsed.success ? endpointFeaturesProblems(parsed.data) : [];
}

/**
 * Why the pods could not read the store's Secret, or undefined: the Secret is in `storeNamespace`, the pods in
 * `endpointNamespace`. Names the two ways out.
 */
export function featureSecretProblem(endpoint: string, endpointNamespace: string, storeNamespace: string | undefined, secret: string): string | undefined {
  if (storeNamespace === undefined || storeNamespace === endpointNamespace) return undefined;
  return (
    `ModelEndpoint "${endpoint}": features.store's Secret ${secret} (the online store's AUTH token) is in namespace ${storeNamespace}, but the endpoint's pods run in ` +
    `${endpointNamespace}, and pods read Secrets of their own namespace only. Deploy the endpoint into the store's namespace (namespace: "${storeNamespace}"), ` +
    `or copy the Secret into ${endpointNamespace} and name the copy in features.passwordSecret.`
  );
}

/** Why a store whose spec reads a Redis password has no Secret to read it from, or undefined. */
export function featurePasswordProblem(endpoint: string, spec: FeatureStoreSpecInput | FeatureStoreSpec, hasSecret: boolean): string | undefined {
  const env = passwordEnvOf(spec);
  if (env === undefined || hasSecret) return undefined;
  return (
    `ModelEndpoint "${endpoint}": features.store's spec reads the online store's AUTH token from ${env}, but no Secret holds it for the endpoint's pods. ` +
    "Pass the FeatureStore itself (or its authSecretName) as features.store, or name a Secret in features.passwordSecret."
  );
}

function passwordEnvOf(spec: FeatureStoreSpecInput | FeatureStoreSpec): string | undefined {
  const online = spec.online as { redis?: { passwordEnv?: string } } | undefined;
  return online?.redis?.passwordEnv;
}

/** What the component wires in: the store's spec (checked) and the password variable by Secret reference. */
export interface FeatureWiring {
  readonly storeSpec: pulumi.Output<FeatureStoreSpecInput | FeatureStoreSpec>;
  readonly env: k8s.types.input.core.v1.EnvVar[];
}

export function featureWiring(endpoint: string, parent: pulumi.Resource, f: EndpointFeaturesArgs, endpointNamespace: pulumi.Output<string>): FeatureWiring {
  const secret = f.passwordSecret
    ? { name: pulumi.output(f.passwordSecret.name), key: f.passwordSecret.key ?? FEATURE_PASSWORD_KEY }
    : f.store.authSecretName !== undefined
      ? {
          // Checked where it is used: a Deployment naming a Secret its pods cannot read is not created.
          name: pulumi.all([endpointNamespace, f.store.namespace]).apply(([mine, theirs]) => {
            const problem = featureSecretProblem(endpoint, mine, theirs, f.store.authSecretName!);
            if (problem) throw new pulumi.ResourceError(problem, parent);
            return f.store.authSecretName!;
          }),
          key: FEATURE_PASSWORD_KEY,
        }
      : undefined;
  const storeSpec = pulumi.output(f.store.spec as pulumi.Input<FeatureStoreSpecInput>).apply((s) => {
    const problem = featurePasswordProblem(endpoint, s, secret !== undefined);
    if (problem) throw new pulumi.ResourceError(problem, parent);
    return s;
  });
  const env: k8s.types.input.core.v1.EnvVar[] = secret
    ? [{ name: storeSpec.apply((s) => passwordEnvOf(s) ?? FEATURE_STORE_DEFAULTS.passwordEnv), valueFrom: { secretKeyRef: { name: secret.name, key: secret.key } } }]
    : [];
  return { storeSpec, env };
}
