import type * as pulumi from "@pulumi/pulumi";
import { setupMocks, waitForResources, type RecordedResource } from "../../helpers/pulumi-mocks.js";

type StoreMod = typeof import("../../../components/feature-store/index.js");
type StoreArgs = import("../../../components/feature-store/index.js").FeatureStoreArgs;

/** The AUTH token every test uses: long and distinctive, so a leak anywhere is found by a plain search. */
export const TOKEN = "Tok3n-for-the-online-store-0123456789";

/** The user's part of the spec: one entity, one view over S3. */
export const ENTITIES: StoreArgs["entities"] = [{ name: "customer", joinKeys: ["customer_id"] }];
export const VIEWS: StoreArgs["views"] = [
  {
    name: "txn_stats",
    entities: ["customer"],
    source: { uri: "s3://acme-data/features/txn_stats.parquet", timestampField: "event_timestamp", createdTimestampField: "created_at" },
    ttl: "3d",
    features: [
      { name: "spend_7d", dtype: "float64" },
      { name: "txn_count_7d", dtype: "int64" },
    ],
  },
];

/** The args every test starts from: a kubeconfig cluster (in-cluster Valkey), an existing bucket, a ready image. */
export function baseArgs(token: pulumi.Input<string> = TOKEN): StoreArgs {
  return {
    kubernetes: { kubeconfig: "apiVersion: v1" },
    entities: ENTITIES,
    views: VIEWS,
    online: { authToken: token },
    offline: { bucket: "acme-features", prefix: "fraud" },
    image: "registry.example.com/mlops-runtime:1",
  };
}

/**
 * The mocks with what an EKS cluster and an ElastiCache replication group report once created (the shared
 * mock cloud leaves those outputs out): the cluster's VPC and node security group, the primary endpoint.
 */
export async function setupStoreMocks(stack = "dev"): Promise<void> {
  await setupMocks({
    project: "mlops",
    stack,
    outputs: (a) => {
      if (a.type === "aws:eks/cluster:Cluster") {
        return { vpcConfig: { ...(a.inputs.vpcConfig ?? {}), vpcId: "vpc-cluster", clusterSecurityGroupId: "sg-cluster-nodes" } };
      }
      if (a.type === "aws:elasticache/replicationGroup:ReplicationGroup") {
        return { primaryEndpointAddress: `master.${a.name}.abc123.use1.cache.amazonaws.com` };
      }
      return undefined;
    },
  });
}

/** Creates a store named `name` from the base args and `over`, and waits for every child to reach the mocks. */
export async function makeStore(mod: StoreMod, name: string, over: Partial<StoreArgs> = {}) {
  const store = new mod.FeatureStore(name, { ...baseArgs(), ...over });
  await waitForResources();
  return store;
}

/** True when the value at `path` (`/stringData/password`) arrived as a secret, itself or inside a secret parent. */
export function isSecretAt(r: RecordedResource, path: string): boolean {
  return r.secretPaths.some((p) => path === p || path.startsWith(`${p}/`) || p === "/");
}
