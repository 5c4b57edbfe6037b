import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, expect, test } from "vitest";
import { byType, findResource, hasResource, k8sObjects, matches, outputOf, reset, setupMocks, waitForResources } from "./pulumi-mocks.js";

let k8s: typeof import("@pulumi/kubernetes");
let aws: typeof import("@pulumi/aws");
beforeAll(async () => {
  await setupMocks();
  k8s = await import("@pulumi/kubernetes");
  aws = await import("@pulumi/aws");
});
beforeEach(() => reset());

test("records a Kubernetes object with secrets unwrapped and their paths noted", async () => {
  new k8s.core.v1.Secret("tok", { stringData: { token: pulumi.secret("s3cr3t") } });
  await waitForResources();
  const [secret] = byType("kubernetes:core/v1:Secret");
  expect(secret!.inputs.stringData).toEqual({ token: "s3cr3t" });
  expect(secret!.secretPaths).toEqual(["/stringData"]);
  expect(secret!.object!.metadata.name).toMatch(/^tok-[0-9a-f]{8}$/);
});

test("hasResource matches deep partial inputs and rejects a mismatch", async () => {
  new k8s.core.v1.ConfigMap("cm", { metadata: { name: "cm", labels: { a: "1", b: "2" } }, data: { k: "v" } });
  await waitForResources();
  expect(hasResource("kubernetes:core/v1:ConfigMap", { metadata: { labels: { a: "1" } } })).toBe(true);
  expect(hasResource("kubernetes:core/v1:ConfigMap", { metadata: { labels: { a: "2" } } })).toBe(false);
  expect(k8sObjects().map((o) => o.kind)).toEqual(["ConfigMap"]);
});

test("returns bucket name and arn for an S3 bucket", async () => {
  const b = new aws.s3.Bucket("models", {});
  expect(await outputOf(b.arn)).toBe(`arn:aws:s3:::${await outputOf(b.bucket)}`);
  expect(findResource("aws:s3/bucket:Bucket").name).toBe("models");
});

test("returns an endpoint and certificate authority for an EKS cluster", async () => {
  const c = new aws.eks.Cluster("ml", { roleArn: "arn:aws:iam::1:role/r", vpcConfig: { subnetIds: ["s"] } });
  expect(await outputOf(c.endpoint)).toMatch(/^https:\/\//);
  expect((await outputOf(c.certificateAuthority)).data).toBeTruthy();
});

test("matches arrays element-wise regardless of order", () => {
  expect(matches([{ a: 1 }, { b: 2 }], [{ b: 2 }])).toBe(true);
  expect(matches([{ a: 1 }], [{ b: 2 }])).toBe(false);
});
