/** IAM policy documents, as plain data (pure; tested without Pulumi). */

export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly Record<string, unknown>[];
}

/** Trust policy letting an AWS service (e.g. `eks.amazonaws.com`) assume the role. */
export function serviceTrustPolicy(service: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
  };
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
 * What the cluster autoscaler needs: read everywhere (it discovers groups by tag), and scale or terminate
 * only groups tagged as owned by this cluster.
 */
export function clusterAutoscalerPolicy(clusterName: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Action: [
          "autoscaling:DescribeAutoScalingGroups",
          "autoscaling:DescribeAutoScalingInstances",
          "autoscaling:DescribeLaunchConfigurations",
          "autoscaling:DescribeScalingActivities",
          "autoscaling:DescribeTags",
          "ec2:DescribeImages",
          "ec2:DescribeInstanceTypes",
          "ec2:DescribeLaunchTemplateVersions",
          "ec2:GetInstanceTypesFromInstanceRequirements",
          "eks:DescribeNodegroup",
        ],
        Resource: "*",
      },
      {
        Effect: "Allow",
        Action: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
        Resource: "*",
        Condition: { StringEquals: { [`aws:ResourceTag/k8s.io/cluster-autoscaler/${clusterName}`]: "owned" } },
      },
    ],
  };
}

export interface S3Location {
  readonly uri: string;
  readonly access: "read" | "readwrite";
}

/** `s3://bucket/a/b` → `{ bucket: "bucket", prefix: "a/b" }`; undefined for any other scheme. */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) return undefined;
  return { bucket: m[1]!, prefix: m[2]!.replace(/\/+$/, "") };
}

/**
 * Least-privilege S3 access to exactly these locations: objects under each prefix (read, or read and
 * write), and listing restricted to those prefixes. Locations that are not `s3://` are ignored.
 * A location may be a single object (a dataset file) or a folder: both `<prefix>` and `<prefix>/*` match.
 */
export function s3AccessPolicy(locations: readonly S3Location[]): PolicyDocument {
  const objects = { read: new Set<string>(), readwrite: new Set<string>() };
  const listing = new Map<string, Set<string>>();
  for (const loc of locations) {
    const s3 = parseS3Uri(loc.uri);
    if (!s3) continue;
    const base = `arn:aws:s3:::${s3.bucket}`;
    const keys = s3.prefix ? [`${base}/${s3.prefix}`, `${base}/${s3.prefix}/*`] : [`${base}/*`];
    for (const k of keys) objects[loc.access].add(k);
    const prefixes = listing.get(s3.bucket) ?? new Set<string>();
    if (s3.prefix) {
      prefixes.add(s3.prefix);
      prefixes.add(`${s3.prefix}/*`);
    } else prefixes.add("*");
    listing.set(s3.bucket, prefixes);
  }
  for (const k of objects.readwrite) objects.read.delete(k);
  const statements: Record<string, unknown>[] = [];
  if (objects.read.size > 0) {
    statements.push({ Sid: "Read", Effect: "Allow", Action: ["s3:GetObject"], Resource: [...objects.read].sort() });
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
      Resource: `arn:aws:s3:::${bucket}`,
      ...(prefixes.has("*") ? {} : { Condition: { StringLike: { "s3:prefix": [...prefixes].sort() } } }),
    });
  }
  return { Version: "2012-10-17", Statement: statements };
}
