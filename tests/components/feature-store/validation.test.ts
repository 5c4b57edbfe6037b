// Bad args are refused before anything is created, each problem naming the field, the value and the fix.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { mlopsFailure } from "../../helpers/errors.js";
import { reset, resources } from "../../helpers/pulumi-mocks.js";
import { baseArgs, setupStoreMocks, TOKEN, VIEWS } from "./helpers.js";

type StoreArgs = import("../../../components/feature-store/index.js").FeatureStoreArgs;
let mod: typeof import("../../../components/feature-store/index.js");
let n = 0;

beforeAll(async () => {
  await setupStoreMocks("dev");
  mod = await import("../../../components/feature-store/index.js");
});
beforeEach(() => reset());

const fail = (over: Record<string, unknown>, name = `features${++n}`) =>
  mlopsFailure(() => new mod.FeatureStore(name, { ...baseArgs(), ...over } as StoreArgs));

describe("FeatureStore validation", () => {
  test("fails when a source is a local path, naming the view's field and the fix", () => {
    const views = [{ ...VIEWS[0]!, source: { uri: "file:///data/txn.csv" } }];
    const e = fail({ views });
    expect(e.message).toContain('args.views[0].source.uri: is not reachable from a pod; received "file:///data/txn.csv". Upload the source to S3');
  });

  test("fails when a view names an undeclared entity (the spec's own cross-check)", () => {
    const e = fail({ views: [{ ...VIEWS[0]!, entities: ["merchant"] }] });
    expect(e.problems).toContainEqual(expect.stringMatching(/^args\.views\[0\]\.entities\[0\]: is not a declared entity; received "merchant"\. Declare it under entities, or use one of: customer\./));
  });

  test("fails on a bad TTL with the spec schema's wording", () => {
    const e = fail({ views: [{ ...VIEWS[0]!, ttl: "3 days" }] });
    expect(e.problems).toContainEqual(expect.stringMatching(/^args\.views\[0\]\.ttl: must be a duration such as "30s", "15m", "6h" or "3d"; received "3 days"/));
  });

  test("fails on a short AUTH token without printing it", () => {
    const e = fail({ online: { authToken: "short-token" } });
    expect(e.message).toContain("args.online.authToken: must be 16 to 128 printable ASCII characters");
    expect(e.message).toContain("a value of 11 characters (not shown: secret)");
    expect(e.message).not.toContain("short-token");
  });

  test("fails on a token with a character ElastiCache refuses", () => {
    const e = fail({ online: { authToken: "has@an-at-sign-in-the-token" } });
    expect(e.message).toContain("args.online.authToken");
    expect(e.message).not.toContain("has@an");
  });

  test("accepts a token known only at deploy time", () => {
    expect(() => new mod.FeatureStore(`features${++n}`, { ...baseArgs(pulumi.secret(TOKEN)) })).not.toThrow();
  });

  test("fails when elastiCache is asked for on a cluster that is not an EKS TrainingCluster", () => {
    const e = fail({ online: { authToken: TOKEN, elastiCache: { nodes: 2 } } });
    expect(e.message).toContain("args.online.elastiCache: needs an EKS TrainingCluster (its VPC, subnets and node security group); received {\"nodes\":2}. Deploy to an EKS TrainingCluster, or use online.inCluster");
  });

  test("fails when both elastiCache and inCluster are given", () => {
    const e = fail({ online: { authToken: TOKEN, elastiCache: {}, inCluster: {} } });
    expect(e.message).toContain("args.online: gives both elastiCache and inCluster");
  });

  test("fails when failover is asked for with one node", () => {
    const e = fail({ online: { authToken: TOKEN, elastiCache: { nodes: 1, automaticFailover: true } } });
    expect(e.message).toContain("args.online.elastiCache.automaticFailover: needs a replica to fail over to, but nodes is 1");
  });

  test("fails without an offline bucket on a cluster the component makes no AWS resources for", () => {
    const { offline: _o, ...rest } = baseArgs();
    const e = mlopsFailure(() => new mod.FeatureStore(`features${++n}`, rest));
    expect(e.message).toContain("args.offline.bucket: is required on a cluster the component makes no AWS resources for; received nothing.");
  });

  test("fails on a bad schedule, a bad quantity and an unknown key, all at once", () => {
    const e = fail({ materialization: { schedule: "hourly", resources: { memory: "2GB" } }, replicas: 3 });
    expect(e.problems).toHaveLength(3);
    expect(e.message).toContain('args.materialization.schedule: is not a cron schedule');
    expect(e.message).toContain('args.materialization.resources.memory: must be a Kubernetes memory quantity such as "1Gi" or "512Mi"');
    expect(e.message).toContain("Remove replicas");
  });

  test("fails on a name that cannot name Kubernetes objects", () => {
    const e = fail({}, "Features_1");
    expect(e.message).toContain('name: must be 1-40 lowercase letters, digits and \'-\', starting with a letter; received "Features_1"');
  });

  test("creates nothing when it fails", () => {
    fail({ online: { authToken: "short" } });
    expect(resources().filter((r) => r.custom)).toEqual([]);
  });
});
