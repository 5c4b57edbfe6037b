/**
 * The rules for S3 buckets: private (no public ACL, no public policy, all four public-access blocks on)
 * and encrypted at rest with an explicit default (SSE-S3 or SSE-KMS). A bucket's settings are separate
 * resources in the AWS provider, so each is checked on its own (resource policies) and every bucket is
 * checked for having them (stack policies).
 */
import type { PolicyResource, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";

export const S3 = {
  bucket: ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"],
  publicAccessBlock: ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"],
  encryption: [
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
  ],
  acl: ["aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2"],
  policy: ["aws:s3/bucketPolicy:BucketPolicy"],
} as const;

const PUBLIC_ACLS = new Set(["public-read", "public-read-write", "authenticated-read"]);
const PUBLIC_GRANTEES = /acs\.amazonaws\.com\/groups\/global\/(AllUsers|AuthenticatedUsers)/;
export const BLOCK_FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;
const SSE_ALGORITHMS = new Set(["AES256", "aws:kms", "aws:kms:dsse"]);

const is = (types: readonly string[], type: string) => types.includes(type);

/** Findings of one resource that makes a bucket public; empty when it does not. */
export function publicFindings(type: string, props: Record<string, any>): string[] {
  const out: string[] = [];
  if (is(S3.bucket, type) || is(S3.acl, type)) {
    if (PUBLIC_ACLS.has(props.acl)) out.push(`acl: ${props.acl}; use "private" (or no ACL: ownership BucketOwnerEnforced)`);
    const grants = props.accessControlPolicy?.grants ?? props.grants ?? [];
    for (const g of Array.isArray(grants) ? grants : []) {
      if (PUBLIC_GRANTEES.test(String(g?.grantee?.uri ?? g?.uri ?? ""))) out.push(`grant to ${g.grantee?.uri ?? g.uri}; remove it`);
    }
  }
  if (is(S3.publicAccessBlock, type)) {
    for (const flag of BLOCK_FLAGS) if (props[flag] !== true) out.push(`${flag}: ${JSON.stringify(props[flag] ?? null)}; set it to true`);
  }
  if (is(S3.policy, type)) {
    const doc = typeof props.policy === "string" ? safeJson(props.policy) : props.policy;
    const statements = doc?.Statement === undefined ? [] : Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
    for (const s of statements) {
      const anyone = s?.Principal === "*" || s?.Principal?.AWS === "*" || (Array.isArray(s?.Principal?.AWS) && s.Principal.AWS.includes("*"));
      if (s?.Effect === "Allow" && anyone && !s.Condition) out.push(`statement ${s.Sid ?? "(no Sid)"} allows anyone (Principal "*") without a condition; name the principals`);
    }
  }
  return out;
}

/** Findings of one resource that sets a bucket's encryption: an explicit default with a known algorithm. */
export function encryptionFindings(type: string, props: Record<string, any>): string[] {
  let rules: any[] | undefined;
  if (is(S3.encryption, type)) rules = Array.isArray(props.rules) ? props.rules : [];
  else if (is(S3.bucket, type) && props.serverSideEncryptionConfiguration) rules = [props.serverSideEncryptionConfiguration.rule].filter(Boolean);
  if (rules === undefined) return [];
  const algorithms = rules.map((r) => r?.applyServerSideEncryptionByDefault?.sseAlgorithm);
  if (algorithms.length === 0 || algorithms.some((a) => !SSE_ALGORITHMS.has(a))) {
    return [`sseAlgorithm: ${JSON.stringify(algorithms)}; set applyServerSideEncryptionByDefault.sseAlgorithm to AES256 or aws:kms`];
  }
  return [];
}

function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function reportEach(findings: string[], args: ResourceValidationArgs, what: string, report: ReportViolation): void {
  if (findings.length > 0) report(`${args.type} ${args.name} ${what}:\n  ${findings.join("\n  ")}`);
}

/** True when `setting` (a public-access block, an encryption configuration) belongs to `bucket`. */
export function belongsTo(setting: PolicyResource, bucket: PolicyResource): boolean {
  if ((setting.propertyDependencies?.bucket ?? []).some((d) => d.urn === bucket.urn)) return true;
  const target = setting.props.bucket;
  return target !== undefined && (target === bucket.props.bucket || target === bucket.props.id);
}

export const bucketsPrivate: ResourceValidationPolicy = {
  name: "buckets-private",
  description: "No S3 bucket is public: no public ACL or grant, no policy that allows anyone, every public-access block on.",
  enforcementLevel: "mandatory",
  severity: "critical",
  validateResource: (args, report) => reportEach(publicFindings(args.type, args.props), args, "makes a bucket public", report),
};

export const bucketsEncrypted: ResourceValidationPolicy = {
  name: "buckets-encrypted",
  description: "Every S3 encryption setting names SSE-S3 (AES256) or SSE-KMS.",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: (args, report) => reportEach(encryptionFindings(args.type, args.props), args, "does not encrypt at rest", report),
};

export const bucketsHaveGuards: StackValidationPolicy = {
  name: "buckets-have-public-access-block-and-encryption",
  description: "Every S3 bucket the stack creates has a public-access block (all four flags) and a default encryption setting.",
  enforcementLevel: "mandatory",
  severity: "high",
  validateStack: (args, report) => {
    const buckets = args.resources.filter((r) => is(S3.bucket, r.type));
    for (const bucket of buckets) {
      const blocks = args.resources.filter((r) => is(S3.publicAccessBlock, r.type) && belongsTo(r, bucket));
      if (blocks.length === 0) {
        report(`bucket ${bucket.name} has no BucketPublicAccessBlock; add one with ${BLOCK_FLAGS.join(", ")} all true (ModelRegistry does)`, bucket.urn);
      }
      const inline = bucket.props.serverSideEncryptionConfiguration !== undefined;
      const encryption = args.resources.filter((r) => is(S3.encryption, r.type) && belongsTo(r, bucket));
      if (!inline && encryption.length === 0) {
        report(`bucket ${bucket.name} has no default encryption; add a BucketServerSideEncryptionConfiguration (AES256 or aws:kms)`, bucket.urn);
      }
    }
  },
};

export const BUCKET_POLICIES = [bucketsPrivate, bucketsEncrypted, bucketsHaveGuards] as const;
