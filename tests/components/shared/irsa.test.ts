// The pure half of IRSA: the role's permissions from read/write location lists.
import { describe, expect, test } from "vitest";
import { nonS3Locations, serviceAccountRolePolicy } from "../../../components/shared/irsa.js";

describe("serviceAccountRolePolicy", () => {
  test("gives a location in both lists read and write access once", () => {
    const doc = serviceAccountRolePolicy(["s3://b/p"], ["s3://b/p"]);
    expect(doc.Statement.map((s) => s.Sid)).toEqual(["ReadWrite", "List1"]);
  });
});

describe("nonS3Locations", () => {
  test("lists the resolved locations that are not s3:// URIs", () => {
    expect(nonS3Locations(["s3://b", "file:///tmp/r", "s3://", "S3://b"])).toEqual(["file:///tmp/r", "s3://", "S3://b"]);
  });
});
