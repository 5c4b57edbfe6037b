// In a prod stack: ElastiCache fails over across zones, stateful resources are protected.
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { byType, k8sObjectsOfKind, reset, waitForResources } from "../../helpers/pulumi-mocks.js";
import { ENTITIES, setupStoreMocks, TOKEN, VIEWS } from "./helpers.js";

let mod: typeof import("../../../components/feature-store/index.js");
let clusterMod: typeof import("../../../components/training-cluster/index.js");
let n = 0;

beforeAll(async () => {
  await setupStoreMocks("prod");
  mod = await import("../../../components/feature-store/index.js");
  clusterMod = await import("../../../components/training-cluster/index.js");
});
beforeEach(() => reset());

async function make(online: Record<string, unknown> = {}) {
  const cluster = new clusterMod.TrainingCluster(`ml${++n}`, { eks: { version: "1.35", subnetIds: ["subnet-a", "subnet-b", "subnet-c"] }, nodePools: [] });
  new mod.FeatureStore(`features${n}`, { kubernetes: cluster, entities: ENTITIES, views: VIEWS, online: { authToken: TOKEN, ...online }, image: "runtime:1" });
  await waitForResources();
}
const replicationGroup = () => byType("aws:elasticache/replicationGroup:ReplicationGroup")[0]!;

describe("FeatureStore in prod", () => {
  test("turns on automatic failover and Multi-AZ, one node per zone", async () => {
    await make();
    expect(replicationGroup().inputs).toMatchObject({ automaticFailoverEnabled: true, multiAzEnabled: true, numCacheClusters: 3, nodeType: "cache.r7g.large", snapshotRetentionLimit: 7 });
  });

  test("protects the replication group, and protects and retains the offline bucket", async () => {
    await make();
    expect(replicationGroup().options.protect).toBe(true);
    const bucket = byType("aws:s3/bucket:Bucket")[0]!;
    expect(bucket.options).toMatchObject({ protect: true, retainOnDelete: true });
  });

  test("scales the server from 3 to 20 pods", async () => {
    await make();
    expect(k8sObjectsOfKind("HorizontalPodAutoscaler")[0]!.spec).toMatchObject({ minReplicas: 3, maxReplicas: 20 });
  });

  test("keeps failover off for a single node given", async () => {
    await make({ elastiCache: { nodes: 1 } });
    expect(replicationGroup().inputs).toMatchObject({ numCacheClusters: 1, automaticFailoverEnabled: false, multiAzEnabled: false });
  });
});
