/**
 * IAM policy documents every workload's role is made of, as plain data (pure; tested without Pulumi):
 * the IRSA trust policy, least-privilege S3 access to a list of locations, and SSE-KMS key use through S3.
 */
import { MlopsError } from "../../src/errors.js";

export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly Record<string, unknown>[];
}

/**
 * Trust policy for IAM Roles for Service Accounts: only the named ServiceAccount, through the cluster's
 * OIDC provider, with the STS audience.
 */
export function irsaTrustPolicy(oidcProviderArn: string, issuerUrl: string, namespace: string, serviceAccount: string): PolicyDocument {
  const issuer = issuerUrl.replace(/^https:\/\//, "");
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: oidcProviderArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: {
            [`${issuer}:sub`]: `system:serviceaccount:${namespace}:${serviceAccount}`,
            [`${issuer}:aud`]: "sts.amazonaws.com",
          },
        },
      },
    ],
  };
}

/**
 * An S3 location and what the role may do there:
 * - `read`: GetObject, and ListBucket under the prefix;
 * - `readput`: also PutObject (and AbortMultipartUpload), never DeleteObject: for content-addressed
 *   objects (a key names its bytes), where adding an object cannot change what another key means;
 * - `readwrite`: also DeleteObject;
 * - `list`: ListBucket on exactly this folder (`s3:prefix` equal to `<prefix>/`), no object access.
 */
export interface S3Location {
  readonly uri: string;
  readonly access: "read" | "readput" | "readwrite" | "list";
}

/**
 * The partition of an ARN (`arn:aws-cn:iam::…` → `aws-cn`); undefined for anything else. The roles take it
 * from the cluster's OIDC provider ARN, which the trust policy needs anyway: no `aws.getPartition` call,
 * and always the partition the role lives in.
 */
export function partitionOf(arn: string): string | undefined {
  return /^arn:(aws[a-z-]*):/.exec(arn)?.[1];
}

/** `s3://bucket/a/b` → `{ bucket: "bucket", prefix: "a/b" }`; undefined for any other scheme. */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) return undefined;
  return { bucket: m[1]!, prefix: m[2]!.replace(/\/+$/, "") };
}

/** A customer-managed KMS key that encrypts S3 objects the role reads (or reads and writes). */
export interface KmsKeyGrant {
  /** The key's ARN, `arn:<partition>:kms:<region>:<account>:key/<id>` (IAM matches keys by key ARN, not alias). */
  readonly arn: string;
  readonly access: "read" | "readwrite";
}

const KMS_KEY_ARN = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):\d{12}:key\/[A-Za-z0-9-]+$/;
/** The fix for a value that is not a KMS key ARN. */
export const KMS_KEY_ARN_FIX = "Give the key's ARN, arn:aws:kms:<region>:<account>:key/<key-id> (IAM cannot grant a key by alias or id).";

/** `{ partition, region }` of a KMS key ARN; undefined for a key id, an alias or anything else. */
export function parseKmsKeyArn(arn: string): { partition: string; region: string } | undefined {
  const m = KMS_KEY_ARN.exec(arn);
  return m ? { partition: m[1]!, region: m[2]! } : undefined;
}

/** The `kms:ViaService` value of S3 in the key's region (SSE-KMS requires bucket and key in one region). */
function s3ViaService(partition: string, region: string): string {
  return `s3.${region}.${partition === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com"}`;
}

/**
 * Statements letting the role use SSE-KMS keys, only through S3 (`kms:ViaService`): `kms:Decrypt` to read;
 * to write also `kms:GenerateDataKey` (a PutObject, and a multipart upload, which also needs Decrypt to
 * complete). A key granted both ways is granted once, read/write. Throws an MlopsError for an ARN that
 * is not a key ARN.
 */
export function kmsAccessStatements(keys: readonly KmsKeyGrant[]): Record<string, unknown>[] {
  const byAccess = { read: new Set<string>(), readwrite: new Set<string>() };
  const services = { read: new Set<string>(), readwrite: new Set<string>() };
  for (const key of keys) {
    const parsed = parseKmsKeyArn(key.arn);
    if (!parsed) {
      throw MlopsError.of("kmsKeyArn", "is not a KMS key ARN", key.arn, KMS_KEY_ARN_FIX);
    }
    byAccess[key.access].add(key.arn);
    services[key.access].add(s3ViaService(parsed.partition, parsed.region));
  }
  for (const k of byAccess.readwrite) byAccess.read.delete(k);
  const statements: Record<string, unknown>[] = [];
  const push = (sid: string, access: "read" | "readwrite", actions: string[]) => {
    if (byAccess[access].size === 0) return;
    const via = [...services[access]].sort();
    statements.push({
      Sid: sid,
      Effect: "Allow",
      Action: actions,
      Resource: [...byAccess[access]].sort(),
      Condition: { StringEquals: { "kms:ViaService": via.length === 1 ? via[0] : via } },
    });
  };
  push("KmsRead", "read", ["kms:Decrypt"]);
  push("KmsReadWrite", "readwrite", ["kms:Decrypt", "kms:GenerateDataKey"]);
  return statements;
}

/**
 * Least-privilege S3 access to exactly these locations: objects under each prefix (read, read and put,
 * or read and write; see {@link S3Location}), and listing restricted to those prefixes. Locations that are not `s3://` are ignored.
 * A location may be a single object (a dataset file) or a folder: both `<prefix>` and `<prefix>/*` match.
 * With `kmsKeys` (buckets encrypted with customer-managed keys) it adds {@link kmsAccessStatements}.
 * `partition` spells the S3 ARNs (`aws`, `aws-cn`, `aws-us-gov`): a role in China or GovCloud matches no
 * `arn:aws:` resource.
 */
export function s3AccessPolicy(locations: readonly S3Location[], kmsKeys: readonly KmsKeyGrant[] = [], partition = "aws"): PolicyDocument {
  const objects = { read: new Set<string>(), readput: new Set<string>(), readwrite: new Set<string>() };
  const listing = new Map<string, Set<string>>();
  for (const loc of locations) {
    const s3 = parseS3Uri(loc.uri);
    if (!s3) continue;
    const prefixes = listing.get(s3.bucket) ?? new Set<string>();
    listing.set(s3.bucket, prefixes);
    if (loc.access === "list") {
      // Exactly this folder's listing (what ListObjectsV2 sends as Prefix), not a wildcard below it.
      prefixes.add(s3.prefix ? `${s3.prefix}/` : "*");
      continue;
    }
    const base = `arn:${partition}:s3:::${s3.bucket}`;
    const keys = s3.prefix ? [`${base}/${s3.prefix}`, `${base}/${s3.prefix}/*`] : [`${base}/*`];
    for (const k of keys) objects[loc.access].add(k);
    if (s3.prefix) {
      prefixes.add(s3.prefix);
      prefixes.add(`${s3.prefix}/*`);
    } else prefixes.add("*");
  }
  for (const k of objects.readwrite) {
    objects.readput.delete(k);
    objects.read.delete(k);
  }
  for (const k of objects.readput) objects.read.delete(k);
  const statements: Record<string, unknown>[] = [];
  if (objects.read.size > 0) {
    statements.push({ Sid: "Read", Effect: "Allow", Action: ["s3:GetObject"], Resource: [...objects.read].sort() });
  }
  if (objects.readput.size > 0) {
    statements.push({ Sid: "ReadPut", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"], Resource: [...objects.readput].sort() });
  }
  if (objects.readwrite.size > 0) {
    statements.push({
      Sid: "ReadWrite",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
      Resource: [...objects.readwrite].sort(),
    });
  }
  for (const [bucket, prefixes] of [...listing.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    statements.push({
      Sid: `List${statements.length}`,
      Effect: "Allow",
      Action: ["s3:ListBucket"],
      Resource: `arn:${partition}:s3:::${bucket}`,
      ...(prefixes.has("*") ? {} : { Condition: { StringLike: { "s3:prefix": [...prefixes].sort() } } }),
    });
  }
  statements.push(...kmsAccessStatements(kmsKeys));
  return { Version: "2012-10-17", Statement: statements };
}
