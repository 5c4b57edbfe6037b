// The pure builders alone: plain values in, plain objects out, no Pulumi engine involved.
import { describe, expect, test } from "vitest";
import { buildFeatureStoreSpec, registryUriOf, offlineUri } from "../../../components/feature-store/spec.js";
import { cronJobManifest, deploymentManifest, requirepassLine, type FeatureStoreManifestContext } from "../../../components/feature-store/manifests.js";
import { FEATURE_STORE_DEFAULTS, normalizeFeatureStore, sourceLocations, type FeatureStoreClusterFacts } from "../../../components/feature-store/normalize.js";
import { redisStatefulSetManifest, serverArgs } from "../../../components/feature-store/redis.js";
import { ingressRuleArgs, replicationGroupArgs } from "../../../components/feature-store/aws.js";
import { podSecurityRestrictedViolations, podSpecOf, validateK8sObject } from "../../helpers/k8s.js";
import { baseArgs, ENTITIES, TOKEN, VIEWS } from "./helpers.js";

const KUBECONFIG: FeatureStoreClusterFacts = { eks: false };
const EKS: FeatureStoreClusterFacts = { eks: true };

function context(stage = "dev", facts = KUBECONFIG): FeatureStoreManifestContext {
  return {
    name: "features",
    base: `mlops-${stage}-features`,
    namespace: "ml",
    partOf: "mlops",
    image: "runtime@sha256:abc",
    specJson: '{"name":"features"}',
    store: normalizeFeatureStore(baseArgs(), stage, facts),
  };
}

describe("defaults by stage", () => {
  test.each([
    ["dev", { nodeType: "cache.t4g.small", nodes: 1, automaticFailover: false }],
    ["staging", { nodeType: "cache.m7g.large", nodes: 2, automaticFailover: true }],
    ["prod", { nodeType: "cache.r7g.large", nodes: 3, automaticFailover: true }],
  ])("ElastiCache in %s", (stage, expected) => {
    expect(normalizeFeatureStore({ ...baseArgs(), kubernetes: { kubeconfig: "x" } }, stage, EKS).online).toMatchObject({ kind: "elasticache", engine: "valkey", engineVersion: "8.2", ...expected });
  });

  test("Redis OSS gets its own default version", () => {
    expect(normalizeFeatureStore({ ...baseArgs(), online: { authToken: TOKEN, elastiCache: { engine: "redis" } } }, "dev", EKS).online).toMatchObject({ engine: "redis", engineVersion: "7.1" });
  });

  test("the in-cluster store's volume grows towards prod", () => {
    const size = (stage: string) => (normalizeFeatureStore(baseArgs(), stage, KUBECONFIG).online as { storage?: { size: string } }).storage?.size;
    expect([size("dev"), size("staging"), size("prod")]).toEqual(["1Gi", "10Gi", "20Gi"]);
  });

  test("materializes hourly by default", () => {
    expect(normalizeFeatureStore(baseArgs(), "dev", KUBECONFIG).materialization.schedule).toBe(FEATURE_STORE_DEFAULTS.schedule);
    expect(FEATURE_STORE_DEFAULTS.schedule).toBe("0 * * * *");
  });
});

describe("the spec", () => {
  const spec = (redisUrl: string) => buildFeatureStoreSpec({ name: "features", registryUri: "s3://b/registry", redisUrl, entities: ENTITIES, views: VIEWS, materialization: { lateness: "2h", schedule: "@hourly" } });

  test("names the password variable and keeps the materialization settings the spec knows", () => {
    const s = spec("rediss://primary.example:6379");
    expect(s.online).toEqual({ redis: { url: "rediss://primary.example:6379", passwordEnv: "MLOPS_ONLINE_STORE_PASSWORD" } });
    expect(s.materialization).toEqual({ lateness: "2h", chunkRows: 50_000 });
  });

  test("refuses a URL carrying credentials", () => {
    expect(() => spec(`rediss://default:${TOKEN}@primary.example:6379`)).toThrow(/must not carry credentials/);
  });

  test("puts the registry under the offline location", () => {
    expect(registryUriOf(offlineUri("acme", "team/features"))).toBe("s3://acme/team/features/registry");
    expect(registryUriOf(offlineUri("acme", ""))).toBe("s3://acme/registry");
  });
});

describe("what the materializer may read", () => {
  test("each source, a glob widened to its folder, sorted and once", () => {
    const views = [
      { ...VIEWS[0]!, source: { uri: "s3://data/events/2026-*/part.parquet" } },
      { ...VIEWS[0]!, name: "b", source: { uri: "s3://data/a.csv" } },
      { ...VIEWS[0]!, name: "c", source: { uri: "s3://data/a.csv" } },
    ];
    expect(sourceLocations(views)).toEqual(["s3://data/a.csv", "s3://data/events"]);
  });
});

describe("the Kubernetes builders", () => {
  test("the CronJob validates, is restricted and never overlaps", () => {
    const cron = cronJobManifest(context());
    expect(validateK8sObject(cron).errors).toEqual([]);
    expect(podSecurityRestrictedViolations(podSpecOf(cron)!)).toEqual([]);
    expect(cron.spec.concurrencyPolicy).toBe("Forbid");
    expect(cron.metadata.name.length).toBeLessThanOrEqual(52);
  });

  test("the Deployment validates and is restricted", () => {
    const d = deploymentManifest(context("prod"));
    expect(validateK8sObject(d).errors).toEqual([]);
    expect(podSecurityRestrictedViolations(podSpecOf(d)!)).toEqual([]);
  });

  test("the Valkey StatefulSet validates, is restricted, and keeps its claim when deleted", () => {
    const ctx = context();
    const set = redisStatefulSetManifest(ctx, ctx.store.online as never);
    expect(validateK8sObject(set).errors).toEqual([]);
    expect(podSecurityRestrictedViolations(podSpecOf(set)!)).toEqual([]);
    expect(set.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Retain", whenScaled: "Retain" });
  });

  test("Valkey persists to an append-only file, fills 80% of its memory and never evicts", () => {
    const args = serverArgs({ kind: "in-cluster", image: "v", storage: { size: "1Gi" }, resources: { cpu: "1", memory: "1Gi" } });
    const flag = (f: string) => args[args.indexOf(f) + 1];
    expect(args[0]).toBe("/etc/valkey/valkey.conf");
    expect([flag("--appendonly"), flag("--save"), flag("--maxmemory"), flag("--maxmemory-policy")]).toEqual(["yes", "", String(Math.floor(0.8 * 2 ** 30)), "noeviction"]);
  });

  test("the config line quotes the token as Valkey's parser reads it", () => {
    expect(requirepassLine("abc\\def#ghi'jkl")).toBe('requirepass "abc\\\\def#ghi\'jkl"\n');
  });
});

describe("the AWS builders", () => {
  test("the ingress rule names the node security group, no CIDR", () => {
    expect(ingressRuleArgs("sg-store", "sg-nodes", {})).toEqual(expect.objectContaining({ securityGroupId: "sg-store", referencedSecurityGroupId: "sg-nodes", fromPort: 6379, toPort: 6379, ipProtocol: "tcp" }));
    expect(ingressRuleArgs("sg-store", "sg-nodes", {})).not.toHaveProperty("cidrIpv4");
  });

  test("the replication group uses a customer key when given", () => {
    const online = normalizeFeatureStore(baseArgs(), "dev", EKS).online as never;
    const a = replicationGroupArgs({ physicalName: "p", online, authToken: TOKEN, subnetGroupName: "g", securityGroupId: "sg", kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/k", tags: {} });
    expect(a).toMatchObject({ atRestEncryptionEnabled: true, kmsKeyId: "arn:aws:kms:us-east-1:123456789012:key/k" });
  });
});
