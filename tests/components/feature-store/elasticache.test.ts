// A FeatureStore on an EKS TrainingCluster: the offline bucket, ElastiCache and the IRSA roles, under mocks.
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { FEATURE_SPEC_ENV, parseFeatureStoreSpec } from "../../../src/spec/features.js";
import { podSecurityRestrictedViolations, podSpecOf, validateK8sObjects } from "../../helpers/k8s.js";
import {
  byType,
  findResource,
  k8sObjects,
  k8sObjectsOfKind,
  outputOf,
  policyOf,
  reset,
  resources,
  trustOf,
  waitForResources,
  type RecordedResource,
} from "../../helpers/pulumi-mocks.js";
import { ENTITIES, isSecretAt, setupStoreMocks, TOKEN, VIEWS } from "./helpers.js";

type StoreMod = typeof import("../../../components/feature-store/index.js");
type StoreArgs = import("../../../components/feature-store/index.js").FeatureStoreArgs;
let mod: StoreMod;
let clusterMod: typeof import("../../../components/training-cluster/index.js");
let n = 0;

const RG = "aws:elasticache/replicationGroup:ReplicationGroup";

beforeAll(async () => {
  await setupStoreMocks("dev");
  mod = await import("../../../components/feature-store/index.js");
  clusterMod = await import("../../../components/training-cluster/index.js");
});
beforeEach(() => reset());

/** An EKS TrainingCluster (its own VPC unless subnets are given) and a store on it. */
async function make(over: Partial<StoreArgs> = {}, eks: Record<string, unknown> = { version: "1.35", subnetIds: ["subnet-a", "subnet-b"] }) {
  const clusterName = `ml${++n}`;
  const cluster = new clusterMod.TrainingCluster(clusterName, { eks, nodePools: [] } as never);
  const name = `features${n}`;
  const store = new mod.FeatureStore(name, {
    kubernetes: cluster,
    entities: ENTITIES,
    views: VIEWS,
    online: { authToken: TOKEN },
    image: "registry.example.com/mlops-runtime:1",
    ...over,
  });
  await waitForResources();
  return { cluster, clusterName, name, store, base: `mlops-dev-${name}` };
}
const only = (type: string): RecordedResource => {
  const rs = byType(type);
  expect(rs.map((r) => r.name)).toHaveLength(1);
  return rs[0]!;
};

describe("ElastiCache", () => {
  test("requires TLS in transit and encrypts at rest", async () => {
    await make();
    expect(only(RG).inputs).toMatchObject({ transitEncryptionEnabled: true, transitEncryptionMode: "required", atRestEncryptionEnabled: true });
  });

  test("takes the AUTH token as a secret", async () => {
    await make();
    const rg = only(RG);
    expect(rg.inputs.authToken).toBe(TOKEN);
    expect(isSecretAt(rg, "/authToken")).toBe(true);
  });

  test("uses Valkey 8.2 on a Graviton burstable node in dev, one node, no failover", async () => {
    await make();
    expect(only(RG).inputs).toMatchObject({
      engine: "valkey",
      engineVersion: "8.2",
      nodeType: "cache.t4g.small",
      numCacheClusters: 1,
      automaticFailoverEnabled: false,
      multiAzEnabled: false,
      clusterMode: "disabled",
      port: 6379,
    });
  });

  test("lives in a subnet group of the cluster's subnets", async () => {
    await make();
    const group = only("aws:elasticache/subnetGroup:SubnetGroup");
    expect(group.inputs.subnetIds).toEqual(["subnet-a", "subnet-b"]);
    expect(only(RG).inputs.subnetGroupName).toBe(group.state.name ?? group.inputs.name);
  });

  test("uses the private subnets of a VPC the cluster made", async () => {
    await make({}, { version: "1.35" });
    const privateIds = byType("aws:ec2/subnet:Subnet").filter((s) => s.name.includes("-private-")).map((s) => s.id);
    expect(privateIds.length).toBeGreaterThanOrEqual(2);
    expect(only("aws:elasticache/subnetGroup:SubnetGroup").inputs.subnetIds).toEqual(privateIds);
  });

  test("admits 6379 from the cluster's node security group and nothing else", async () => {
    await make();
    const sg = only("aws:ec2/securityGroup:SecurityGroup");
    expect(sg.inputs.vpcId).toBe("vpc-cluster");
    expect(sg.inputs.ingress ?? []).toEqual([]);
    expect(sg.inputs.egress ?? []).toEqual([]);
    const rules = byType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
    expect(rules.map((r) => r.inputs)).toEqual([
      expect.objectContaining({ securityGroupId: sg.id, referencedSecurityGroupId: "sg-cluster-nodes", ipProtocol: "tcp", fromPort: 6379, toPort: 6379 }),
    ]);
    expect(rules[0]!.inputs.cidrIpv4).toBeUndefined();
    expect(only(RG).inputs.securityGroupIds).toEqual([sg.id]);
    expect(byType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")).toEqual([]);
  });

  test("renders a rediss:// URL to the primary endpoint into the spec, without credentials", async () => {
    const { store } = await make();
    const url = await outputOf(store.onlineStore);
    expect(url).toMatch(/^rediss:\/\/master\.[^@/]+\.cache\.amazonaws\.com:6379$/);
    const container = podSpecOf(k8sObjectsOfKind("Deployment")[0])!.containers[0];
    const spec = parseFeatureStoreSpec(JSON.parse(container.env.find((e: { name: string }) => e.name === FEATURE_SPEC_ENV).value));
    expect(spec.online).toEqual({ redis: { url, passwordEnv: "MLOPS_ONLINE_STORE_PASSWORD" } });
  });

  test("honours failover and node settings given", async () => {
    await make({ online: { authToken: TOKEN, elastiCache: { nodes: 2, automaticFailover: true, nodeType: "cache.m7g.large" } } });
    expect(only(RG).inputs).toMatchObject({ numCacheClusters: 2, automaticFailoverEnabled: true, multiAzEnabled: true, nodeType: "cache.m7g.large" });
  });

  test("inCluster on EKS gives a Valkey StatefulSet instead", async () => {
    await make({ online: { authToken: TOKEN, inCluster: {} } });
    expect(byType(RG)).toEqual([]);
    expect(k8sObjectsOfKind("StatefulSet")).toHaveLength(1);
  });
});

describe("the offline bucket", () => {
  test("is private, encrypted, TLS-only and holds the registry", async () => {
    const { store } = await make();
    const bucket = only("aws:s3/bucket:Bucket");
    expect(findResource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs).toMatchObject({
      bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
    });
    expect(findResource("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs.rules[0]).toMatchObject({
      applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" },
    });
    const policy = JSON.parse(findResource("aws:s3/bucketPolicy:BucketPolicy").inputs.policy);
    expect(policy.Statement).toContainEqual(expect.objectContaining({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }));
    expect(await outputOf(store.registryUri)).toBe(`s3://${bucket.state.bucket}/registry`);
  });

  test("is not made when a bucket is given", async () => {
    const { store } = await make({ offline: { bucket: "acme-features" } });
    expect(byType("aws:s3/bucket:Bucket")).toEqual([]);
    expect(await outputOf(store.registryUri)).toBe("s3://acme-features/registry");
  });
});

describe("IRSA", () => {
  test("the materializer reads the sources and reads/writes the offline location only", async () => {
    const { clusterName, name, base } = await make({ offline: { bucket: "acme-features", prefix: "fraud" } });
    const role = `${clusterName}-${name}-materialize-role`;
    expect(JSON.stringify(trustOf(role))).toContain(`system:serviceaccount:${base}:${base}-materialize`);
    const statements = policyOf(role).Statement;
    expect(statements.find((s) => s.Sid === "Read")!.Resource).toEqual(["arn:aws:s3:::acme-data/features/txn_stats.parquet", "arn:aws:s3:::acme-data/features/txn_stats.parquet/*"]);
    expect(statements.find((s) => s.Sid === "ReadWrite")!.Resource).toEqual(["arn:aws:s3:::acme-features/fraud", "arn:aws:s3:::acme-features/fraud/*"]);
    expect(statements.filter((s) => JSON.stringify(s.Action).includes("Delete")).map((s) => s.Resource)).toEqual([["arn:aws:s3:::acme-features/fraud", "arn:aws:s3:::acme-features/fraud/*"]]);
  });

  test("the server only reads the registry", async () => {
    const { clusterName, name } = await make({ offline: { bucket: "acme-features" } });
    const statements = policyOf(`${clusterName}-${name}-server-role`).Statement;
    expect(statements.filter((s) => s.Sid !== undefined && /Write|Put/.test(s.Sid))).toEqual([]);
    expect(statements.find((s) => s.Sid === "Read")!.Resource).toEqual(["arn:aws:s3:::acme-features/registry", "arn:aws:s3:::acme-features/registry/*"]);
  });

  test("annotates each ServiceAccount with its own role", async () => {
    const { store } = await make();
    const arns = await Promise.all([store.nodes.roles.server!.arn, store.nodes.roles.materialize!.arn].map(outputOf));
    const annotated = k8sObjectsOfKind("ServiceAccount").map((s) => s.metadata.annotations?.["eks.amazonaws.com/role-arn"]).sort();
    expect(annotated).toEqual([...arns].sort());
    expect(new Set(arns).size).toBe(2);
  });

  test("makes no role with static S3 credentials", async () => {
    await make({ offline: { bucket: "acme-features" }, s3: { endpoint: "http://minio.minio:9000", credentials: { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "s3cr3t-value-xyz" } } });
    expect(byType("aws:iam/role:Role").filter((r) => r.name.includes("features"))).toEqual([]);
  });
});

describe("on EKS, the Kubernetes side", () => {
  test("every object validates and every pod meets Pod Security restricted", async () => {
    await make();
    expect(validateK8sObjects(k8sObjects()).errors).toEqual([]);
    for (const kind of ["CronJob", "Deployment"]) expect(podSecurityRestrictedViolations(podSpecOf(k8sObjectsOfKind(kind)[0])!)).toEqual([]);
    expect(k8sObjectsOfKind("StatefulSet")).toEqual([]);
  });

  test("server pods go to the serving pool with the serving PriorityClass", async () => {
    const { cluster } = await make();
    const pod = podSpecOf(k8sObjectsOfKind("Deployment")[0])!;
    expect(pod.nodeSelector).toEqual(cluster.servingPlacement!.nodeSelector);
    expect(pod.priorityClassName).toBe(cluster.servingPriorityClassName);
  });

  test("never puts the token in plain text outside the replication group and the Secret", async () => {
    const { store } = await make();
    const leaks = resources().filter((r) => JSON.stringify(r.inputs).includes(TOKEN));
    expect(leaks.map((r) => r.type).sort()).toEqual([RG, "kubernetes:core/v1:Secret"].sort());
    expect(leaks.every((r) => isSecretAt(r, r.type === RG ? "/authToken" : "/stringData/password"))).toBe(true);
    const outputs = await Promise.all([store.onlineStore, store.registryUri, store.serverUrl, store.spec].map((o) => outputOf(o as never)));
    expect(JSON.stringify(outputs)).not.toContain(TOKEN);
  });
});
