/**
 * IAM Roles for Service Accounts (IRSA), written once for every workload: which ServiceAccount may assume
 * a role, the S3 locations (and KMS keys) it reaches, and the resources behind it. Serving endpoints,
 * training jobs and, through `TrainingCluster.addServiceAccountRole`, any other workload use it.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { parseOrThrow } from "../../src/errors.js";
import { irsaTrustPolicy, KMS_KEY_ARN_FIX, parseKmsKeyArn, parseS3Uri, partitionOf, s3AccessPolicy, type PolicyDocument } from "./iam-policy.js";
import { applyTransform, type Transform } from "./transform.js";
import { isDeferred } from "./validate.js";

/** Which ServiceAccount may assume a role, and which S3 locations the role reaches. */
export interface ServiceAccountRoleArgs {
  /** Namespace of the ServiceAccount (a DNS label). */
  readonly namespace: string;
  /** Name of the ServiceAccount. */
  readonly serviceAccount: string;
  /**
   * `s3://bucket` or `s3://bucket/prefix` locations to read (GetObject, and ListBucket under the prefix).
   * @default []
   */
  readonly read?: readonly pulumi.Input<string>[];
  /**
   * `s3://` locations to read and write (adds PutObject, DeleteObject, AbortMultipartUpload).
   * @default []
   */
  readonly write?: readonly pulumi.Input<string>[];
  /**
   * `s3://` locations to read and add objects to, never delete (adds PutObject, AbortMultipartUpload): for
   * content-addressed objects such as a registry's `blobs/sha256/`, where a key names its bytes.
   * @default []
   */
  readonly put?: readonly pulumi.Input<string>[];
  /**
   * `s3://` folders whose listing the role may read (ListBucket with `s3:prefix` exactly `<prefix>/`), no
   * object in them: e.g. a registry's `models/`, which it lists to name the models that exist.
   * @default []
   */
  readonly list?: readonly pulumi.Input<string>[];
  /**
   * ARNs of customer-managed KMS keys encrypting these locations (SSE-KMS). The role may use them through
   * S3 only: kms:Decrypt, plus kms:GenerateDataKey when `write` or `put` is not empty. An entry that
   * resolves to undefined is skipped, so a ModelRegistry's `kmsKeyArn` can be passed as it is.
   * @default []
   */
  readonly kmsKeyArns?: readonly pulumi.Input<string | undefined>[];
  /**
   * ARNs of KMS keys the role may only decrypt with, through S3 (kms:Decrypt), whatever it writes: the key
   * of a dataset it reads. A key in both lists is granted read/write once. Undefined entries are skipped.
   * @default []
   */
  readonly readKmsKeyArns?: readonly pulumi.Input<string | undefined>[];
}

/**
 * A cluster that can hand a ServiceAccount its own IAM role (a TrainingCluster on EKS). Components that
 * deploy to a cluster check for this shape instead of importing the cluster's module.
 */
export interface ServiceAccountRoleHost {
  readonly provider: k8s.Provider;
  /** The role, or undefined where the cluster cannot issue one (e.g. a cluster reached by kubeconfig). */
  addServiceAccountRole(name: string, args: ServiceAccountRoleArgs, opts?: pulumi.CustomResourceOptions): aws.iam.Role | undefined;
}

/** True for an object with a Kubernetes `provider` and an `addServiceAccountRole` method. */
export function isServiceAccountRoleHost(target: unknown): target is ServiceAccountRoleHost {
  if (target === null || typeof target !== "object") return false;
  const t = target as Record<string, unknown>;
  return k8s.Provider.isInstance(t.provider) && typeof t.addServiceAccountRole === "function";
}

/** The cluster's OIDC provider and the tags its roles carry. */
export interface IrsaIssuer {
  readonly providerArn: pulumi.Input<string>;
  readonly issuer: pulumi.Input<string>;
  readonly tags: Record<string, string>;
}

export interface ServiceAccountRoleResources {
  readonly role: aws.iam.Role;
  readonly rolePolicy: aws.iam.RolePolicy;
}

/** Validated args: defaults applied, locations still Inputs (an Output is checked once it resolves). */
export interface NormalizedServiceAccountRole {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly read: readonly pulumi.Input<string>[];
  readonly write: readonly pulumi.Input<string>[];
  /** @default [] */
  readonly put?: readonly pulumi.Input<string>[];
  /** @default [] */
  readonly list?: readonly pulumi.Input<string>[];
  readonly kmsKeyArns: readonly pulumi.Input<string | undefined>[];
  /** @default [] */
  readonly readKmsKeyArns?: readonly pulumi.Input<string | undefined>[];
}

const S3_URI_MESSAGE = "must be an s3:// URI: s3://bucket or s3://bucket/prefix";
const location = z.union([
  z.string().refine((s) => parseS3Uri(s) !== undefined, S3_URI_MESSAGE),
  z.custom<pulumi.Input<string>>(isDeferred, S3_URI_MESSAGE),
]);
const KMS_KEY_MESSAGE = `must be a KMS key ARN. ${KMS_KEY_ARN_FIX}`;
const kmsKey = z.union([
  z.string().refine((s) => parseKmsKeyArn(s) !== undefined, KMS_KEY_MESSAGE),
  z.custom<pulumi.Input<string | undefined>>(isDeferred, KMS_KEY_MESSAGE),
]);

const ServiceAccountRoleSchema = z
  .object({
    namespace: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "must be a namespace name (a DNS label: lowercase letters, digits and '-')"),
    // ServiceAccount names are DNS subdomains.
    serviceAccount: z
      .string()
      .max(253)
      .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/, "must be a ServiceAccount name (lowercase letters, digits, '-' and '.')"),
    read: z.array(location).optional(),
    write: z.array(location).optional(),
    put: z.array(location).optional(),
    list: z.array(location).optional(),
    kmsKeyArns: z.array(kmsKey).optional(),
    readKmsKeyArns: z.array(kmsKey).optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    // A policy without statements is rejected by IAM; a role with no S3 access has no reason to exist here.
    if ((a.read?.length ?? 0) + (a.write?.length ?? 0) + (a.put?.length ?? 0) === 0) {
      ctx.addIssue({ code: "custom", path: ["read"], message: "gives no S3 location: list at least one s3:// URI in read, write or put" });
    }
  });

/** Checks the plain args (one MlopsError listing every problem) and applies the defaults. */
export function normalizeServiceAccountRole(args: ServiceAccountRoleArgs, context: string): NormalizedServiceAccountRole {
  const valid = parseOrThrow(ServiceAccountRoleSchema, args, "args", context);
  return {
    namespace: valid.namespace,
    serviceAccount: valid.serviceAccount,
    read: valid.read ?? [],
    write: valid.write ?? [],
    put: valid.put ?? [],
    list: valid.list ?? [],
    kmsKeyArns: valid.kmsKeyArns ?? [],
    readKmsKeyArns: valid.readKmsKeyArns ?? [],
  };
}

/** The resolved locations that are not `s3://` URIs (a local registry, a typo). */
export function nonS3Locations(uris: readonly string[]): string[] {
  return uris.filter((u) => typeof u !== "string" || parseS3Uri(u) === undefined);
}

/** The resolved locations and keys beyond `read`/`write`/`kmsKeyArns` (see {@link ServiceAccountRoleArgs}). */
export interface MoreAccess {
  readonly put?: readonly string[];
  readonly list?: readonly string[];
  readonly readKmsKeyArns?: readonly string[];
}

/**
 * Least-privilege access: `read` locations read-only, `put` locations read and add (no delete), `write`
 * locations read and write, `list` folders listed only; the KMS keys through S3 only, to decrypt, and to
 * encrypt too when there is something to write (`readKmsKeyArns`: to decrypt only).
 */
export function serviceAccountRolePolicy(
  read: readonly string[],
  write: readonly string[],
  kmsKeyArns: readonly string[] = [],
  partition = "aws",
  more: MoreAccess = {},
): PolicyDocument {
  const put = more.put ?? [];
  const keyAccess = write.length + put.length > 0 ? ("readwrite" as const) : ("read" as const);
  return s3AccessPolicy(
    [
      ...read.map((uri) => ({ uri, access: "read" as const })),
      ...put.map((uri) => ({ uri, access: "readput" as const })),
      ...write.map((uri) => ({ uri, access: "readwrite" as const })),
      ...(more.list ?? []).map((uri) => ({ uri, access: "list" as const })),
    ],
    [...kmsKeyArns.map((arn) => ({ arn, access: keyAccess })), ...(more.readKmsKeyArns ?? []).map((arn) => ({ arn, access: "read" as const }))],
    partition,
  );
}

/**
 * An IAM role that only `namespace/serviceAccount` can assume, through the cluster's OIDC provider (its
 * trust policy; the permissions are attached separately).
 */
export function irsaRole(
  name: string,
  oidc: { readonly providerArn: pulumi.Input<string>; readonly issuer: pulumi.Input<string> },
  namespace: string,
  serviceAccount: string,
  tags: Record<string, string>,
  opts: pulumi.CustomResourceOptions,
  transform?: Transform<aws.iam.RoleArgs>,
): aws.iam.Role {
  const assumeRolePolicy = pulumi
    .all([oidc.providerArn, oidc.issuer])
    .apply(([arn, issuer]) => JSON.stringify(irsaTrustPolicy(arn, issuer, namespace, serviceAccount)));
  return new aws.iam.Role(name, ...applyTransform<aws.iam.RoleArgs>(transform, name, { assumeRolePolicy, tags }, { ...opts }));
}

/**
 * Creates `${name}-role`, assumable only by the ServiceAccount through the cluster's OIDC provider, and
 * `${name}-s3`, its inline policy on the S3 locations. Both are children of `opts.parent`.
 */
export interface ServiceAccountRoleRequest {
  /** Prefix of the logical names: `${name}-role`, `${name}-s3`. */
  readonly name: string;
  /** The cluster's OIDC provider. */
  readonly irsa: IrsaIssuer;
  /** Who may assume the role and what it reaches (from {@link normalizeServiceAccountRole}). */
  readonly access: NormalizedServiceAccountRole;
  /** Who asked, for error messages: `addTrainingJob("fraud")`. */
  readonly context: string;
  readonly opts: pulumi.CustomResourceOptions & { readonly parent: pulumi.Resource };
  /** The escape hatch for the role's args. */
  readonly transform?: Transform<aws.iam.RoleArgs>;
}

export function createServiceAccountRole(req: ServiceAccountRoleRequest): ServiceAccountRoleResources {
  const { name, irsa, access: args, context, opts } = req;
  const { parent } = opts;
  const tags = { ...irsa.tags, "mlops.dev/service-account": `${args.namespace}/${args.serviceAccount}` };
  const role = irsaRole(`${name}-role`, irsa, args.namespace, args.serviceAccount, tags, opts, req.transform);

  const locations = pulumi.all([pulumi.all([...args.read]), pulumi.all([...args.write]), pulumi.all([...(args.put ?? [])]), pulumi.all([...(args.list ?? [])])]);
  const keyLists = pulumi.all([pulumi.all([...args.kmsKeyArns]), pulumi.all([...(args.readKmsKeyArns ?? [])])]);
  const policy = pulumi.all([locations, keyLists, irsa.providerArn]).apply(([[read, write, put, list], [keys, readKeys], providerArn]) => {
    const bad = nonS3Locations([...read, ...write, ...put, ...list]);
    if (bad.length > 0) {
      throw new pulumi.ResourceError(
        `${context}: ${bad.map((u) => JSON.stringify(u)).join(", ")} ${S3_URI_MESSAGE}; an IAM role only grants access to S3. ` +
          `Give S3 locations, or leave this ServiceAccount without a role.`,
        parent,
      );
    }
    const given = (ks: readonly (string | undefined)[]) => ks.filter((k): k is string => k !== undefined && k !== "");
    const kmsKeyArns = given(keys);
    const readKmsKeyArns = given(readKeys);
    const badKeys = [...kmsKeyArns, ...readKmsKeyArns].filter((k) => parseKmsKeyArn(k) === undefined);
    if (badKeys.length > 0) {
      throw new pulumi.ResourceError(`${context}: kmsKeyArns ${badKeys.map((k) => JSON.stringify(k)).join(", ")} ${KMS_KEY_MESSAGE}`, parent);
    }
    return JSON.stringify(serviceAccountRolePolicy(read, write, kmsKeyArns, partitionOf(providerArn) ?? "aws", { put, list, readKmsKeyArns }));
  });
  const rolePolicy = new aws.iam.RolePolicy(`${name}-s3`, { role: role.id, policy }, opts);
  return { role, rolePolicy };
}
