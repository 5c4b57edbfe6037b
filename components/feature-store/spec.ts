import { parseFeatureStoreSpec, type FeatureStoreSpec } from "../../src/spec/features.js";
import type { FeatureStoreArgs } from "./args.js";
import { FEATURE_STORE_DEFAULTS } from "./normalize.js";

/** What the spec is made from: the user's part and what the component provisioned. */
export interface FeatureStoreSpecArgs {
  /** The store's (logical) name. */
  readonly name: string;
  /** `s3://bucket[/prefix]/registry`. */
  readonly registryUri: string;
  /** `rediss://host:6379` or `redis://svc.ns.svc:6379`: never with a password in it. */
  readonly redisUrl: string;
  readonly entities: FeatureStoreArgs["entities"];
  readonly views: FeatureStoreArgs["views"];
  readonly materialization?: FeatureStoreArgs["materialization"];
}

/**
 * The FeatureStore spec a component renders into MLOPS_FEATURE_SPEC, validated by the schema the runtime
 * parses at boot. The AUTH token is not in it: `online.redis.passwordEnv` names the variable that the pod
 * fills from a Secret. Pure, so a contract test can boot the runtime from it.
 */
export function buildFeatureStoreSpec(a: FeatureStoreSpecArgs): FeatureStoreSpec {
  if (/^rediss?:\/\/[^/]*@/.test(a.redisUrl)) throw new Error("the online store URL must not carry credentials");
  const m = a.materialization ?? {};
  return parseFeatureStoreSpec(
    {
      name: a.name,
      registry: a.registryUri,
      online: { redis: { url: a.redisUrl, passwordEnv: FEATURE_STORE_DEFAULTS.passwordEnv } },
      entities: a.entities,
      views: a.views,
      materialization: { ...(m.lateness !== undefined ? { lateness: m.lateness } : {}), ...(m.chunkRows !== undefined ? { chunkRows: m.chunkRows } : {}) },
    },
    `feature store spec for "${a.name}"`,
  );
}

/** `s3://bucket`, `s3://bucket/prefix`: the offline location, under which the registry lives. */
export function offlineUri(bucket: string, prefix: string): string {
  return prefix ? `s3://${bucket}/${prefix}` : `s3://${bucket}`;
}

/** The registry URI under an offline location. */
export function registryUriOf(offline: string): string {
  return `${offline.replace(/\/+$/, "")}/${FEATURE_STORE_DEFAULTS.registryPrefix}`;
}
