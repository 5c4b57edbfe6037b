// The pure half of IRSA: the role's permissions from read/write location lists.
import { describe, expect, test } from "vitest";
import { nonS3Locations, serviceAccountRolePolicy } from "../../../components/shared/irsa.js";

describe("serviceAccountRolePolicy", () => {
  test("gives a location in both lists read and write access once", () => {
    const doc = serviceAccountRolePolicy(["s3://b/p"], ["s3://b/p"]);
    expect(doc.Statement.map((s) => s.Sid)).toEqual(["ReadWrite", "List1"]);
  });
});

test("serviceAccountRolePolicy spells its S3 ARNs in the partition given (the OIDC provider's)", () => {
  const doc = serviceAccountRolePolicy(["s3://data/x.csv"], [], [], "aws-us-gov");
  expect(doc.Statement.flatMap((s) => [s.Resource].flat())).toEqual(["arn:aws-us-gov:s3:::data/x.csv", "arn:aws-us-gov:s3:::data/x.csv/*", "arn:aws-us-gov:s3:::data"]);
});

describe("nonS3Locations", () => {
  test("lists the resolved locations that are not s3:// URIs", () => {
    expect(nonS3Locations(["s3://b", "file:///tmp/r", "s3://", "S3://b"])).toEqual(["file:///tmp/r", "s3://", "S3://b"]);
  });
});

test("serviceAccountRolePolicy grants put locations without delete, and readKmsKeyArns to decrypt only", () => {
  const key = "arn:aws:kms:eu-west-1:123456789012:key/data";
  const doc = serviceAccountRolePolicy(["s3://data/x.csv"], [], [], "aws", { put: ["s3://m/reg/blobs/sha256"], readKmsKeyArns: [key] });
  expect(doc.Statement.map((s) => s.Sid)).toEqual(["Read", "ReadPut", "List2", "List3", "KmsRead"]);
  expect(doc.Statement.find((s) => s.Sid === "KmsRead")).toEqual(expect.objectContaining({ Action: ["kms:Decrypt"], Resource: [key] }));
});
