/**
 * The policy pack against what the components register under the mocks (a dev stack): their defaults pass
 * every rule, and each rule catches the violation a user can make through the components' own args and
 * transform hooks, or by hand next to them.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { podSecurityRestrictedViolations, podSpecOf as helperPodSpecOf } from "../helpers/k8s.js";
import { reset, resources, waitForResources } from "../helpers/pulumi-mocks.js";
import { makeStore, setupStoreMocks } from "../components/feature-store/helpers.js";
import { BASE_ENDPOINT_ARGS } from "../components/model-endpoint/helpers.js";
import { POLICIES } from "../../policy/policies.js";
import { podSpecOf, restrictedViolations } from "../../policy/pod-security.js";
import { noCloudKeysInPods, podResourceLimits, podSecurityRestricted } from "../../policy/workloads.js";
import { bucketsEncrypted, bucketsHaveGuards, bucketsPrivate } from "../../policy/buckets.js";
import { policyResources, recordUrns, runPack, runResourcePolicy, runStackPolicy } from "./harness.js";

type Components = typeof import("../../components/index.js");
let mlops: Components;
let n = 0;
const unique = (base: string) => `${base}${++n}`;

beforeAll(async () => {
  await setupStoreMocks("dev");
  recordUrns();
  mlops = await import("../../components/index.js");
});
beforeEach(() => reset());

const jobArgs = {
  registry: { uri: BASE_ENDPOINT_ARGS.registry } as never,
  model: "fraud",
  dataset: { uri: "s3://data/fraud/train.parquet", label: "is_fraud" },
  trainer: { builtin: "logistic-regression" as const },
  image: BASE_ENDPOINT_ARGS.image,
};

/** A registry, a cluster with a training job, an endpoint and a feature store, all with their defaults. */
async function platform(): Promise<void> {
  new mlops.ModelRegistry(unique("models"));
  const cluster = new mlops.TrainingCluster(unique("ml"), { kubeconfig: "apiVersion: v1" } as never);
  cluster.addTrainingJob(unique("fraud"), jobArgs);
  new mlops.ModelEndpoint(unique("fraud"), { ...BASE_ENDPOINT_ARGS });
  await makeStore(mlops as never, unique("features"));
  await waitForResources();
}

describe("the components' defaults", () => {
  test("pass every policy of the pack", async () => {
    await platform();
    const kinds = new Set(resources().map((r) => r.type));
    // The sweep covers the resource kinds the rules are about.
    for (const t of ["kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob", "kubernetes:apps/v1:StatefulSet", "aws:s3/bucket:Bucket", "kubernetes:core/v1:Secret"]) {
      expect(kinds, t).toContain(t);
    }
    expect(await runPack(POLICIES, resources())).toEqual([]);
  });

  test("agree with the test suite's own Pod Security check on every pod (neither finds anything)", async () => {
    await platform();
    const pods = resources().flatMap((r) => {
      const found = podSpecOf(r.type, r.inputs);
      return found ? [{ name: r.name, spec: found.spec, helper: helperPodSpecOf(r.object) }] : [];
    });
    expect(pods.length).toBeGreaterThanOrEqual(4);
    for (const p of pods) {
      expect(p.helper, p.name).toEqual(p.spec);
      expect([p.name, restrictedViolations(p.spec)]).toEqual([p.name, podSecurityRestrictedViolations(p.spec)]);
    }
  });
});

describe("pods-restricted", () => {
  test("reports an endpoint made privileged and root through its transform hook, naming the fields", async () => {
    new mlops.ModelEndpoint(unique("fraud"), {
      ...BASE_ENDPOINT_ARGS,
      transform: {
        deployment: (args: any) => {
          const c = args.spec.template.spec.containers[0];
          c.securityContext = { ...c.securityContext, privileged: true, allowPrivilegeEscalation: true, runAsNonRoot: false, runAsUser: 0 };
        },
      },
    } as never);
    await waitForResources();
    const violations = (await runPack([podSecurityRestricted], resources())).map((v) => v.message);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatch(/kubernetes:apps\/v1:Deployment .* at spec\.template\.spec/);
    for (const field of ["privileged: true", "allowPrivilegeEscalation: not false", "runAsNonRoot: not true", "runAsUser: 0"]) expect(violations[0]).toContain(field);
  });

  test("skips a workload named in its exempt setting", async () => {
    const pod = new k8s.core.v1.Pod(unique("node-agent"), { metadata: { namespace: "kube-system", name: "agent" }, spec: { hostNetwork: true, containers: [{ name: "a", image: "agent" }] } });
    void pod;
    await waitForResources();
    const r = resources().find((x) => x.type === "kubernetes:core/v1:Pod")!;
    expect(await runResourcePolicy(podSecurityRestricted, r)).toHaveLength(1);
    expect(await runResourcePolicy(podSecurityRestricted, r, { config: { exempt: ["kube-system/agent"] } })).toEqual([]);
    expect(await runResourcePolicy(podSecurityRestricted, r, { config: { exempt: [r.name] } })).toEqual([]);
  });
});

describe("pods-resource-limits", () => {
  test("reports a training job whose container lost its resources", async () => {
    const cluster = new mlops.TrainingCluster(unique("ml"), { kubeconfig: "apiVersion: v1" } as never);
    cluster.addTrainingJob(unique("fraud"), {
      ...jobArgs,
      transform: { job: (args: any) => { delete args.spec.template.spec.containers[0].resources; } },
    } as never);
    await waitForResources();
    const violations = await runPack([podResourceLimits], resources());
    expect(violations.map((v) => v.type)).toEqual(["kubernetes:batch/v1:Job"]);
    expect(violations[0]!.message).toMatch(/containers\[0\] \(\w+\)\.resources: requests\.cpu, requests\.memory, limits\.memory not set/);
  });
});

describe("pods-no-long-lived-cloud-keys", () => {
  test("reports AWS keys given to an endpoint from a Secret, and a Secret that holds them, never their values", async () => {
    new mlops.ModelEndpoint(unique("fraud"), {
      ...BASE_ENDPOINT_ARGS,
      transform: {
        deployment: (args: any) => {
          args.spec.template.spec.containers[0].env.push(
            { name: "AWS_ACCESS_KEY_ID", value: "AKIAIOSFODNN7EXAMPLE" },
            { name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: "aws-keys", key: "secret" } } },
          );
        },
      },
    } as never);
    new k8s.core.v1.Secret(unique("aws-keys"), { stringData: { AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" } });
    await waitForResources();
    const violations = await runPack([noCloudKeysInPods], resources());
    expect(violations.map((v) => v.type).sort()).toEqual(["kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Secret"]);
    const text = violations.map((v) => v.message).join("\n");
    expect(text).toMatch(/env AWS_ACCESS_KEY_ID: a long-lived cloud key from a literal value/);
    expect(text).toMatch(/env AWS_SECRET_ACCESS_KEY: a long-lived cloud key from Secret aws-keys/);
    expect(text).not.toContain("AKIAIOSFODNN7EXAMPLE");
    expect(text).not.toContain("EXAMPLEKEY");
  });
});

describe("buckets", () => {
  test("reports a registry bucket made public through its transform hooks", async () => {
    new mlops.ModelRegistry(unique("models"), { transform: { bucket: { acl: "public-read" }, publicAccessBlock: { blockPublicPolicy: false } } } as never);
    await waitForResources();
    const violations = await runPack([bucketsPrivate], resources());
    expect(violations.map((v) => v.type).sort()).toEqual(["aws:s3/bucket:Bucket", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"]);
    expect(violations.map((v) => v.message).join("\n")).toMatch(/acl: public-read[\s\S]*blockPublicPolicy: false; set it to true/);
  });

  test("reports a registry whose encryption setting names no known algorithm", async () => {
    new mlops.ModelRegistry(unique("models"), { transform: { encryption: { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "none" } }] } } } as never);
    await waitForResources();
    const violations = await runPack([bucketsEncrypted], resources());
    expect(violations.map((v) => v.type)).toEqual(["aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"]);
    expect(violations[0]!.message).toContain('sseAlgorithm: ["none"]; set applyServerSideEncryptionByDefault.sseAlgorithm to AES256 or aws:kms');
  });

  test("report a bucket created next to the components without a public-access block or encryption", async () => {
    new mlops.ModelRegistry(unique("models"));
    const loose = new aws.s3.Bucket(unique("loose"), {});
    void loose;
    await waitForResources();
    const violations = await runStackPolicy(bucketsHaveGuards, policyResources(resources()));
    const bucketUrn = policyResources(resources()).find((r) => r.type === "aws:s3/bucket:Bucket" && r.name.startsWith("loose"))!.urn;
    expect(violations).toEqual([
      { message: expect.stringMatching(/^bucket loose\d+ has no BucketPublicAccessBlock/), urn: bucketUrn },
      { message: expect.stringMatching(/^bucket loose\d+ has no default encryption/), urn: bucketUrn },
    ]);
  });
});
