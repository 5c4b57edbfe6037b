/** Evaluates the Allow statements of an IAM policy document for one action on one ARN (tests only). */
export interface Statement {
  readonly Action: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly Condition?: { readonly StringLike?: Record<string, string | readonly string[]> };
}
/** A policy document: a PolicyDocument, or one recorded under the mocks. */
export interface Policy {
  readonly Statement: readonly object[];
}
const statements = (p: Policy) => p.Statement as readonly Statement[];

/** IAM's wildcard match: `*` is any run of characters, `?` any one. */
export function globMatches(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  return re.test(value);
}

/** True when a statement allows `action` on the object ARN (`arn:aws:s3:::bucket/key`). */
export function allows(policy: Policy, action: string, arn: string): boolean {
  return statements(policy).some((s) => [s.Action].flat().includes(action) && [s.Resource ?? []].flat().some((r) => globMatches(r, arn)));
}

/** True when a ListBucket statement on the bucket allows this `s3:prefix`. */
export function allowsList(policy: Policy, bucketArn: string, prefix: string): boolean {
  return statements(policy).some((s) => {
    if (![s.Action].flat().includes("s3:ListBucket") || ![s.Resource ?? []].flat().includes(bucketArn)) return false;
    const like = s.Condition?.StringLike?.["s3:prefix"];
    return like === undefined || [like].flat().some((p) => globMatches(p, prefix));
  });
}

/** `s3://bucket/key` → `arn:aws:s3:::bucket/key`. */
export const objectArn = (uri: string): string => `arn:aws:s3:::${uri.replace(/^s3:\/\//, "")}`;
