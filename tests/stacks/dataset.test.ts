import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { exampleDatasetBucketName } from "../../stacks/dataset.js";
import { mlopsFailure } from "../helpers/errors.js";
import { byType, findResource, reset, setupMocks, waitForResources } from "../helpers/pulumi-mocks.js";

const where = { project: "pulumi-mlops", stage: "staging", accountId: "123456789012", region: "eu-west-1" };

describe("exampleDatasetBucketName", () => {
  it("is unique per account, region and stage", () => {
    expect(exampleDatasetBucketName(where)).toBe("pulumi-mlops-staging-data-123456789012-eu-west-1");
  });

  it("fails naming training.dataset when the name would exceed S3's 63 characters", () => {
    const err = mlopsFailure(() => exampleDatasetBucketName({ ...where, project: "a-very-long-project-name-for-a-platform" }));
    expect(err.message).toContain("pulumi-mlops:training.dataset");
    expect(err.message).toContain("63 characters");
  });
});

describe("createExampleDataset", () => {
  let mod: typeof import("../../stacks/dataset.js");
  beforeAll(async () => {
    await setupMocks({ project: "pulumi-mlops", stack: "staging" });
    mod = await import("../../stacks/dataset.js");
  });
  beforeEach(() => reset());

  it("uploads examples/breast-cancer/data.csv to the bucket it creates and returns its s3:// URI", async () => {
    const d = mod.createExampleDataset("example-data", { bucketName: "b-123", protect: false });
    await waitForResources();
    expect(d.uri).toBe("s3://b-123/breast-cancer/data.csv");
    expect(findResource("aws:s3/bucket:Bucket").inputs).toMatchObject({ bucket: "b-123", forceDestroy: true });
    const [object] = byType("aws:s3/bucketObjectv2:BucketObjectv2");
    expect(object!.inputs.key).toBe("breast-cancer/data.csv");
    // The mocks pass the FileAsset through as the program made it: its path is a promise.
    expect(await (object!.rawInputs.source as { path: Promise<string> }).path).toMatch(/examples\/breast-cancer\/data\.csv$/);
  });

  it("protects and retains the bucket when the stage protects state (prod)", async () => {
    mod.createExampleDataset("example-data", { bucketName: "b-123", protect: true });
    await waitForResources();
    expect(findResource("aws:s3/bucket:Bucket")).toMatchObject({ inputs: { forceDestroy: false }, options: { protect: true, retainOnDelete: true } });
  });
});
