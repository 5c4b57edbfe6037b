import { beforeAll, expect, test } from "vitest";
import { findResource, setupMocks, waitForResources } from "../../helpers/pulumi-mocks.js";

// A file of its own: the stage comes from the stack the mocks were set up with.
beforeAll(async () => {
  await setupMocks({ project: "mlops", stack: "prod" });
  const { ModelRegistry } = await import("../../../components/model-registry/index.js");
  new ModelRegistry("models");
  await waitForResources();
});

test("protects and retains the bucket in prod", () => {
  const bucket = findResource("aws:s3/bucket:Bucket");
  expect({ ...bucket.options, prefix: bucket.inputs.bucketPrefix }).toMatchObject({
    protect: true,
    retainOnDelete: true,
    prefix: "mlops-prod-models-",
  });
});

test.each([
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  "aws:s3/bucketVersioning:BucketVersioning",
  "aws:s3/bucketPolicy:BucketPolicy",
  "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
])("protects and retains the bucket's guard rail %s in prod", (type) => {
  expect(findResource(type).options).toMatchObject({ protect: true, retainOnDelete: true });
});
