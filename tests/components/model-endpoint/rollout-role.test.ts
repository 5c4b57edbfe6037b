/**
 * The serving pods' IAM role with `variants.canary`: the replicas share the rollout state in the registry
 * (src/registry/rollouts.ts: `models/<name>/rollouts/` current.json, revisions/, history/) and, with
 * `onSuccess: "promote"`, move the stable alias (`models/<name>/aliases/`), so the role may put objects
 * exactly there (never delete) and encrypt with the registry's key. Without a canary nothing is added.
 */
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { historyKey, revisionKey, rolloutKey } from "../../../src/registry/rollouts.js";
import { byType, reset, setupMocks } from "../../helpers/pulumi-mocks.js";
import { makeEndpoint } from "./helpers.js";

type EndpointMod = typeof import("../../../components/model-endpoint/index.js");
type EndpointArgs = import("../../../components/model-endpoint/index.js").ModelEndpointArgs;
let mod: EndpointMod;
let clusterMod: typeof import("../../../components/training-cluster/index.js");
let registryMod: typeof import("../../../components/model-registry/index.js");
let n = 0;

beforeAll(async () => {
  await setupMocks({ project: "mlops", stack: "dev" });
  mod = await import("../../../components/model-endpoint/index.js");
  clusterMod = await import("../../../components/training-cluster/index.js");
  registryMod = await import("../../../components/model-registry/index.js");
});
beforeEach(() => reset());

type Statement = { Sid: string; Action: string[]; Resource: string | string[]; Condition?: unknown };
const eks = () => new clusterMod.TrainingCluster(`c${++n}`, { eks: { version: "1.35", subnetIds: ["subnet-a", "subnet-b"] }, nodePools: [] });
const make = (over: Partial<EndpointArgs> = {}) => makeEndpoint(mod, `ep${++n}`, { kubernetes: eks(), ...over });
const statements = (): Statement[] => {
  const policies = byType("aws:iam/rolePolicy:RolePolicy").filter((r) => r.name.endsWith("-endpoint-s3"));
  expect(policies).toHaveLength(1);
  return JSON.parse(policies[0]!.inputs.policy).Statement as Statement[];
};
const withAction = (action: string) => statements().filter((s) => s.Action.includes(action));
const resources = (action: string) => withAction(action).flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
/** Whether an IAM resource pattern (with `*`) matches an ARN. */
const matches = (pattern: string, arn: string) => new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`).test(arn);
const mayPut = (key: string, root = "arn:aws:s3:::models/team") => resources("s3:PutObject").some((r) => matches(r, `${root}/${key}`));

const canary = (onSuccess?: "promote" | "wait") => ({ canary: { model: "fraud:4", weight: 10, steps: [50], ...(onSuccess ? { onSuccess } : {}) } });
const ROLLOUTS = ["arn:aws:s3:::models/team/models/fraud/rollouts", "arn:aws:s3:::models/team/models/fraud/rollouts/*"];
const ALIASES = ["arn:aws:s3:::models/team/models/fraud/aliases", "arn:aws:s3:::models/team/models/fraud/aliases/*"];

describe("ModelEndpoint role with a canary", () => {
  test("may put the rollout state (current.json, revisions/, history/) and the alias it promotes, nothing else, never delete", async () => {
    await make({ variants: canary("promote") });
    expect(withAction("s3:PutObject")).toEqual([
      { Sid: "ReadPut", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"], Resource: [...ALIASES, ...ROLLOUTS].sort() },
    ]);
    // The exact keys the runtime writes.
    for (const key of [rolloutKey("fraud"), revisionKey("fraud", 7), historyKey("fraud", "2026-12-02T03:00:00.000Z"), "models/fraud/aliases/champion.json"]) {
      expect(mayPut(key), key).toBe(true);
    }
    // Not the versions, not the blobs, not another model's state.
    for (const key of ["models/fraud/versions/0000000004.json", "blobs/sha256/ab", "models/other/rollouts/current.json", "models/other/aliases/champion.json"]) {
      expect(mayPut(key), key).toBe(false);
    }
    expect(statements().flatMap((s) => s.Action)).not.toContain("s3:DeleteObject");
    // Still reads the whole registry (models, aliases, versions).
    expect(resources("s3:GetObject")).toEqual(expect.arrayContaining(["arn:aws:s3:::models/team", "arn:aws:s3:::models/team/*"]));
  });

  test("with onSuccess wait (the default) it may put the rollout state only, not the aliases", async () => {
    await make({ variants: canary() });
    expect(resources("s3:PutObject")).toEqual(ROLLOUTS);
    expect(mayPut("models/fraud/aliases/champion.json")).toBe(false);
  });

  test("may encrypt with the registry's KMS key (GenerateDataKey), through S3 only", async () => {
    const key = "arn:aws:kms:us-east-1:123456789012:key/models";
    const registry = new registryMod.ModelRegistry(`models${++n}`, { storage: { s3: { kmsKeyArn: key } } });
    await make({ registry, variants: canary("promote") });
    expect(statements().filter((s) => s.Action.some((a) => a.startsWith("kms:")))).toEqual([
      { Sid: "KmsReadWrite", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: [key], Condition: { StringEquals: { "kms:ViaService": "s3.us-east-1.amazonaws.com" } } },
    ]);
  });

  test("with payload logging too: puts under both, and both keys may encrypt", async () => {
    const registryKey = "arn:aws:kms:us-east-1:123456789012:key/team";
    const logKey = "arn:aws:kms:us-east-1:123456789012:key/logs";
    await make({ registryKmsKeyArn: registryKey, logging: { sampleRate: 1, uri: "s3://payloads/prod", kmsKeyArn: logKey }, variants: canary() });
    expect(resources("s3:PutObject").sort()).toEqual(["arn:aws:s3:::payloads/prod", "arn:aws:s3:::payloads/prod/*", ...ROLLOUTS].sort());
    expect(resources("kms:GenerateDataKey").sort()).toEqual([logKey, registryKey].sort());
  });

  test("without a canary (none, or a shadow only) the role never writes to the registry and only decrypts", async () => {
    const registryKey = "arn:aws:kms:us-east-1:123456789012:key/team";
    await make({ registryKmsKeyArn: registryKey, variants: { shadow: { model: "fraud:4", sampleRate: 0.1 } } });
    expect(withAction("s3:PutObject")).toEqual([]);
    expect(withAction("kms:GenerateDataKey")).toEqual([]);
    reset();
    await make({ registryKmsKeyArn: registryKey, logging: { sampleRate: 1, uri: "s3://payloads/prod" } });
    expect(resources("s3:PutObject")).toEqual(["arn:aws:s3:::payloads/prod", "arn:aws:s3:::payloads/prod/*"]);
    expect(withAction("kms:GenerateDataKey")).toEqual([]);
  });

  test("a file:// registry with a canary gets no role (the state is on the local registry)", async () => {
    await make({ registry: "file:///models", variants: canary("promote") });
    expect(byType("aws:iam/role:Role").filter((r) => r.name.endsWith("-endpoint-role"))).toEqual([]);
  });
});
