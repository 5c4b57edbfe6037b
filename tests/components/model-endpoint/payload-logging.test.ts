/**
 * ModelEndpoint's `logging` arg under the mocks: rendered into the EndpointSpec the runtime parses, the
 * grace period grown by the flush timeout, put access (and only that) to the S3 prefix on the pods' role,
 * and the errors for bad settings.
 */
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { PAYLOAD_LOGGING_DEFAULTS, parseEndpointSpec } from "../../../src/spec/endpoint.js";
import { podSpecOf } from "../../helpers/k8s.js";
import { byType, k8sObjectsOfKind, reset, setupMocks, waitForResources } from "../../helpers/pulumi-mocks.js";
import { makeEndpoint } from "./helpers.js";

type EndpointMod = typeof import("../../../components/model-endpoint/index.js");
type EndpointArgs = import("../../../components/model-endpoint/index.js").ModelEndpointArgs;
let mod: EndpointMod;
let clusterMod: typeof import("../../../components/training-cluster/index.js");
let pulumi: typeof import("@pulumi/pulumi");
let n = 0;

beforeAll(async () => {
  await setupMocks({ project: "mlops", stack: "dev" });
  pulumi = await import("@pulumi/pulumi");
  mod = await import("../../../components/model-endpoint/index.js");
  clusterMod = await import("../../../components/training-cluster/index.js");
});
beforeEach(() => reset());

const eks = () => new clusterMod.TrainingCluster(`c${++n}`, { eks: { version: "1.35", subnetIds: ["subnet-a", "subnet-b"] }, nodePools: [] });
const make = (over: Partial<EndpointArgs> = {}) => makeEndpoint(mod, `ep${++n}`, over);
const pod = () => podSpecOf(k8sObjectsOfKind("Deployment")[0]!)!;
const spec = () => parseEndpointSpec(JSON.parse(pod().containers[0].env.find((e: { name: string }) => e.name === "MLOPS_ENDPOINT_SPEC").value));
const statements = () => {
  const policies = byType("aws:iam/rolePolicy:RolePolicy").filter((r) => r.name.endsWith("-endpoint-s3"));
  expect(policies).toHaveLength(1);
  return JSON.parse(policies[0]!.inputs.policy).Statement as { Sid: string; Action: string[]; Resource: unknown }[];
};

describe("ModelEndpoint logging", () => {
  test("renders logging into the EndpointSpec, with the runtime's defaults for what is not given", async () => {
    await make({ logging: { sampleRate: 0.1, uri: "s3://payloads/prod", batchSize: 500 } });
    expect(spec().logging).toEqual({ ...PAYLOAD_LOGGING_DEFAULTS, sampleRate: 0.1, uri: "s3://payloads/prod", batchSize: 500 });
  });

  test("takes the URI as an Output (a bucket made in the same program)", async () => {
    await make({ logging: { sampleRate: 1, uri: pulumi.output("s3://made-here/payloads") } });
    expect(spec().logging?.uri).toBe("s3://made-here/payloads");
  });

  test("leaves logging out of the spec by default", async () => {
    await make();
    expect(spec().logging).toBeUndefined();
  });

  test("grows the pods' grace period by the flush timeout", async () => {
    await make({ logging: { sampleRate: 1, uri: "s3://payloads/prod", flushTimeoutSeconds: 8 } });
    expect(pod().terminationGracePeriodSeconds).toBe(5 + 5 + 30 + 8 + 10);
    expect(spec().logging?.flushTimeoutSeconds).toBe(8);
  });

  test("lets the pods' role put objects under the logging prefix, never delete, and still only read the registry", async () => {
    await make({ kubernetes: eks(), logging: { sampleRate: 0.5, uri: "s3://payloads/prod" } });
    const s = statements();
    expect(s.find((x) => x.Action.includes("s3:PutObject"))!.Resource).toEqual(["arn:aws:s3:::payloads/prod", "arn:aws:s3:::payloads/prod/*"]);
    expect(s.flatMap((x) => x.Action)).not.toContain("s3:DeleteObject");
    const registryAccess = s.filter((x) => JSON.stringify(x.Resource).includes("arn:aws:s3:::models"));
    expect(registryAccess.flatMap((x) => x.Action).sort()).toEqual(["s3:GetObject", "s3:ListBucket"]);
  });

  test("lets the role encrypt with the logging bucket's key and only decrypt with the registry's", async () => {
    const logKey = "arn:aws:kms:us-east-1:123456789012:key/payloads";
    const regKey = "arn:aws:kms:us-east-1:123456789012:key/models";
    await make({ kubernetes: eks(), registryKmsKeyArn: regKey, logging: { sampleRate: 1, uri: "s3://payloads/prod", kmsKeyArn: logKey } });
    const kms = statements().filter((x) => x.Action.some((a) => a.startsWith("kms:")));
    expect(kms.map((x) => [x.Resource, [...x.Action].sort()])).toEqual(
      expect.arrayContaining([
        [[logKey], ["kms:Decrypt", "kms:GenerateDataKey"]],
        [[regKey], ["kms:Decrypt"]],
      ]),
    );
  });

  test("makes a role for logs on S3 even when the registry is a local path", async () => {
    await make({ kubernetes: eks(), registry: "file:///models", logging: { sampleRate: 1, uri: "s3://payloads/prod" } });
    const actions = statements().flatMap((x) => x.Action);
    expect(actions).toContain("s3:PutObject");
    expect(JSON.stringify(statements())).not.toContain("models");
  });

  test("gives no put access for a file:// logging URI", async () => {
    await make({ kubernetes: eks(), logging: { sampleRate: 1, uri: "file:///mnt/payloads" } });
    expect(statements().flatMap((x) => x.Action)).not.toContain("s3:PutObject");
    expect(spec().logging?.uri).toBe("file:///mnt/payloads");
  });

  test("fails naming the field for a sample rate over 1, a URI that is not s3:// or file://, and a batch larger than the buffer", async () => {
    const bad = (logging: object) => () => new mod.ModelEndpoint(`bad${++n}`, { registry: "s3://models/team", model: "fraud@champion", kubernetes: { kubeconfig: "apiVersion: v1" }, image: "x:1", logging } as EndpointArgs);
    expect(bad({ sampleRate: 1.5, uri: "s3://p/q" })).toThrow(/logging\.sampleRate/);
    expect(bad({ sampleRate: 1, uri: "https://p/q" })).toThrow(/logging\.uri: must be an s3:\/\/ or file:\/\/ URI/);
    expect(bad({ sampleRate: 1, uri: "s3://p/q", batchSize: 20_000 })).toThrow(/logging\.batchSize: is more than maxBufferedRecords/);
    expect(bad({ sampleRate: 1, uri: "s3://p/q", extra: 1 })).toThrow(/logging/);
    await waitForResources();
  });
});
