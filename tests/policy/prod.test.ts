/**
 * The prod-only rules against what the components register in a prod stack: images pinned by digest and
 * the EKS endpoint. The stage comes from the stack name in each URN, or from the pack's `stage` setting.
 */
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { findResource, reset, resources, setupMocks, waitForResources } from "../helpers/pulumi-mocks.js";
import { BASE_ENDPOINT_ARGS } from "../components/model-endpoint/helpers.js";
import { POLICIES } from "../../policy/policies.js";
import { clusterEndpointInProd } from "../../policy/cluster.js";
import { imagesPinnedInProd } from "../../policy/workloads.js";
import { recordUrns, runPack, runResourcePolicy } from "./harness.js";

type Components = typeof import("../../components/index.js");
let mlops: Components;
let n = 0;
const unique = (base: string) => `${base}${++n}`;
const DIGEST = `registry.example.com/mlops-runtime@sha256:${"a1".repeat(32)}`;
const eks = { version: "1.35", subnetIds: ["subnet-a", "subnet-b"] };

beforeAll(async () => {
  await setupMocks({ stack: "prod" });
  recordUrns();
  mlops = await import("../../components/index.js");
});
beforeEach(() => reset());

describe("images-pinned-by-digest-in-prod", () => {
  test("reports an endpoint on a tagged image, naming the image and the fix", async () => {
    new mlops.ModelEndpoint(unique("fraud"), { ...BASE_ENDPOINT_ARGS });
    await waitForResources();
    const violations = await runPack([imagesPinnedInProd], resources());
    expect(violations.map((v) => v.type)).toEqual(["kubernetes:apps/v1:Deployment"]);
    expect(violations[0]!.message).toContain(`"${BASE_ENDPOINT_ARGS.image}" is not pinned by digest; use <repo>@sha256:<digest>`);
  });

  test("passes an endpoint on an image pinned by digest", async () => {
    new mlops.ModelEndpoint(unique("fraud"), { ...BASE_ENDPOINT_ARGS, image: DIGEST });
    await waitForResources();
    expect(await runPack([imagesPinnedInProd], resources())).toEqual([]);
  });

  test("passes the image RuntimeImage builds (pinned by its repo digest)", async () => {
    const image = new mlops.RuntimeImage(unique("runtime"), { imageRepository: "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops-runtime" });
    new mlops.ModelEndpoint(unique("fraud"), { ...BASE_ENDPOINT_ARGS, image: image.ref });
    await waitForResources();
    expect(await runPack([imagesPinnedInProd], resources())).toEqual([]);
  });

  test("judges by the stage setting over the stack name", async () => {
    new mlops.ModelEndpoint(unique("fraud"), { ...BASE_ENDPOINT_ARGS });
    await waitForResources();
    const deployment = findResource("kubernetes:apps/v1:Deployment");
    expect(await runResourcePolicy(imagesPinnedInProd, deployment, { config: { stage: "staging" } })).toEqual([]);
    const devUrn = "urn:pulumi:dev::mlops::kubernetes:apps/v1:Deployment::fraud";
    expect(await runResourcePolicy(imagesPinnedInProd, deployment, { urn: devUrn })).toEqual([]);
    expect(await runResourcePolicy(imagesPinnedInProd, deployment, { urn: devUrn, config: { stage: "prod-eu" } })).toHaveLength(1);
  });
});

describe("cluster-endpoint-not-public-in-prod", () => {
  test("reports a TrainingCluster whose EKS endpoint is open to 0.0.0.0/0 (the component's default)", async () => {
    new mlops.TrainingCluster(unique("ml"), { eks });
    await waitForResources();
    const violations = await runPack([clusterEndpointInProd], resources());
    expect(violations.map((v) => v.type)).toEqual(["aws:eks/cluster:Cluster"]);
    expect(violations[0]!.message).toMatch(/publicAccessCidrs: 0\.0\.0\.0\/0 opens the endpoint to the internet; list your CIDRs or set endpointPublicAccess: false/);
  });

  test("passes a cluster whose public endpoint is limited to CIDRs, or private", async () => {
    new mlops.TrainingCluster(unique("ml"), { eks: { ...eks, publicAccessCidrs: ["203.0.113.0/24"] } });
    new mlops.TrainingCluster(unique("ml"), { eks: { ...eks, endpointPublicAccess: false } });
    await waitForResources();
    expect(resources().filter((r) => r.type === "aws:eks/cluster:Cluster")).toHaveLength(2);
    expect(await runPack([clusterEndpointInProd], resources())).toEqual([]);
  });

  test("leaves a dev cluster alone", async () => {
    new mlops.TrainingCluster(unique("ml"), { eks });
    await waitForResources();
    const cluster = findResource("aws:eks/cluster:Cluster");
    expect(await runResourcePolicy(clusterEndpointInProd, cluster, { config: { stage: "dev" } })).toEqual([]);
  });
});

test("a prod platform built as the README shows (digest-pinned image, CIDR-limited endpoint) passes the whole pack", async () => {
  const registry = new mlops.ModelRegistry(unique("models"), { storage: { s3: {} } });
  const cluster = new mlops.TrainingCluster(unique("ml"), {
    eks: { ...eks, publicAccessCidrs: ["203.0.113.0/24"] },
    nodePools: [{ name: "a100", instanceType: "p4d.24xlarge", gpusPerNode: 8, min: 0, max: 4 }],
  });
  cluster.addTrainingJob(unique("fraud"), {
    registry, model: "fraud", image: DIGEST,
    dataset: { uri: "s3://data/fraud/train.parquet", label: "is_fraud" },
    trainer: { command: ["torchrun", "train.py"] }, workers: 2, gpusPerWorker: 8, nodePool: "a100",
  });
  new mlops.ModelEndpoint(unique("fraud"), { registry, model: "fraud@champion", kubernetes: cluster, image: DIGEST });
  await waitForResources();
  expect(resources().some((r) => r.type === "aws:eks/cluster:Cluster")).toBe(true);
  expect(await runPack(POLICIES, resources())).toEqual([]);
});
