// The drift job's inputs and outputs: it reads the endpoint's payload logs (`--payload-uri`, from a
// ModelEndpoint's `logging.uri` through its monitoringTarget) and records its results in the registry
// (`models/<name>/drift/`, `models/<name>/drift-reports/`). An endpoint watched without payload logs is
// refused at construction; on a cluster that issues ServiceAccount roles the jobs get a role allowing
// exactly those reads and puts.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { driftResultKey, latestDriftKey } from "../../../src/registry/drift-results.js";
import { MlopsError } from "../../../src/errors.js";
import { podSpecOf } from "../../helpers/k8s.js";
import { byType, k8sObjectsOfKind, reset, waitForResources } from "../../helpers/pulumi-mocks.js";
import { BASE_ENDPOINT_ARGS } from "../model-endpoint/helpers.js";
import { baseArgs, fraudEndpoint, makeStack, setupStackMocks } from "./helpers.js";

type Mod = typeof import("../../../components/monitoring-stack/index.js");
let mod: Mod;
let endpoints: typeof import("../../../components/model-endpoint/index.js");
let clusters: typeof import("../../../components/training-cluster/index.js");
let registries: typeof import("../../../components/model-registry/index.js");
let n = 0;

beforeAll(async () => {
  await setupStackMocks("dev");
  mod = await import("../../../components/monitoring-stack/index.js");
  endpoints = await import("../../../components/model-endpoint/index.js");
  clusters = await import("../../../components/training-cluster/index.js");
  registries = await import("../../../components/model-registry/index.js");
});
beforeEach(() => reset());

const REGISTRY = "s3://acme-models/registry";
const argsOf = (name: string, endpoint = "fraud") => {
  const cron = k8sObjectsOfKind("CronJob").find((c) => c.metadata.name === `mlops-dev-${name}-drift-${endpoint}`);
  if (!cron) throw new Error(`no drift CronJob for ${endpoint}; have ${k8sObjectsOfKind("CronJob").map((c) => c.metadata.name).join(", ")}`);
  return podSpecOf(cron)!.containers[0].args as string[];
};
const flag = (args: string[], f: string) => args[args.indexOf(f) + 1];
const construct = (args: Parameters<typeof baseArgs>[0]) => () => new mod.MonitoringStack(`dp${++n}`, baseArgs(args));
const eks = () => new clusters.TrainingCluster(`c${++n}`, { eks: { version: "1.35", subnetIds: ["subnet-a", "subnet-b"] }, nodePools: [] });
type Statement = { Sid: string; Action: string[]; Resource: string | string[] };
const driftPolicy = (): Statement[] => {
  const ps = byType("aws:iam/rolePolicy:RolePolicy").filter((p) => p.name.endsWith("-drift-s3"));
  expect(ps.map((p) => p.name)).toHaveLength(1);
  return JSON.parse(ps[0]!.inputs.policy).Statement as Statement[];
};
const resourcesWith = (st: Statement[], action: string) => st.filter((s) => s.Action.includes(action)).flatMap((s) => [s.Resource].flat());
const matches = (pattern: string, arn: string) => new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`).test(arn);

describe("the drift job's payload logs", () => {
  test("passes the endpoint's payload URI and its name: --payload-uri <uri> --endpoint <name>", async () => {
    const name = `dp${++n}`;
    await makeStack(mod, name, baseArgs({ endpoints: [fraudEndpoint({ payloadUri: "s3://logs/prod" })], drift: { registry: REGISTRY } }));
    const args = argsOf(name);
    expect(args.slice(0, 7)).toEqual(["drift", "--model", "fraud@champion", "--payload-uri", "s3://logs/prod", "--endpoint", "fraud"]);
  });

  test("a ModelEndpoint with logging hands its logging.uri to the drift job", async () => {
    const ep = new endpoints.ModelEndpoint(`ep${++n}`, { ...BASE_ENDPOINT_ARGS, logging: { sampleRate: 0.1, uri: "s3://payloads/staging" } });
    await waitForResources();
    const name = `dp${++n}`;
    await makeStack(mod, name, baseArgs({ endpoints: [ep], drift: { registry: REGISTRY } }));
    const args = argsOf(name, `ep${n - 1}`);
    expect(flag(args, "--payload-uri")).toBe("s3://payloads/staging");
    expect(flag(args, "--endpoint")).toBe(`ep${n - 1}`);
  });

  test("refuses, at construction, an endpoint watched for drift without payload logs, naming it and the fix", () => {
    const noLogs = fraudEndpoint({ payloadUri: undefined });
    delete (noLogs as { payloadUri?: unknown }).payloadUri;
    expect(construct({ endpoints: [noLogs], drift: { registry: REGISTRY } })).toThrow(MlopsError);
    expect(construct({ endpoints: [noLogs], drift: { registry: REGISTRY } })).toThrow(/endpoints\[0\]\.payloadUri: is missing: endpoint "fraud" is watched for drift but logs no payloads.*logging: \{ sampleRate, uri \}.*drift: false/s);
  });

  test("refuses a ModelEndpoint without logging in the same way", async () => {
    const ep = new endpoints.ModelEndpoint(`ep${++n}`, { ...BASE_ENDPOINT_ARGS });
    await waitForResources();
    expect(construct({ endpoints: [ep], drift: { registry: REGISTRY } })).toThrow(new RegExp(`endpoint "ep${n}" is watched for drift but logs no payloads`));
  });

  test("an endpoint without payload logs is fine with drift: false (and gets no drift job), or without the stack's drift", async () => {
    const name = `dp${++n}`;
    const { payloadUri: _, ...noLogs } = fraudEndpoint({ name: "quiet", drift: false });
    await makeStack(mod, name, baseArgs({ endpoints: [fraudEndpoint(), noLogs], drift: { registry: REGISTRY } }));
    expect(k8sObjectsOfKind("CronJob").map((c) => c.metadata.name)).toEqual([`mlops-dev-${name}-drift-fraud`]);
    reset();
    expect(construct({ endpoints: [{ ...noLogs, drift: true }] })).not.toThrow();
  });
});

describe("the drift job's IAM role, on a cluster that issues ServiceAccount roles", () => {
  test("reads the registry and the payload logs, and puts only the watched models' drift results and reports", async () => {
    const name = `dp${++n}`;
    await makeStack(mod, name, baseArgs({
      kubernetes: eks(),
      endpoints: [fraudEndpoint({ payloadUri: "s3://logs/prod" }), { name: "churn", model: "churn@champion", namespace: "b", serviceName: "b", payloadUri: "s3://logs/churn" }],
      drift: { registry: REGISTRY },
    }));
    const st = driftPolicy();
    const reg = "arn:aws:s3:::acme-models/registry";
    expect(resourcesWith(st, "s3:PutObject").sort()).toEqual(
      ["churn", "fraud"].flatMap((m) => [`${reg}/models/${m}/drift`, `${reg}/models/${m}/drift/*`, `${reg}/models/${m}/drift-reports`, `${reg}/models/${m}/drift-reports/*`]).sort(),
    );
    expect(st.flatMap((s) => s.Action)).not.toContain("s3:DeleteObject");
    // The keys the job writes (contracts.md 2, runtime/drift/model.ts), and none it does not.
    const put = (key: string) => resourcesWith(st, "s3:PutObject").some((r) => matches(r, `${reg}/${key}`));
    for (const key of [driftResultKey("fraud", "2026-12-02T03:00:00.000Z"), latestDriftKey("fraud"), "models/fraud/drift-reports/2026-12-02T03-00-00-000Z/report.html"]) expect(put(key), key).toBe(true);
    for (const key of ["models/fraud/versions/0000000001.json", "models/fraud/aliases/champion.json", "models/fraud/profiles/0000000001.json", "models/other/drift/latest.json", "blobs/sha256/ab"]) expect(put(key), key).toBe(false);
    expect(resourcesWith(st, "s3:GetObject").sort()).toEqual(expect.arrayContaining([reg, `${reg}/*`, "arn:aws:s3:::logs/prod/*", "arn:aws:s3:::logs/churn/*"]));
    // The ServiceAccount carries it.
    const sa = k8sObjectsOfKind("ServiceAccount").find((s) => s.metadata.name === `mlops-dev-${name}-drift`)!;
    expect(sa.metadata.annotations?.["eks.amazonaws.com/role-arn"]).toMatch(/^arn:aws:iam::.*role/);
  });

  test("may encrypt with a ModelRegistry's KMS key", async () => {
    const key = "arn:aws:kms:us-east-1:123456789012:key/models";
    const registry = new registries.ModelRegistry(`models${++n}`, { storage: { s3: { kmsKeyArn: key } } });
    await makeStack(mod, `dp${++n}`, baseArgs({ kubernetes: eks(), drift: { registry } }));
    expect(resourcesWith(driftPolicy(), "kms:GenerateDataKey")).toEqual([key]);
  });

  test("none when a role is given or with static S3 credentials: the ServiceAccount carries the role given", async () => {
    await makeStack(mod, `dp${++n}`, baseArgs({ kubernetes: eks(), drift: { registry: REGISTRY, serviceAccountRoleArn: "arn:aws:iam::1:role/drift" } }));
    expect(byType("aws:iam/role:Role").filter((r) => r.name.endsWith("-drift-role"))).toEqual([]);
    expect(k8sObjectsOfKind("ServiceAccount").find((s) => s.metadata.name.endsWith("-drift"))!.metadata.annotations?.["eks.amazonaws.com/role-arn"]).toBe("arn:aws:iam::1:role/drift");
    reset();
    const credentials = { accessKeyId: pulumi.secret("AKIA-drift"), secretAccessKey: pulumi.secret("drift-secret-0123") };
    await makeStack(mod, `dp${++n}`, baseArgs({ kubernetes: eks(), drift: { registry: REGISTRY, s3: { endpoint: "http://minio.minio:9000", credentials } } }));
    expect(byType("aws:iam/role:Role").filter((r) => r.name.endsWith("-drift-role"))).toEqual([]);
  });
});
