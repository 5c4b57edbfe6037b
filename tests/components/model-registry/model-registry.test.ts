import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { byType, findResource, hasResource, outputOf, reset, resources, setupMocks, waitForResources } from "../../helpers/pulumi-mocks.js";

type Mod = typeof import("../../../components/model-registry/index.js");
let mod: Mod;
let n = 0;
const unique = (base: string) => `${base}${++n}`;

beforeAll(async () => {
  await setupMocks({ project: "mlops", stack: "dev" });
  mod = await import("../../../components/model-registry/index.js");
});
beforeEach(() => reset());

describe("ModelRegistry on a new S3 bucket", () => {
  test("uses a new S3 bucket by default", async () => {
    const r = new mod.ModelRegistry(unique("models"));
    const bucket = await outputOf(r.bucketName);
    expect(bucket).toBeTruthy();
    expect(await outputOf(r.uri)).toBe(`s3://${bucket}`);
    await waitForResources();
    expect(byType("aws:s3/bucket:Bucket")).toHaveLength(1);
  });

  test("names the bucket from project, stage and name by default", async () => {
    const name = unique("models");
    new mod.ModelRegistry(name, { storage: { s3: {} } });
    await waitForResources();
    expect(findResource("aws:s3/bucket:Bucket").inputs.bucketPrefix).toBe(`mlops-dev-${name}-`);
  });

  test("uses the bucket name given", async () => {
    const r = new mod.ModelRegistry(unique("models"), { storage: { s3: { bucketName: "acme-models" } } });
    expect(await outputOf(r.bucketName)).toBe("acme-models");
  });

  test("appends the prefix to the uri", async () => {
    const r = new mod.ModelRegistry(unique("models"), { storage: { s3: { bucketName: "acme-models", prefix: "team-a/" } } });
    expect(await outputOf(r.uri)).toBe("s3://acme-models/team-a");
  });

  test("enables versioning", async () => {
    new mod.ModelRegistry(unique("models"));
    await waitForResources();
    expect(hasResource("aws:s3/bucketVersioning:BucketVersioning", { versioningConfiguration: { status: "Enabled" } })).toBe(true);
  });

  test("uses SSE-S3 (AES256) by default", async () => {
    new mod.ModelRegistry(unique("models"));
    await waitForResources();
    const enc = findResource("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration");
    expect(enc.inputs.rules).toEqual([{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }]);
  });

  test("uses SSE-KMS with bucket keys when a KMS key is given", async () => {
    const key = "arn:aws:kms:us-east-1:123456789012:key/abc";
    new mod.ModelRegistry(unique("models"), { storage: { s3: { kmsKeyArn: key } } });
    await waitForResources();
    expect(
      hasResource("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", {
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: key }, bucketKeyEnabled: true }],
      }),
    ).toBe(true);
  });

  test("outputs the KMS key given, for roles that reach the registry", async () => {
    const key = "arn:aws:kms:us-east-1:123456789012:key/abc";
    const r = new mod.ModelRegistry(unique("models"), { storage: { s3: { kmsKeyArn: key } } });
    expect(await outputOf(r.kmsKeyArn)).toBe(key);
  });

  test("outputs no KMS key by default", async () => {
    const r = new mod.ModelRegistry(unique("models"));
    expect(await outputOf(r.kmsKeyArn)).toBeUndefined();
  });

  test("blocks all public access", async () => {
    new mod.ModelRegistry(unique("models"));
    await waitForResources();
    const block = findResource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs;
    expect([block.blockPublicAcls, block.blockPublicPolicy, block.ignorePublicAcls, block.restrictPublicBuckets]).toEqual([true, true, true, true]);
  });

  test("disables ACLs with BucketOwnerEnforced", async () => {
    new mod.ModelRegistry(unique("models"));
    await waitForResources();
    expect(hasResource("aws:s3/bucketOwnershipControls:BucketOwnershipControls", { rule: { objectOwnership: "BucketOwnerEnforced" } })).toBe(true);
  });

  test("denies requests without TLS", async () => {
    new mod.ModelRegistry(unique("models"));
    await waitForResources();
    const policy = JSON.parse(findResource("aws:s3/bucketPolicy:BucketPolicy").inputs.policy as string);
    expect(policy.Statement[0]).toMatchObject({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } });
  });

  test("does not force-destroy by default", async () => {
    new mod.ModelRegistry(unique("models"));
    await waitForResources();
    expect(findResource("aws:s3/bucket:Bucket").inputs.forceDestroy).toBe(false);
  });

  test("parents every child to the component", async () => {
    const name = unique("models");
    new mod.ModelRegistry(name);
    await waitForResources();
    const children = resources().filter((r) => r.type.startsWith("aws:"));
    expect(children).toHaveLength(7);
    for (const c of children) expect(c.options.parent).toMatch(new RegExp(`mlops:registry:ModelRegistry::${name}$`));
  });

  test("neither protects nor retains the bucket outside prod", async () => {
    new mod.ModelRegistry(unique("models"));
    await waitForResources();
    expect(findResource("aws:s3/bucket:Bucket").options).toMatchObject({ protect: false, retainOnDelete: false });
  });

  test("merges a transform into the bucket args", async () => {
    new mod.ModelRegistry(unique("models"), { transform: { bucket: { tags: { team: "risk" } } } });
    await waitForResources();
    expect(findResource("aws:s3/bucket:Bucket").inputs.tags).toMatchObject({ team: "risk", "mlops:stage": "dev" });
  });
});

describe("ModelRegistry on existing storage", () => {
  test("creates nothing for an existing bucket and points the uri at it", async () => {
    const r = new mod.ModelRegistry(unique("models"), { storage: { bucket: "shared-models", prefix: "fraud" } });
    expect(await outputOf(r.uri)).toBe("s3://shared-models/fraud");
    await waitForResources();
    expect(resources().filter((x) => x.type.startsWith("aws:"))).toEqual([]);
  });

  test("resolves a relative path to an absolute file:// uri", async () => {
    const r = new mod.ModelRegistry(unique("models"), { storage: { path: ".mlops/registry" } });
    expect(await outputOf(r.uri)).toBe(new URL(`file://${process.cwd()}/.mlops/registry`).href);
    expect(await outputOf(r.bucketName)).toBeUndefined();
  });

  test("reads a relative file:// uri like the CLI default", () => {
    expect(mod.fileUri("file://.mlops/registry", "/work")).toBe("file:///work/.mlops/registry");
  });
});

describe("ModelRegistry validation", () => {
  test("fails when the bucket name is not a valid S3 name", () => {
    expect(() => new mod.ModelRegistry(unique("models"), { storage: { s3: { bucketName: "Bad_Name" } } })).toThrow(
      /args\.storage.*Bad_Name/s,
    );
  });

  test("fails when storage mixes two kinds", () => {
    expect(() => new mod.ModelRegistry(unique("models"), { storage: { bucket: "b-1", path: "/x" } as never })).toThrow(/args\.storage/);
  });

  test("fails when an unknown option is given", () => {
    expect(() => new mod.ModelRegistry(unique("models"), { storage: { s3: { versioned: false } } } as never)).toThrow(/versioned/);
  });

  test("fails before creating any resource", async () => {
    expect(() => new mod.ModelRegistry(unique("models"), { storage: { s3: { bucketName: "x" } } })).toThrow();
    await waitForResources();
    expect(resources().filter((r) => r.type.startsWith("aws:"))).toEqual([]);
  });
});
