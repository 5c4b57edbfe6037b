/**
 * The example dataset of the reference platform, in a bucket the stack owns. The stage files used to name
 * `s3://example-ml-data/…`, a bucket that exists in no account, so the first training run failed; a stage
 * that sets no `training.dataset` now gets examples/breast-cancer/data.csv uploaded by `pulumi up`.
 */
import { join } from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { encryptionArgs } from "../components/model-registry/bucket.js";
import { MlopsError } from "../src/errors.js";
import { packageRoot } from "../src/package.js";

/** The file uploaded, its key in the bucket, and its label column. */
export const EXAMPLE_DATASET = {
  file: join("examples", "breast-cancer", "data.csv"),
  key: "breast-cancer/data.csv",
  label: "label",
} as const;

/**
 * The bucket's physical name. TrainingJob takes the dataset URI as a plain string (its IAM policy and the
 * rendered spec are built from it before anything exists), so the name cannot be an auto-named Output:
 * it is derived from what makes it globally unique and stable, the account and region, as the CDK's
 * bootstrap bucket is (`cdk-<qualifier>-assets-<account>-<region>`).
 */
export function exampleDatasetBucketName(o: { project: string; stage: string; accountId: string; region: string }): string {
  const name = `${o.project}-${o.stage}-data-${o.accountId}-${o.region}`.toLowerCase().replace(/[^a-z0-9-]+/g, "-");
  if (name.length > 63) {
    throw new MlopsError(
      `pulumi-mlops:training.dataset: is not set, and the example dataset's bucket name "${name}" is longer than S3's 63 characters (project "${o.project}"). ` +
        `Fix: pulumi config set --stack ${o.stage} --path 'pulumi-mlops:training.dataset' s3://<bucket>/<key>.csv, or shorten the project name.`,
    );
  }
  return name;
}

/**
 * Creates the bucket (private, TLS-only through the account's S3 defaults: new buckets block public
 * access and disable ACLs) and uploads the example; returns the dataset URI and the object, which the
 * training job waits for, and the bucket (the example's features go there too: stacks/features.ts).
 */
export function createExampleDataset(
  name: string,
  o: { bucketName: string; protect: boolean },
): { uri: string; format: "csv"; label: string; object: aws.s3.BucketObjectv2; bucket: aws.s3.Bucket } {
  // Disposable data: a dev or staging `destroy` removes it with its contents; prod keeps it like its other state.
  const stateful: pulumi.CustomResourceOptions = o.protect ? { protect: true, retainOnDelete: true } : {};
  const bucket = new aws.s3.Bucket(`${name}-bucket`, { bucket: o.bucketName, forceDestroy: !o.protect }, stateful);
  const publicAccess = new aws.s3.BucketPublicAccessBlock(
    `${name}-public-access`,
    { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
    stateful,
  );
  // Encrypted at rest like every bucket the components make (SSE-S3: the data is a public example).
  const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-encryption`, encryptionArgs(bucket.id), stateful);
  const object = new aws.s3.BucketObjectv2(
    `${name}-object`,
    {
      bucket: bucket.id,
      key: EXAMPLE_DATASET.key,
      source: new pulumi.asset.FileAsset(join(packageRoot(), EXAMPLE_DATASET.file)),
      contentType: "text/csv",
    },
    { dependsOn: [publicAccess, encryption] },
  );
  return { uri: `s3://${o.bucketName}/${EXAMPLE_DATASET.key}`, format: "csv", label: EXAMPLE_DATASET.label, object, bucket };
}
