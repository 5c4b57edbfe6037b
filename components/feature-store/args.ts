import type * as aws from "@pulumi/aws";
import type * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { FeatureStoreSpecSchema, type FeatureStoreSpecInput } from "../../src/spec/features.js";
import { KubernetesTargetSchema, type KubernetesTarget } from "../shared/kubernetes.js";
import { S3AccessSchema, type S3AccessArgs } from "../shared/s3-access.js";
import type { Transform } from "../shared/transform.js";
import { cronSchedule, dnsLabelSchema, imageRepositorySchema, inputString, isInput, placementSchema, quantity } from "../shared/validate.js";

/** Where the feature server's pods and the materialization pods run. */
export interface PlacementArgs {
  readonly nodeSelector?: Record<string, string>;
  readonly tolerations?: k8s.types.input.core.v1.Toleration[];
}

/** ElastiCache (Valkey or Redis OSS) settings; only on an EKS TrainingCluster. */
export interface ElastiCacheArgs {
  /** @default "valkey" */
  readonly engine?: "valkey" | "redis";
  /** `<major>.<minor>`. @default "8.2" (Valkey; "7.1" for Redis OSS) */
  readonly engineVersion?: string;
  /** @default - by stage: dev "cache.t4g.small", staging "cache.m7g.large", prod "cache.r7g.large" */
  readonly nodeType?: string;
  /** Nodes in the replication group (primary and replicas). @default - by stage: dev 1, staging 2, prod 3 (one per zone) */
  readonly nodes?: number;
  /** Automatic failover and Multi-AZ (needs `nodes` ≥ 2). @default - by stage: off in dev, on in staging and prod */
  readonly automaticFailover?: boolean;
  /** Customer-managed KMS key for encryption at rest. @default - the ElastiCache-owned key (encryption at rest is always on) */
  readonly kmsKeyArn?: pulumi.Input<string>;
  /** Days of automatic snapshots. @default - by stage: dev 0, staging 1, prod 7 */
  readonly snapshotRetentionDays?: number;
  /** Weekly maintenance window, `ddd:hh24:mi-ddd:hh24:mi` UTC. @default - chosen by ElastiCache */
  readonly maintenanceWindow?: string;
}

/** A single-node Valkey in the cluster: a restricted StatefulSet with a PersistentVolumeClaim. */
export interface InClusterRedisArgs {
  /** @default "valkey/valkey:8.1.11-alpine" */
  readonly image?: string;
  /**
   * The data volume (append-only file): a PVC of `size`, or `false` for an emptyDir (the store is lost
   * with the pod and must be materialized again from scratch).
   * @default { size: by stage: dev "1Gi", staging "10Gi", prod "20Gi" } with the cluster's default StorageClass
   */
  readonly storage?: false | { readonly size?: string; readonly storageClassName?: string };
  /** Requests = limits; `maxmemory` is 80% of `memory`. @default { cpu: "500m", memory: "1Gi" } */
  readonly resources?: { readonly cpu?: string; readonly memory?: string };
}

/**
 * The online store. On an EKS TrainingCluster it is ElastiCache by default; anywhere else (or with
 * `inCluster`) a Valkey StatefulSet in the store's namespace.
 */
export interface OnlineStoreArgs {
  /**
   * The AUTH token (16 to 128 printable ASCII characters, none of space, `"`, `/`, `@`). Give it as a
   * secret (`config.requireSecret("featureStoreToken")`): it goes to ElastiCache (or the in-cluster
   * server's config) and a Kubernetes Secret, never into a pod spec, the rendered spec or an output.
   */
  readonly authToken: pulumi.Input<string>;
  /** ElastiCache settings. @default - ElastiCache with the stage's defaults on an EKS TrainingCluster */
  readonly elastiCache?: ElastiCacheArgs;
  /** An in-cluster Valkey instead. @default - when the cluster is not an EKS TrainingCluster */
  readonly inCluster?: InClusterRedisArgs;
}

/** The offline store: where the registry (view versions, training sets, watermarks) lives. */
export interface OfflineStoreArgs {
  /** An existing bucket: nothing is created. @default - a new private bucket (EKS TrainingCluster only) */
  readonly bucket?: string;
  /** Key prefix inside the bucket. @default - the bucket root */
  readonly prefix?: string;
  /** Let `pulumi destroy` delete a new bucket that still holds objects. @default false */
  readonly forceDestroy?: boolean;
  /** KMS key of the bucket (SSE-KMS): a new bucket is encrypted with it; the roles may use it through S3. @default - SSE-S3 */
  readonly kmsKeyArn?: pulumi.Input<string>;
}

export interface FeatureServerArgs {
  /** @default - by stage: dev 1–2, staging 2–4, prod 3–20; targetCpuUtilization 70 */
  readonly replicas?: { readonly min?: number; readonly max?: number; readonly targetCpuUtilization?: number };
  /** Kubernetes quantities, requests = limits. @default { cpu: "500m", memory: "512Mi" } */
  readonly resources?: { readonly cpu?: string; readonly memory?: string };
  /** Namespaces whose pods may reach the server (and the in-cluster Redis). The store's own namespace always may. @default { namespaces: [] } */
  readonly allowFrom?: { readonly namespaces: readonly string[] };
}

export interface MaterializationArgs {
  /** Cron schedule of `mlops features materialize --incremental`. @default "0 * * * *" (hourly) */
  readonly schedule?: string;
  /** IANA time zone of `schedule`. @default - the controller's (UTC on EKS) */
  readonly timeZone?: string;
  /** Re-scanned window before the watermark, for late rows. @default "1h" */
  readonly lateness?: string;
  /** Rows per chunk (memory is bounded by this). @default 50000 */
  readonly chunkRows?: number;
  /** @default { cpu: "1", memory: "2Gi", scratchSize: "10Gi" } */
  readonly resources?: { readonly cpu?: string; readonly memory?: string; readonly scratchSize?: string };
  /** A run is stopped after this long. @default 10800 (3 hours) */
  readonly activeDeadlineSeconds?: number;
  /** @default 2 */
  readonly backoffLimit?: number;
}

/** Per-child hooks, the escape hatch for what the args do not cover. */
export interface FeatureStoreTransforms {
  readonly namespace?: Transform<k8s.core.v1.NamespaceArgs>;
  readonly serviceAccount?: Transform<k8s.core.v1.ServiceAccountArgs>;
  /** The Secret holding the online store's AUTH token. */
  readonly secret?: Transform<k8s.core.v1.SecretArgs>;
  readonly s3Secret?: Transform<k8s.core.v1.SecretArgs>;
  readonly cronJob?: Transform<k8s.batch.v1.CronJobArgs>;
  readonly deployment?: Transform<k8s.apps.v1.DeploymentArgs>;
  readonly service?: Transform<k8s.core.v1.ServiceArgs>;
  readonly autoscaler?: Transform<k8s.autoscaling.v2.HorizontalPodAutoscalerArgs>;
  readonly disruptionBudget?: Transform<k8s.policy.v1.PodDisruptionBudgetArgs>;
  readonly networkPolicy?: Transform<k8s.networking.v1.NetworkPolicyArgs>;
  readonly redisStatefulSet?: Transform<k8s.apps.v1.StatefulSetArgs>;
  readonly redisService?: Transform<k8s.core.v1.ServiceArgs>;
  readonly redisNetworkPolicy?: Transform<k8s.networking.v1.NetworkPolicyArgs>;
  readonly bucket?: Transform<aws.s3.BucketArgs>;
  readonly replicationGroup?: Transform<aws.elasticache.ReplicationGroupArgs>;
  readonly subnetGroup?: Transform<aws.elasticache.SubnetGroupArgs>;
  readonly securityGroup?: Transform<aws.ec2.SecurityGroupArgs>;
  readonly image?: Transform<docker.ImageArgs>;
}

/**
 * @example
 * new mlops.FeatureStore("features", {
 *   kubernetes: cluster,                                   // an EKS TrainingCluster: S3 + ElastiCache + IRSA
 *   entities: [{ name: "customer", joinKeys: ["customer_id"] }],
 *   views: [{ name: "txn_stats", entities: ["customer"], ttl: "3d",
 *             source: { uri: "s3://data/txn_stats.parquet", timestampField: "event_timestamp" },
 *             features: [{ name: "spend_7d", dtype: "float64" }] }],
 *   online: { authToken: config.requireSecret("featureStoreToken") },
 * });
 */
export interface FeatureStoreArgs {
  /** The cluster: a TrainingCluster, `{ provider }` or `{ kubeconfig }` (as ModelEndpoint takes). */
  readonly kubernetes: KubernetesTarget;
  /** An existing namespace (name or resource). @default - a new namespace `${project}-${stage}-${name}` enforcing Pod Security "restricted" */
  readonly namespace?: string | k8s.core.v1.Namespace;
  /** The spec's entities (src/spec/features.ts). */
  readonly entities: FeatureStoreSpecInput["entities"];
  /** The spec's feature views; sources must be `s3://` (pods cannot read a local path). */
  readonly views: FeatureStoreSpecInput["views"];
  readonly online: OnlineStoreArgs;
  /** @default - a new bucket on an EKS TrainingCluster; required elsewhere */
  readonly offline?: OfflineStoreArgs;
  readonly materialization?: MaterializationArgs;
  readonly server?: FeatureServerArgs;
  /** @default - built from this package's runtime/Dockerfile by @pulumi/docker */
  readonly image?: pulumi.Input<string>;
  /** Where to push the built image. @default - not pushed */
  readonly imageRepository?: string;
  /** @default - the cluster's serving pool (a TrainingCluster with one), else anywhere */
  readonly placement?: PlacementArgs;
  /** The server's and Redis pods' PriorityClass; `false`: none. @default - the TrainingCluster's serving class, else none */
  readonly priorityClassName?: string | false;
  /** An S3-compatible server and static credentials (kind with MinIO). @default - AWS S3, IRSA on EKS */
  readonly s3?: S3AccessArgs;
  /** One IAM role for both ServiceAccounts; given, no role is made. @default - on an EKS TrainingCluster, a least-privilege role each */
  readonly serviceAccountRoleArn?: pulumi.Input<string>;
  /** KMS keys the sources are encrypted with: the materializer may decrypt with them, through S3. @default [] */
  readonly sourceKmsKeyArns?: readonly pulumi.Input<string>[];
  readonly transform?: FeatureStoreTransforms;
}

/** The store's name: the spec's name and part of every object's name. */
export const FeatureStoreNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,39}$/, "must be 1-40 lowercase letters, digits and '-', starting with a letter");

/**
 * ElastiCache's AUTH token rules (also safe in the in-cluster server's config file): 16 to 128 printable
 * ASCII characters other than space, `"`, `/` and `@`.
 * https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html
 */
export const AUTH_TOKEN_PATTERN = /^[\x21\x23-\x2e\x30-\x3f\x41-\x7e]{16,128}$/;
const AUTH_TOKEN_RULE = 'must be 16 to 128 printable ASCII characters without spaces, \'"\', \'/\' or \'@\' (ElastiCache\'s AUTH token rules)';
const authToken = z.custom<pulumi.Input<string>>(
  (v) => isInput(v) && (typeof v !== "string" || AUTH_TOKEN_PATTERN.test(v)),
  AUTH_TOKEN_RULE,
);

const specShape = FeatureStoreSpecSchema.shape;
const specMaterialization = specShape.materialization.unwrap().shape;
const cpu = quantity("CPU", 0.01, 256, '"1" or "500m"');
const memory = quantity("memory", 64 * 2 ** 20, 4 * 2 ** 40, '"1Gi" or "512Mi"');
const input = inputString();
const whole = (min: number, max: number) => z.number().int(`must be a whole number from ${min} to ${max}`).min(min).max(max);
const bucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be a bucket name (not a URI): 3-63 lowercase letters, digits, '.' and '-'");
const prefix = z.string().regex(/^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*$/, 'must be a key prefix such as "features" or "team/features" (no leading or trailing \'/\')');

export const FeatureStoreArgsSchema = z
  .object({
    kubernetes: KubernetesTargetSchema,
    namespace: z
      .union([dnsLabelSchema, z.custom<k8s.core.v1.Namespace>((v) => k8s.core.v1.Namespace.isInstance(v), "must be a namespace name or a Namespace")])
      .optional(),
    entities: specShape.entities,
    views: specShape.views,
    online: z
      .object({
        authToken,
        elastiCache: z
          .object({
            engine: z.enum(["valkey", "redis"]).optional(),
            engineVersion: z.string().regex(/^[6-9]\.[0-9]+$/, 'must be "<major>.<minor>", e.g. "8.2"').optional(),
            nodeType: z.string().regex(/^cache\.[a-z0-9]+\.[a-z0-9]+$/, 'must be an ElastiCache node type such as "cache.r7g.large"').optional(),
            nodes: whole(1, 6).optional(),
            automaticFailover: z.boolean().optional(),
            kmsKeyArn: input.optional(),
            snapshotRetentionDays: whole(0, 35).optional(),
            maintenanceWindow: z
              .string()
              .regex(/^(mon|tue|wed|thu|fri|sat|sun):[0-2][0-9]:[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):[0-2][0-9]:[0-5][0-9]$/, 'must be "ddd:hh24:mi-ddd:hh24:mi", e.g. "sun:05:00-sun:06:00"')
              .optional(),
          })
          .strict()
          .optional(),
        inCluster: z
          .object({
            image: z.string().regex(/^\S+$/, "must be an image reference").optional(),
            storage: z
              .union([
                z.literal(false),
                z.object({ size: quantity("storage", 2 ** 20, 64 * 2 ** 40, '"10Gi"').optional(), storageClassName: dnsLabelSchema.optional() }).strict(),
              ])
              .optional(),
            resources: z.object({ cpu: cpu.optional(), memory: memory.optional() }).strict().optional(),
          })
          .strict()
          .optional(),
      })
      .strict(),
    offline: z
      .object({ bucket: bucketName.optional(), prefix: prefix.optional(), forceDestroy: z.boolean().optional(), kmsKeyArn: input.optional() })
      .strict()
      .optional(),
    materialization: z
      .object({
        schedule: cronSchedule().optional(),
        timeZone: z.string().min(1).optional(),
        lateness: specMaterialization.lateness,
        chunkRows: specMaterialization.chunkRows,
        resources: z.object({ cpu: cpu.optional(), memory: memory.optional(), scratchSize: quantity("storage", 2 ** 20, 64 * 2 ** 40, '"10Gi"').optional() }).strict().optional(),
        activeDeadlineSeconds: whole(60, 7 * 86_400).optional(),
        backoffLimit: whole(0, 20).optional(),
      })
      .strict()
      .optional(),
    server: z
      .object({
        replicas: z
          .object({ min: whole(1, 1000).optional(), max: whole(1, 1000).optional(), targetCpuUtilization: whole(1, 100).optional() })
          .strict()
          .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, { message: "min must not exceed max: lower min or raise max" })
          .optional(),
        resources: z.object({ cpu: cpu.optional(), memory: memory.optional() }).strict().optional(),
        allowFrom: z.object({ namespaces: z.array(dnsLabelSchema) }).strict().optional(),
      })
      .strict()
      .optional(),
    image: input.optional(),
    imageRepository: imageRepositorySchema.optional(),
    placement: placementSchema.optional(),
    priorityClassName: z
      .union([z.literal(false), z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, "must be a PriorityClass name, or false for none")])
      .optional(),
    s3: S3AccessSchema.optional(),
    serviceAccountRoleArn: input.optional(),
    sourceKmsKeyArns: z.array(input).optional(),
    transform: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
