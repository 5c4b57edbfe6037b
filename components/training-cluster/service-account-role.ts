/**
 * IAM roles for ServiceAccounts other than training jobs' (serving pods, batch scorers): validation, the
 * policy (pure, tested without Pulumi) and the resources behind `TrainingCluster.addServiceAccountRole`.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { parseOrThrow } from "../../src/errors.js";
import type { ServiceAccountRoleArgs } from "../shared/service-account-role.js";
import { isDeferred } from "../shared/validate.js";
import { irsaRole } from "./eks.js";
import { KMS_KEY_ARN_FIX, parseKmsKeyArn, parseS3Uri, s3AccessPolicy, type PolicyDocument } from "./iam.js";

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
  readonly kmsKeyArns: readonly pulumi.Input<string | undefined>[];
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
    kmsKeyArns: z.array(kmsKey).optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    // A policy without statements is rejected by IAM; a role with no S3 access has no reason to exist here.
    if ((a.read?.length ?? 0) + (a.write?.length ?? 0) === 0) {
      ctx.addIssue({ code: "custom", path: ["read"], message: "gives no S3 location: list at least one s3:// URI in read or write" });
    }
  });

/** Checks the plain args (one MlopsError listing every problem) and applies the defaults. */
export function normalizeServiceAccountRole(args: ServiceAccountRoleArgs, context: string): NormalizedServiceAccountRole {
  const valid = parseOrThrow(ServiceAccountRoleSchema, args, "args", context);
  return { namespace: valid.namespace, serviceAccount: valid.serviceAccount, read: valid.read ?? [], write: valid.write ?? [], kmsKeyArns: valid.kmsKeyArns ?? [] };
}

/** The resolved locations that are not `s3://` URIs (a local registry, a typo). */
export function nonS3Locations(uris: readonly string[]): string[] {
  return uris.filter((u) => typeof u !== "string" || parseS3Uri(u) === undefined);
}

/**
 * Least-privilege access: `read` locations read-only, `write` locations read and write; the KMS keys
 * through S3 only, to decrypt, and to encrypt too when there is something to write.
 */
export function serviceAccountRolePolicy(read: readonly string[], write: readonly string[], kmsKeyArns: readonly string[] = []): PolicyDocument {
  const keyAccess = write.length > 0 ? ("readwrite" as const) : ("read" as const);
  return s3AccessPolicy(
    [...read.map((uri) => ({ uri, access: "read" as const })), ...write.map((uri) => ({ uri, access: "readwrite" as const }))],
    kmsKeyArns.map((arn) => ({ arn, access: keyAccess })),
  );
}

/**
 * Creates `${name}-role`, assumable only by the ServiceAccount through the cluster's OIDC provider, and
 * `${name}-s3`, its inline policy on the S3 locations. Both are children of `opts.parent`.
 */
export function createServiceAccountRole(
  name: string,
  irsa: IrsaIssuer,
  args: NormalizedServiceAccountRole,
  opts: pulumi.CustomResourceOptions & { readonly parent: pulumi.Resource },
  context: string,
): ServiceAccountRoleResources {
  const { parent } = opts;
  const tags = { ...irsa.tags, "mlops.dev/service-account": `${args.namespace}/${args.serviceAccount}` };
  const role = irsaRole(`${name}-role`, irsa, args.namespace, args.serviceAccount, tags, opts);

  const policy = pulumi.all([pulumi.all([...args.read]), pulumi.all([...args.write]), pulumi.all([...args.kmsKeyArns])]).apply(([read, write, keys]) => {
    const bad = nonS3Locations([...read, ...write]);
    if (bad.length > 0) {
      throw new pulumi.ResourceError(
        `${context}: ${bad.map((u) => JSON.stringify(u)).join(", ")} ${S3_URI_MESSAGE}; an IAM role only grants access to S3. ` +
          `Give S3 locations, or leave this ServiceAccount without a role.`,
        parent,
      );
    }
    const kmsKeyArns = keys.filter((k): k is string => k !== undefined && k !== "");
    const badKeys = kmsKeyArns.filter((k) => parseKmsKeyArn(k) === undefined);
    if (badKeys.length > 0) {
      throw new pulumi.ResourceError(`${context}: kmsKeyArns ${badKeys.map((k) => JSON.stringify(k)).join(", ")} ${KMS_KEY_MESSAGE}`, parent);
    }
    return JSON.stringify(serviceAccountRolePolicy(read, write, kmsKeyArns));
  });
  const rolePolicy = new aws.iam.RolePolicy(`${name}-s3`, { role: role.id, policy }, opts);
  return { role, rolePolicy };
}
