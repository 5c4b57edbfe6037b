import { beforeAll, expect, test } from "vitest";
import { findResource, setupMocks, waitForResources } from "../../helpers/pulumi-mocks.js";

// A file of its own: the stage comes from the stack the mocks were set up with.
beforeAll(async () => {
  await setupMocks({ project: "mlops", stack: "prod" });
});

test("protects and retains the bucket in prod", async () => {
  const { ModelRegistry } = await import("../../../components/model-registry/index.js");
  new ModelRegistry("models");
  await waitForResources();
  const bucket = findResource("aws:s3/bucket:Bucket");
  expect({ ...bucket.options, prefix: bucket.inputs.bucketPrefix }).toMatchObject({
    protect: true,
    retainOnDelete: true,
    prefix: "mlops-prod-models-",
  });
});
