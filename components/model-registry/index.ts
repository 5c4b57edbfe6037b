import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { stackContext, stackPhysicalName } from "../shared/stage.js";
import { applyTransform } from "../shared/transform.js";
import { validateArgs } from "../shared/validate.js";
import { ModelRegistryArgsSchema, type ModelRegistryArgs } from "./args.js";
import { bucketArgs, encryptionArgs, lifecycleArgs, ownershipControlsArgs, policyArgs, publicAccessBlockArgs, versioningArgs } from "./bucket.js";
import { normalizeStorage, s3Uri, type NormalizedStorage } from "./normalize.js";

export * from "./args.js";
export * from "./bucket.js";
export * from "./kms.js";
export * from "./normalize.js";

/** The resources a ModelRegistry made (none when it uses an existing bucket or a local path). */
export interface ModelRegistryNodes {
  readonly bucket?: aws.s3.Bucket;
  readonly versioning?: aws.s3.BucketVersioning;
  readonly encryption?: aws.s3.BucketServerSideEncryptionConfiguration;
  readonly publicAccessBlock?: aws.s3.BucketPublicAccessBlock;
  readonly ownershipControls?: aws.s3.BucketOwnershipControls;
  readonly policy?: aws.s3.BucketPolicy;
  /** Undefined with `lifecycle: false`. */
  readonly lifecycle?: aws.s3.BucketLifecycleConfiguration;
}

/**
 * A model registry (immutable versions, movable aliases) on an object store: a new private S3 bucket
 * (encrypted, versioned, public access blocked, ACLs disabled, TLS only), an existing bucket, or a local
 * folder. In a `prod` stage the bucket is protected and retained on delete.
 *
 * @example
 * const registry = new mlops.ModelRegistry("models", { storage: { s3: {} } });
 * export const registryUri = registry.uri; // s3://mlops-prod-models-…
 */
export class ModelRegistry extends pulumi.ComponentResource {
  static readonly TYPE = "mlops:registry:ModelRegistry";

  /** The registry URI (`s3://bucket[/prefix]` or `file:///abs/path`), what `mlops` and the runtime take. */
  readonly uri: pulumi.Output<string>;
  /** The bucket name; undefined for a local path. */
  readonly bucketName: pulumi.Output<string | undefined>;
  /** The bucket ARN; undefined for a local path. */
  readonly bucketArn: pulumi.Output<string | undefined>;
  /**
   * The customer-managed KMS key encrypting the bucket (`storage.s3.kmsKeyArn`), which roles reaching the
   * registry must be allowed to use; undefined with SSE-S3, an existing bucket or a local path.
   */
  readonly kmsKeyArn: pulumi.Output<string | undefined>;
  private readonly children: ModelRegistryNodes;

  constructor(name: string, args: ModelRegistryArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
    super(ModelRegistry.TYPE, name, {}, opts);
    const valid = validateArgs(ModelRegistryArgsSchema, args, { context: `new ModelRegistry("${name}")` }) as ModelRegistryArgs;
    const storage = normalizeStorage(valid);

    if (storage.kind === "s3") {
      this.children = this.createBucket(name, storage, args);
      const bucket = this.children.bucket!;
      this.bucketName = bucket.bucket;
      this.bucketArn = bucket.arn;
      // The URI is only usable once the bucket is locked down: wait for the guard rails.
      const ready = [this.children.publicAccessBlock!.id, this.children.encryption!.id, this.children.versioning!.id];
      this.uri = pulumi.all([bucket.bucket, ...ready]).apply(([b]) => s3Uri(b, storage.prefix));
      this.kmsKeyArn = pulumi.output<string | undefined>(storage.kmsKeyArn);
    } else if (storage.kind === "bucket") {
      this.children = {};
      this.bucketName = pulumi.output<string | undefined>(storage.bucket);
      this.bucketArn = pulumi.output<string | undefined>(`arn:aws:s3:::${storage.bucket}`);
      this.uri = pulumi.output(s3Uri(storage.bucket, storage.prefix));
      this.kmsKeyArn = pulumi.output<string | undefined>(undefined);
    } else {
      this.children = {};
      this.bucketName = pulumi.output<string | undefined>(undefined);
      this.bucketArn = pulumi.output<string | undefined>(undefined);
      this.uri = pulumi.output(storage.uri);
      this.kmsKeyArn = pulumi.output<string | undefined>(undefined);
    }
    this.registerOutputs({ uri: this.uri, bucketName: this.bucketName, bucketArn: this.bucketArn, kmsKeyArn: this.kmsKeyArn });
  }

  /** The underlying resources, for what the args do not cover. */
  get nodes(): ModelRegistryNodes {
    return this.children;
  }

  private createBucket(name: string, storage: Extract<NormalizedStorage, { kind: "s3" }>, args: ModelRegistryArgs): ModelRegistryNodes {
    const { project, stage, defaults } = stackContext();
    const t = args.transform ?? {};
    // Losing the registry loses every model's lineage: in prod it survives `destroy` and refuses deletion.
    // So do its guard rails: a retained bucket whose public access block, encryption, versioning or TLS
    // policy were deleted with the stack (or by a replacement) would outlive them unguarded.
    const childOpts: pulumi.CustomResourceOptions = defaults.protect ? { parent: this, protect: true, retainOnDelete: true } : { parent: this };

    const tags = { "mlops:project": project, "mlops:stage": stage, "mlops:component": "model-registry" };
    const bucket = new aws.s3.Bucket(
      `${name}-bucket`,
      ...applyTransform(t.bucket, `${name}-bucket`, bucketArgs({ physicalName: stackPhysicalName(name), ...storage, tags }), childOpts),
    );
    const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      ...applyTransform(t.publicAccessBlock, `${name}-public-access`, publicAccessBlockArgs(bucket.id), childOpts),
    );
    const ownershipControls = new aws.s3.BucketOwnershipControls(
      `${name}-ownership`,
      ...applyTransform(t.ownershipControls, `${name}-ownership`, ownershipControlsArgs(bucket.id), childOpts),
    );
    const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      ...applyTransform(t.encryption, `${name}-encryption`, encryptionArgs(bucket.id, storage.kmsKeyArn), childOpts),
    );
    const versioning = new aws.s3.BucketVersioning(
      `${name}-versioning`,
      ...applyTransform(t.versioning, `${name}-versioning`, versioningArgs(bucket.id), childOpts),
    );
    // After the public access block: a policy written first could briefly be evaluated without it.
    const policy = new aws.s3.BucketPolicy(
      `${name}-policy`,
      ...applyTransform(t.policy, `${name}-policy`, policyArgs(bucket.id, bucket.arn), { ...childOpts, dependsOn: [publicAccessBlock] }),
    );
    // After versioning: the noncurrent-version rule only means something on a versioned bucket.
    const lifecycle =
      storage.lifecycle === false
        ? undefined
        : new aws.s3.BucketLifecycleConfiguration(
            `${name}-lifecycle`,
            ...applyTransform(t.lifecycle, `${name}-lifecycle`, lifecycleArgs(bucket.id, storage.prefix, storage.lifecycle), { ...childOpts, dependsOn: [versioning] }),
          );
    return { bucket, versioning, encryption, publicAccessBlock, ownershipControls, policy, ...(lifecycle ? { lifecycle } : {}) };
  }
}
