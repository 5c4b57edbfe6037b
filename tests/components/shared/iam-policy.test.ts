// The IAM policy documents every workload's role is made of: pure, no Pulumi involved.
import { describe, expect, test } from "vitest";
import { irsaTrustPolicy, kmsAccessStatements, parseS3Uri, partitionOf, s3AccessPolicy } from "../../../components/shared/iam-policy.js";
import { KEY, kmsStatements, OTHER_KEY, VIA_S3 } from "../../helpers/kms.js";


describe("irsaTrustPolicy", () => {
  test("lets only the named ServiceAccount assume a service-account role", () => {
    const doc = irsaTrustPolicy("arn:aws:iam::1:oidc-provider/x", "https://oidc.eks.us-east-1.amazonaws.com/id/ABC", "fraud", "fraud-trainer");
    expect(doc.Statement[0]!.Condition).toEqual({
      StringEquals: {
        "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub": "system:serviceaccount:fraud:fraud-trainer",
        "oidc.eks.us-east-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com",
      },
    });
  });

});

describe("s3AccessPolicy", () => {
  test("grants read on the dataset, read/write on the registry prefix, and listing only of those prefixes", () => {
    const doc = s3AccessPolicy([
      { uri: "s3://models/reg", access: "readwrite" },
      { uri: "s3://data/fraud/train.parquet", access: "read" },
    ]);
    expect(doc.Statement).toEqual([
      { Sid: "Read", Effect: "Allow", Action: ["s3:GetObject"], Resource: ["arn:aws:s3:::data/fraud/train.parquet", "arn:aws:s3:::data/fraud/train.parquet/*"] },
      expect.objectContaining({ Sid: "ReadWrite", Resource: ["arn:aws:s3:::models/reg", "arn:aws:s3:::models/reg/*"] }),
      expect.objectContaining({ Resource: "arn:aws:s3:::data", Condition: { StringLike: { "s3:prefix": ["fraud/train.parquet", "fraud/train.parquet/*"] } } }),
      expect.objectContaining({ Resource: "arn:aws:s3:::models", Condition: { StringLike: { "s3:prefix": ["reg", "reg/*"] } } }),
    ]);
  });

  test("spells the S3 ARNs in the partition it is given", () => {
    const policy = s3AccessPolicy([{ uri: "s3://models/registry", access: "readwrite" }], [], "aws-cn");
    const arns = policy.Statement.flatMap((s) => [s.Resource].flat() as string[]);
    expect(arns.length).toBeGreaterThan(0);
    expect(arns.every((a) => a.startsWith("arn:aws-cn:s3:::models"))).toBe(true);
  });

  test("reads the partition of an ARN", () => {
    expect(partitionOf("arn:aws-us-gov:iam::123456789012:oidc-provider/oidc.eks.us-gov-west-1.amazonaws.com/id/X")).toBe("aws-us-gov");
    expect(partitionOf("not-an-arn")).toBeUndefined();
  });

  test("ignores locations that are not on S3", () => {
    expect(parseS3Uri("file:///x")).toBeUndefined();
    expect(s3AccessPolicy([{ uri: "file:///x", access: "read" }]).Statement).toEqual([]);
  });
});

describe("kmsAccessStatements", () => {
  test("lets a read-only key decrypt, only through S3 in the key's region", () => {
    expect(kmsAccessStatements([{ arn: KEY, access: "read" }])).toEqual([
      { Sid: "KmsRead", Effect: "Allow", Action: ["kms:Decrypt"], Resource: [KEY], Condition: VIA_S3 },
    ]);
  });

  test("lets a read/write key decrypt and generate data keys, only through S3", () => {
    expect(kmsAccessStatements([{ arn: KEY, access: "readwrite" }])).toEqual([
      { Sid: "KmsReadWrite", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: [KEY], Condition: VIA_S3 },
    ]);
  });

  test("grants a key given both ways once, read/write", () => {
    const statements = kmsAccessStatements([
      { arn: KEY, access: "read" },
      { arn: KEY, access: "readwrite" },
      { arn: OTHER_KEY, access: "read" },
    ]);
    expect(statements.map((s) => [s.Sid, s.Resource])).toEqual([
      ["KmsRead", [OTHER_KEY]],
      ["KmsReadWrite", [KEY]],
    ]);
  });

  test("uses the China partition's S3 endpoint for a China key", () => {
    const [statement] = kmsAccessStatements([{ arn: "arn:aws-cn:kms:cn-north-1:123456789012:key/k", access: "read" }]);
    expect(statement!.Condition).toEqual({ StringEquals: { "kms:ViaService": "s3.cn-north-1.amazonaws.com.cn" } });
  });

  test("fails when a key is given by alias, naming the fix", () => {
    expect(() => kmsAccessStatements([{ arn: "arn:aws:kms:eu-west-1:123456789012:alias/models", access: "read" }])).toThrow(
      /kmsKeyArn: is not a KMS key ARN; received "arn:aws:kms:eu-west-1:123456789012:alias\/models"\. Give the key's ARN/,
    );
  });

  test("adds no KMS statement to an S3 policy by default", () => {
    const policy = s3AccessPolicy([{ uri: "s3://models/reg", access: "readwrite" }]);
    expect(kmsStatements(JSON.stringify(policy))).toEqual([]);
  });
});

describe("s3AccessPolicy access kinds (least privilege, issue 7 item 20)", () => {
  test("readput grants GetObject and PutObject without DeleteObject", () => {
    const doc = s3AccessPolicy([{ uri: "s3://b/reg/blobs/sha256", access: "readput" }]);
    expect(doc.Statement[0]).toEqual({
      Sid: "ReadPut",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
      Resource: ["arn:aws:s3:::b/reg/blobs/sha256", "arn:aws:s3:::b/reg/blobs/sha256/*"],
    });
  });

  test("list grants listing exactly that folder and no object in it", () => {
    const doc = s3AccessPolicy([
      { uri: "s3://b/reg/models", access: "list" },
      { uri: "s3://b/reg/models/fraud", access: "readwrite" },
    ]);
    expect(doc.Statement.flatMap((s) => [s.Resource].flat())).not.toContain("arn:aws:s3:::b/reg/models/*");
    expect(doc.Statement.at(-1)).toEqual(
      expect.objectContaining({ Action: ["s3:ListBucket"], Condition: { StringLike: { "s3:prefix": ["reg/models/", "reg/models/fraud", "reg/models/fraud/*"] } } }),
    );
  });
});
