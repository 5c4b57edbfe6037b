import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { byType, findResource, reset, setupMocks, waitForResources } from "../../helpers/pulumi-mocks.js";

type Mod = typeof import("../../../components/model-registry/index.js");
let mod: Mod;
let n = 0;
const unique = (base: string) => `${base}${++n}`;
const LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration";
type Rule = { id: string; filter: { prefix: string }; expiration?: Record<string, unknown>; noncurrentVersionExpiration?: { noncurrentDays: number }; abortIncompleteMultipartUpload?: { daysAfterInitiation: number } };
const rules = () => findResource(LIFECYCLE).inputs.rules as Rule[];

beforeAll(async () => {
  await setupMocks({ project: "mlops", stack: "dev" });
  mod = await import("../../../components/model-registry/index.js");
});
beforeEach(() => reset());

describe("ModelRegistry storage growth", () => {
  test("expires noncurrent versions after 30 days and aborts unfinished uploads after 7 by default", async () => {
    new mod.ModelRegistry(unique("models"));
    await waitForResources();
    expect(rules().find((r) => r.id === "noncurrent-versions-and-uploads")).toEqual({
      id: "noncurrent-versions-and-uploads",
      status: "Enabled",
      filter: { prefix: "" },
      noncurrentVersionExpiration: { noncurrentDays: 30 },
      abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
      expiration: { expiredObjectDeleteMarker: true },
    });
  });

  test("expires checkpoints after 30 days by default, under the registry prefix", async () => {
    new mod.ModelRegistry(unique("models"), { storage: { s3: { prefix: "team-a" } } });
    await waitForResources();
    expect(rules().find((r) => r.id === "checkpoints")).toMatchObject({ filter: { prefix: "team-a/checkpoints/" }, expiration: { days: 30 } });
    expect(rules().find((r) => r.id === "noncurrent-versions-and-uploads")!.filter).toEqual({ prefix: "team-a/" });
  });

  test("uses the days given, and keeps checkpoints with checkpointDays: false", async () => {
    new mod.ModelRegistry(unique("models"), { storage: { s3: { lifecycle: { noncurrentVersionDays: 90, abortIncompleteUploadDays: 2, checkpointDays: false } } } });
    await waitForResources();
    expect(rules()).toHaveLength(1);
    expect(rules()[0]).toMatchObject({ noncurrentVersionExpiration: { noncurrentDays: 90 }, abortIncompleteMultipartUpload: { daysAfterInitiation: 2 } });
  });

  test("creates no lifecycle rules with lifecycle: false", async () => {
    new mod.ModelRegistry(unique("models"), { storage: { s3: { lifecycle: false } } });
    await waitForResources();
    expect(byType(LIFECYCLE)).toHaveLength(0);
  });

  test("creates no lifecycle rules on an existing bucket", async () => {
    new mod.ModelRegistry(unique("models"), { storage: { bucket: "company-models" } });
    await waitForResources();
    expect(byType(LIFECYCLE)).toHaveLength(0);
  });

  test("fails when a day count is not a whole number of at least 1", () => {
    expect(() => new mod.ModelRegistry(unique("models"), { storage: { s3: { lifecycle: { noncurrentVersionDays: 0 } } } })).toThrow(
      /storage\.s3\.lifecycle\.noncurrentVersionDays: must be at least 1 day/,
    );
  });
});
