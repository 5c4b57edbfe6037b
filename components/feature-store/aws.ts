/**
 * The AWS side of a FeatureStore on an EKS TrainingCluster: the offline bucket (private, encrypted,
 * versioned, public access blocked, ACLs disabled, TLS only: the registry bucket's guard rails) and the
 * online store on ElastiCache (TLS required in transit, encrypted at rest, AUTH token, in the cluster's
 * subnets, reachable on 6379 from the cluster's nodes only). The args builders are pure.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { bucketArgs, encryptionArgs, ownershipControlsArgs, policyArgs, publicAccessBlockArgs, versioningArgs } from "../model-registry/bucket.js";
import { applyTransform } from "../shared/transform.js";
import type { FeatureStoreTransforms } from "./args.js";
import { FEATURE_STORE_DEFAULTS as D, type OnlineStore } from "./normalize.js";

type ElastiCache = Extract<OnlineStore, { kind: "elasticache" }>;

export interface OfflineBucketResources {
  readonly bucket: aws.s3.Bucket;
  readonly versioning: aws.s3.BucketVersioning;
  readonly encryption: aws.s3.BucketServerSideEncryptionConfiguration;
  readonly publicAccessBlock: aws.s3.BucketPublicAccessBlock;
  readonly ownershipControls: aws.s3.BucketOwnershipControls;
  readonly policy: aws.s3.BucketPolicy;
  readonly lifecycle: aws.s3.BucketLifecycleConfiguration;
}

export interface ElastiCacheResources {
  readonly subnetGroup: aws.elasticache.SubnetGroup;
  readonly securityGroup: aws.ec2.SecurityGroup;
  /** 6379 from the cluster's node security group: the only way in. */
  readonly ingress: aws.vpc.SecurityGroupIngressRule;
  readonly replicationGroup: aws.elasticache.ReplicationGroup;
}

/** What the AWS builders need to know of where they deploy. */
export interface AwsContext {
  readonly parent: pulumi.Resource;
  /** The logical name prefix of the children. */
  readonly name: string;
  /** `${project}-${stage}-${name}`: physical names and descriptions. */
  readonly physicalName: string;
  readonly tags: Record<string, string>;
  /** Prod: stateful resources are protected (the bucket is also retained on delete). */
  readonly protect: boolean;
  readonly transform?: FeatureStoreTransforms;
}

/** Old object versions and unfinished uploads do not pile up; current objects never expire. */
export function offlineLifecycleArgs(bucket: pulumi.Input<string>, prefix: string): aws.s3.BucketLifecycleConfigurationArgs {
  return {
    bucket,
    rules: [
      {
        id: "noncurrent-versions-and-uploads",
        status: "Enabled",
        filter: { prefix: prefix ? `${prefix}/` : "" },
        noncurrentVersionExpiration: { noncurrentDays: 30 },
        abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
        expiration: { expiredObjectDeleteMarker: true },
      },
    ],
  };
}

/** A new offline bucket with the registry bucket's guard rails; in prod protected and retained on delete. */
export function createOfflineBucket(ctx: AwsContext, o: { readonly prefix: string; readonly forceDestroy: boolean; readonly kmsKeyArn?: pulumi.Input<string> }): OfflineBucketResources {
  const opts: pulumi.CustomResourceOptions = ctx.protect ? { parent: ctx.parent, protect: true, retainOnDelete: true } : { parent: ctx.parent };
  const n = (child: string) => `${ctx.name}-${child}`;
  const bucket = new aws.s3.Bucket(
    n("offline"),
    ...applyTransform(ctx.transform?.bucket, n("offline"), bucketArgs({ physicalName: `${ctx.physicalName}-offline`, forceDestroy: o.forceDestroy, tags: ctx.tags }), opts),
  );
  const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(n("offline-public-access"), publicAccessBlockArgs(bucket.id), opts);
  const ownershipControls = new aws.s3.BucketOwnershipControls(n("offline-ownership"), ownershipControlsArgs(bucket.id), opts);
  const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(n("offline-encryption"), encryptionArgs(bucket.id, o.kmsKeyArn), opts);
  const versioning = new aws.s3.BucketVersioning(n("offline-versioning"), versioningArgs(bucket.id), opts);
  const policy = new aws.s3.BucketPolicy(n("offline-policy"), policyArgs(bucket.id, bucket.arn), { ...opts, dependsOn: [publicAccessBlock] });
  const lifecycle = new aws.s3.BucketLifecycleConfiguration(n("offline-lifecycle"), offlineLifecycleArgs(bucket.id, o.prefix), { ...opts, dependsOn: [versioning] });
  return { bucket, versioning, encryption, publicAccessBlock, ownershipControls, policy, lifecycle };
}

/** The cluster's network, as the online store needs it. */
export interface ClusterNetwork {
  readonly vpcId: pulumi.Input<string>;
  /** The cluster's subnets (the private ones when it made its VPC). */
  readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** The security group of the cluster's nodes (EKS's cluster security group, which managed node groups use). */
  readonly nodeSecurityGroupId: pulumi.Input<string>;
}

export function subnetGroupArgs(physicalName: string, subnetIds: ClusterNetwork["subnetIds"], tags: Record<string, string>): aws.elasticache.SubnetGroupArgs {
  return { name: `${physicalName}-online`, description: `Online feature store ${physicalName}`, subnetIds, tags };
}

/** A security group without inline rules (the ingress rule is its own resource) and no egress: the store opens no connections. */
export function securityGroupArgs(physicalName: string, vpcId: pulumi.Input<string>, tags: Record<string, string>): aws.ec2.SecurityGroupArgs {
  return { namePrefix: `${physicalName}-online-`, description: `Online feature store ${physicalName}: Redis protocol from the cluster's nodes`, vpcId, revokeRulesOnDelete: true, tags };
}

export function ingressRuleArgs(securityGroupId: pulumi.Input<string>, nodeSecurityGroupId: pulumi.Input<string>, tags: Record<string, string>): aws.vpc.SecurityGroupIngressRuleArgs {
  return {
    securityGroupId,
    referencedSecurityGroupId: nodeSecurityGroupId,
    ipProtocol: "tcp",
    fromPort: D.redisPort,
    toPort: D.redisPort,
    description: "Redis protocol (TLS) from the cluster's nodes",
    tags,
  };
}

/**
 * The replication group: cluster mode off (one primary endpoint; the feature keys fit one shard, and a
 * client needs no cluster support), TLS required, encrypted at rest, the AUTH token (a secret), automatic
 * failover and Multi-AZ when the stage has replicas for it. Changes apply during `pulumi up` rather than
 * in the next maintenance window: a new token must reach the server when the pods get it.
 */
export function replicationGroupArgs(o: {
  readonly physicalName: string;
  readonly online: ElastiCache;
  readonly authToken: pulumi.Input<string>;
  readonly subnetGroupName: pulumi.Input<string>;
  readonly securityGroupId: pulumi.Input<string>;
  readonly kmsKeyArn?: pulumi.Input<string>;
  readonly tags: Record<string, string>;
}): aws.elasticache.ReplicationGroupArgs {
  const e = o.online;
  return {
    description: `Online feature store ${o.physicalName}`,
    engine: e.engine,
    engineVersion: e.engineVersion,
    nodeType: e.nodeType,
    port: D.redisPort,
    clusterMode: "disabled",
    numCacheClusters: e.nodes,
    automaticFailoverEnabled: e.automaticFailover,
    multiAzEnabled: e.automaticFailover,
    subnetGroupName: o.subnetGroupName,
    securityGroupIds: [o.securityGroupId],
    transitEncryptionEnabled: true,
    transitEncryptionMode: "required",
    atRestEncryptionEnabled: true,
    ...(o.kmsKeyArn !== undefined ? { kmsKeyId: o.kmsKeyArn } : {}),
    authToken: pulumi.secret(o.authToken),
    autoMinorVersionUpgrade: true,
    applyImmediately: true,
    snapshotRetentionLimit: e.snapshotRetentionDays,
    ...(e.maintenanceWindow !== undefined ? { maintenanceWindow: e.maintenanceWindow } : {}),
    tags: o.tags,
  };
}

/**
 * The ElastiCache online store in the cluster's subnets. The replication group's id is left to Pulumi's
 * auto-naming (its description and tags carry the physical name): a replacement (a new KMS key, another
 * subnet group) then creates the new group before deleting the old one, and the pods move to the new
 * endpoint in the same update.
 */
export function createElastiCache(
  ctx: AwsContext,
  net: ClusterNetwork,
  online: ElastiCache,
  authToken: pulumi.Input<string>,
  kmsKeyArn?: pulumi.Input<string>,
): ElastiCacheResources {
  const opts: pulumi.CustomResourceOptions = { parent: ctx.parent };
  const t = ctx.transform ?? {};
  const n = (child: string) => `${ctx.name}-${child}`;
  const subnetGroup = new aws.elasticache.SubnetGroup(n("online-subnets"), ...applyTransform(t.subnetGroup, n("online-subnets"), subnetGroupArgs(ctx.physicalName, net.subnetIds, ctx.tags), opts));
  const securityGroup = new aws.ec2.SecurityGroup(n("online-sg"), ...applyTransform(t.securityGroup, n("online-sg"), securityGroupArgs(ctx.physicalName, net.vpcId, ctx.tags), opts));
  const ingress = new aws.vpc.SecurityGroupIngressRule(n("online-from-nodes"), ingressRuleArgs(securityGroup.id, net.nodeSecurityGroupId, ctx.tags), opts);
  const args = replicationGroupArgs({
    physicalName: ctx.physicalName,
    online,
    authToken,
    subnetGroupName: subnetGroup.name,
    securityGroupId: securityGroup.id,
    ...(kmsKeyArn !== undefined ? { kmsKeyArn } : {}),
    tags: ctx.tags,
  });
  const replicationGroup = new aws.elasticache.ReplicationGroup(
    n("online"),
    ...applyTransform(t.replicationGroup, n("online"), args, { ...opts, ...(ctx.protect ? { protect: true } : {}), dependsOn: [ingress] }),
  );
  return { subnetGroup, securityGroup, ingress, replicationGroup };
}

/** `rediss://<primary endpoint>:6379`: TLS, no credentials. */
export function elastiCacheUrl(replicationGroup: aws.elasticache.ReplicationGroup): pulumi.Output<string> {
  return pulumi.interpolate`rediss://${replicationGroup.primaryEndpointAddress}:${D.redisPort}`;
}
