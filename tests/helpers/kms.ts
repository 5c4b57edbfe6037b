/** A KMS key and the statements about it, for the IAM policy tests. */
export const KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
export const OTHER_KEY = "arn:aws:kms:eu-west-1:123456789012:key/other";
/** The condition that limits a key's use to S3 in the key's region. */
export const VIA_S3 = { StringEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" } };

export type Statement = { Sid?: string; Action: string[]; Resource: string | string[]; Condition?: unknown };

/** The KMS statements of a policy document (JSON). */
export const kmsStatements = (policy: string): Statement[] =>
  (JSON.parse(policy).Statement as Statement[]).filter((s) => s.Action.some((a) => a.startsWith("kms:")));
