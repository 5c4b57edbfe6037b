/** Validation across fields and the defaults of FeatureStore (pure: tested without Pulumi). */
import type * as k8s from "@pulumi/kubernetes";
import { MlopsError, problem } from "../../src/errors.js";
import { FEATURE_DEFAULTS, FeatureStoreSpecSchema, parseFeatureStoreSpec } from "../../src/spec/features.js";
import type { Placement } from "../shared/constants.js";
import { STAGE_DEFAULTS, stageTier, type StageTier } from "../shared/stage.js";
import type { FeatureStoreArgs } from "./args.js";

/** What each stage gets from ElastiCache when the args say nothing. */
interface ElastiCacheTier {
  readonly nodeType: string;
  readonly nodes: number;
  readonly automaticFailover: boolean;
  readonly snapshotRetentionDays: number;
}

/**
 * Every default of FeatureStore, in one place (the JSDoc in args.ts states the same values).
 *
 * ElastiCache: Valkey 8.2, the newest engine AWS documents as available on node-based clusters in every
 * Region (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/vector-search-features-limits.html), and
 * Graviton node types offered in every Region, the newest ones included (m7g/r7g and t4g are the types the
 * Thailand and Mexico Regions list: https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheNodes.SupportedTypes.html).
 * The in-cluster server is the Valkey project's own image (BSD licensed, multi-arch), 8.1 being the newest
 * patch line of the same major.
 */
export const FEATURE_STORE_DEFAULTS = {
  /** Hourly, on the hour. */
  schedule: "0 * * * *",
  /** Feast's feature-server port, where `mlops features serve` listens. */
  servePort: FEATURE_DEFAULTS.servePort,
  portName: "http",
  redisPort: 6379,
  /** The variable the runtime reads the online store's AUTH token from (the spec's `online.redis.passwordEnv`). */
  passwordEnv: "MLOPS_ONLINE_STORE_PASSWORD",
  /** Keys of the Secret holding the token: the token itself, and the in-cluster server's config line. */
  secretKeys: { password: "password", serverConfig: "valkey.conf" },
  /** The registry, under the offline location. */
  registryPrefix: "registry",
  server: { cpu: "500m", memory: "512Mi", targetCpuUtilization: 70, drainSeconds: 10, tmpSizeLimit: "256Mi" },
  materialization: {
    cpu: "1",
    memory: "2Gi",
    scratchSize: "10Gi",
    activeDeadlineSeconds: 3 * 3600,
    backoffLimit: 2,
    /** A missed run is skipped after this long: the next one catches up from the watermark anyway. */
    startingDeadlineSeconds: 600,
    historyLimit: 3,
    ttlSecondsAfterFinished: 24 * 3600,
  },
  elastiCache: {
    engine: "valkey" as const,
    engineVersion: { valkey: "8.2", redis: "7.1" },
    byTier: {
      dev: { nodeType: "cache.t4g.small", nodes: 1, automaticFailover: false, snapshotRetentionDays: 0 },
      staging: { nodeType: "cache.m7g.large", nodes: 2, automaticFailover: true, snapshotRetentionDays: 1 },
      prod: { nodeType: "cache.r7g.large", nodes: 3, automaticFailover: true, snapshotRetentionDays: 7 },
    } satisfies Record<StageTier, ElastiCacheTier>,
  },
  inCluster: {
    image: "valkey/valkey:8.1.11-alpine",
    /** The image's `valkey` user (valkey-container's Dockerfile: `adduser -u 999`). */
    uid: 999,
    cpu: "500m",
    memory: "1Gi",
    storageByTier: { dev: "1Gi", staging: "10Gi", prod: "20Gi" } satisfies Record<StageTier, string>,
    /** Share of the memory limit the server may fill (`maxmemory`); the rest is its own overhead. */
    maxmemoryFraction: 0.8,
  },
} as const;

/** The online store the component provisions. */
export type OnlineStore =
  | {
      readonly kind: "elasticache";
      readonly engine: "valkey" | "redis";
      readonly engineVersion: string;
      readonly nodeType: string;
      readonly nodes: number;
      readonly automaticFailover: boolean;
      readonly snapshotRetentionDays: number;
      readonly maintenanceWindow?: string;
    }
  | {
      readonly kind: "in-cluster";
      readonly image: string;
      /** undefined: an emptyDir. */
      readonly storage?: { readonly size: string; readonly storageClassName?: string };
      readonly resources: { readonly cpu: string; readonly memory: string };
    };

/** Every setting resolved: what the builders take. */
export interface NormalizedFeatureStore {
  readonly online: OnlineStore;
  /** `bucket` undefined: the component creates one (and names it). */
  readonly offline: { readonly bucket?: string; readonly prefix: string; readonly forceDestroy: boolean };
  readonly materialization: {
    readonly schedule: string;
    readonly timeZone?: string;
    readonly resources: { readonly cpu: string; readonly memory: string; readonly scratchSize: string };
    readonly activeDeadlineSeconds: number;
    readonly backoffLimit: number;
  };
  readonly server: {
    readonly replicas: { readonly min: number; readonly max: number; readonly targetCpuUtilization: number };
    readonly resources: { readonly cpu: string; readonly memory: string };
    readonly allowFromNamespaces: readonly string[];
  };
  readonly placement?: { readonly nodeSelector: Record<string, string>; readonly tolerations: k8s.types.input.core.v1.Toleration[] };
  readonly priorityClassName?: string;
  readonly s3: { readonly endpoint?: string; readonly region?: string; readonly staticCredentials: boolean };
}

/** What normalizing needs to know of the cluster. */
export interface FeatureStoreClusterFacts {
  /** An EKS TrainingCluster: the component can make AWS resources in its VPC (bucket, ElastiCache, roles). */
  readonly eks: boolean;
  readonly servingPlacement?: Placement;
  readonly servingPriorityClass?: string;
}

type Raw = Record<string, any>;
const obj = (v: unknown): Raw => (v !== null && typeof v === "object" ? (v as Raw) : {});

/**
 * Rules spanning fields or needing the cluster, on raw args (tolerant of a bad shape: the schema reports
 * that): the spec's own cross-checks, sources a pod can read, which online store the cluster allows, and
 * an offline bucket where the component cannot make one.
 */
export function featureStoreProblems(name: string, args: FeatureStoreArgs, facts: FeatureStoreClusterFacts, prefix = "args"): string[] {
  const a = obj(args);
  const at = (field: string) => (prefix ? `${prefix}.${field}` : field);
  const out: string[] = specProblems(name, a).map(at);
  const views: unknown[] = Array.isArray(a.views) ? a.views : [];
  views.forEach((v, i) => {
    const uri = obj(obj(v).source).uri;
    if (typeof uri === "string" && !uri.startsWith("s3://")) {
      out.push(
        problem(at(`views[${i}].source.uri`), "is not reachable from a pod", uri, "Upload the source to S3 and give its s3:// URI (file:// works only with `mlops features` on one machine)."),
      );
    }
  });
  const online = obj(a.online);
  if (online.elastiCache !== undefined && online.inCluster !== undefined) {
    out.push(problem(at("online"), "gives both elastiCache and inCluster", Object.keys(online).filter((k) => k !== "authToken"), "Give one: elastiCache (an EKS TrainingCluster) or inCluster."));
  } else if (online.elastiCache !== undefined && !facts.eks) {
    out.push(
      problem(
        at("online.elastiCache"),
        "needs an EKS TrainingCluster (its VPC, subnets and node security group)",
        online.elastiCache,
        "Deploy to an EKS TrainingCluster, or use online.inCluster for a Valkey in the cluster.",
      ),
    );
  }
  const ec = obj(online.elastiCache);
  if (ec.automaticFailover === true && typeof ec.nodes === "number" && ec.nodes < 2) {
    out.push(problem(at("online.elastiCache.automaticFailover"), `needs a replica to fail over to, but nodes is ${ec.nodes}`, true, "Set nodes to 2 or more, or automaticFailover to false."));
  }
  const offline = obj(a.offline);
  if (offline.bucket === undefined && !facts.eks) {
    out.push(
      problem(
        at("offline.bucket"),
        "is required on a cluster the component makes no AWS resources for",
        undefined,
        "Give an existing bucket (on AWS S3, or on your S3-compatible server with s3.endpoint), or deploy to an EKS TrainingCluster.",
      ),
    );
  }
  if (offline.bucket !== undefined && offline.forceDestroy !== undefined) {
    out.push(problem(at("offline.forceDestroy"), "applies only to a bucket the component creates", offline.forceDestroy, "Remove it, or leave offline.bucket out to let the component create the bucket."));
  }
  return out;
}

/** Placeholders for what the component fills in, so that the user's part of the spec is checked at once. */
const PLACEHOLDER = { registry: "s3://feature-store/registry", online: { redis: { url: "redis://online-store:6379" } } } as const;

/** The spec's cross-checks (duplicate names, unknown entities, keys declared as features) on the args' part of it. */
function specProblems(name: string, a: Raw): string[] {
  const m = obj(a.materialization);
  const candidate = {
    name,
    ...PLACEHOLDER,
    entities: a.entities,
    views: a.views,
    materialization: { ...(m.lateness !== undefined ? { lateness: m.lateness } : {}), ...(m.chunkRows !== undefined ? { chunkRows: m.chunkRows } : {}) },
  };
  // Shape problems are the args schema's to report; only a well-formed spec is cross-checked.
  if (!FeatureStoreSpecSchema.safeParse(candidate).success) return [];
  try {
    parseFeatureStoreSpec(candidate);
    return [];
  } catch (e) {
    if (e instanceof MlopsError) return [...e.problems];
    throw e;
  }
}

function placementOf(args: FeatureStoreArgs, facts: FeatureStoreClusterFacts): NormalizedFeatureStore["placement"] {
  if (args.placement) {
    return { nodeSelector: { ...(args.placement.nodeSelector ?? {}) }, tolerations: [...(args.placement.tolerations ?? [])] };
  }
  const p = facts.servingPlacement;
  return p ? { nodeSelector: { ...p.nodeSelector }, tolerations: p.tolerations.map((t) => ({ ...t })) } : undefined;
}

function onlineOf(args: FeatureStoreArgs, tier: StageTier, facts: FeatureStoreClusterFacts): OnlineStore {
  const d = FEATURE_STORE_DEFAULTS;
  if (facts.eks && args.online.inCluster === undefined) {
    const e = args.online.elastiCache ?? {};
    const byTier = d.elastiCache.byTier[tier];
    const engine = e.engine ?? d.elastiCache.engine;
    const nodes = e.nodes ?? byTier.nodes;
    return {
      kind: "elasticache",
      engine,
      engineVersion: e.engineVersion ?? d.elastiCache.engineVersion[engine],
      nodeType: e.nodeType ?? byTier.nodeType,
      nodes,
      // A single node has nothing to fail over to.
      automaticFailover: e.automaticFailover ?? (byTier.automaticFailover && nodes >= 2),
      snapshotRetentionDays: e.snapshotRetentionDays ?? byTier.snapshotRetentionDays,
      ...(e.maintenanceWindow !== undefined ? { maintenanceWindow: e.maintenanceWindow } : {}),
    };
  }
  const c = args.online.inCluster ?? {};
  const storage =
    c.storage === false
      ? undefined
      : { size: c.storage?.size ?? d.inCluster.storageByTier[tier], ...(c.storage?.storageClassName !== undefined ? { storageClassName: c.storage.storageClassName } : {}) };
  return {
    kind: "in-cluster",
    image: c.image ?? d.inCluster.image,
    ...(storage ? { storage } : {}),
    resources: { cpu: c.resources?.cpu ?? d.inCluster.cpu, memory: c.resources?.memory ?? d.inCluster.memory },
  };
}

/** Applies defaults to validated args; `stage` (the stack name) picks the sizes, `facts` the online store and placement. */
export function normalizeFeatureStore(args: FeatureStoreArgs, stage: string, facts: FeatureStoreClusterFacts): NormalizedFeatureStore {
  const d = FEATURE_STORE_DEFAULTS;
  const tier = stageTier(stage);
  const byStage = STAGE_DEFAULTS[tier].replicas;
  const m = args.materialization ?? {};
  const s = args.server ?? {};
  const min = s.replicas?.min ?? byStage.min;
  const placement = placementOf(args, facts);
  const priorityClassName = args.priorityClassName === false ? undefined : (args.priorityClassName ?? facts.servingPriorityClass);
  return {
    online: onlineOf(args, tier, facts),
    offline: {
      ...(args.offline?.bucket !== undefined ? { bucket: args.offline.bucket } : {}),
      prefix: args.offline?.prefix ?? "",
      forceDestroy: args.offline?.forceDestroy ?? false,
    },
    materialization: {
      schedule: (m.schedule ?? d.schedule).trim(),
      ...(m.timeZone !== undefined ? { timeZone: m.timeZone } : {}),
      resources: {
        cpu: m.resources?.cpu ?? d.materialization.cpu,
        memory: m.resources?.memory ?? d.materialization.memory,
        scratchSize: m.resources?.scratchSize ?? d.materialization.scratchSize,
      },
      activeDeadlineSeconds: m.activeDeadlineSeconds ?? d.materialization.activeDeadlineSeconds,
      backoffLimit: m.backoffLimit ?? d.materialization.backoffLimit,
    },
    server: {
      replicas: { min, max: s.replicas?.max ?? Math.max(byStage.max, min), targetCpuUtilization: s.replicas?.targetCpuUtilization ?? d.server.targetCpuUtilization },
      resources: { cpu: s.resources?.cpu ?? d.server.cpu, memory: s.resources?.memory ?? d.server.memory },
      allowFromNamespaces: [...(s.allowFrom?.namespaces ?? [])],
    },
    ...(placement ? { placement } : {}),
    ...(priorityClassName !== undefined ? { priorityClassName } : {}),
    s3: {
      ...(args.s3?.endpoint !== undefined ? { endpoint: args.s3.endpoint } : {}),
      ...(args.s3?.region !== undefined ? { region: args.s3.region } : {}),
      staticCredentials: args.s3?.credentials !== undefined,
    },
  };
}

/**
 * The S3 locations the materializer reads: each view's source, a glob (`s3://b/events/*.parquet`) widened to
 * the folder before its first wildcard, since DuckDB lists that folder to expand it. Sorted, without repeats.
 */
export function sourceLocations(views: FeatureStoreArgs["views"]): string[] {
  const out = new Set<string>();
  for (const v of views) {
    const uri = v.source.uri;
    if (!uri.startsWith("s3://")) continue;
    const wild = uri.search(/[*?[{]/);
    out.add(wild < 0 ? uri : uri.slice(0, uri.lastIndexOf("/", wild)));
  }
  return [...out].sort();
}
