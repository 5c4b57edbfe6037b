// Issue 9 §2: a training job on a FeatureStore training set (`dataset: { trainingSet, featureRegistry }`).
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { MlopsError } from "../../../src/errors.js";
import { parseTrainSpec, TRAIN_SPEC_ENV } from "../../../src/spec/train.js";
import { KEY, kmsStatements, VIA_S3 } from "../../helpers/kms.js";
import { podSecurityRestrictedViolations, podSpecOf, validateK8sObjects } from "../../helpers/k8s.js";
import { byType, k8sObjects, k8sObjectsOfKind, policyOf, reset, setupMocks, waitForResources } from "../../helpers/pulumi-mocks.js";
import { allows, allowsList, objectArn } from "./policy-match.js";

type Mod = typeof import("../../../components/training-cluster/index.js");
let mod: Mod;
let n = 0;

beforeAll(async () => {
  await setupMocks({ stack: "dev" });
  mod = await import("../../../components/training-cluster/index.js");
});
beforeEach(() => reset());

const FEATURES = "s3://features/registry";
/** A FeatureStore as a job sees it: anything with a `registryUri` Output. */
const featureStore = { registryUri: pulumi.output(FEATURES) };
const jobArgs = {
  registry: { uri: pulumi.output("s3://models/registry") },
  model: "fraud",
  dataset: { trainingSet: "fraud-train:latest", featureRegistry: featureStore, label: "is_fraud" },
  trainer: { builtin: "logistic-regression" as const },
  gpusPerWorker: 0,
};
const eks = () => new mod.TrainingCluster(`ts${++n}`, { eks: { version: "1.35", subnetIds: ["subnet-a", "subnet-b"] }, nodePools: [] });
const kubeconfig = () => new mod.TrainingCluster(`tk${++n}`, { kubeconfig: "apiVersion: v1" });
const renderedSpec = () => JSON.parse(podSpecOf(k8sObjectsOfKind("Job")[0]!)!.containers[0].env.find((e: { name: string }) => e.name === TRAIN_SPEC_ENV).value);

describe("a training job on a training set", () => {
  test("renders the training set and the FeatureStore's registry URI into its TrainSpec", async () => {
    kubeconfig().addTrainingJob("fraud", jobArgs);
    await waitForResources();
    expect(parseTrainSpec(renderedSpec()).dataset).toEqual({ trainingSet: "fraud-train:latest", featureRegistry: FEATURES, label: "is_fraud", exclude: [] });
  });

  test("takes the feature registry as an s3:// URI, and renders the exclusions given", async () => {
    kubeconfig().addTrainingJob("fraud", { ...jobArgs, dataset: { trainingSet: "fraud-train:3", featureRegistry: "s3://other/reg", label: "y", exclude: ["txn_count_7d"] } });
    await waitForResources();
    expect(renderedSpec().dataset).toEqual({ trainingSet: "fraud-train:3", featureRegistry: "s3://other/reg", label: "y", exclude: ["txn_count_7d"] });
  });

  test("every object validates and its pods meet Pod Security restricted", async () => {
    kubeconfig().addTrainingJob("fraud", jobArgs);
    await waitForResources();
    expect(validateK8sObjects(k8sObjects()).errors).toEqual([]);
    expect(podSecurityRestrictedViolations(podSpecOf(k8sObjectsOfKind("Job")[0]!)!)).toEqual([]);
  });

  test("lets its role read every version of that training set, and nothing else of the feature registry", async () => {
    const cluster = eks();
    cluster.addTrainingJob("nightly", jobArgs);
    await waitForResources();
    const policy = policyOf(`ts${n}-nightly-role`);
    for (const key of ["training-sets/fraud-train/0000000001/manifest.json", "training-sets/fraud-train/0000000042/data.parquet"]) {
      expect(allows(policy, "s3:GetObject", objectArn(`${FEATURES}/${key}`)), key).toBe(true);
      expect(allows(policy, "s3:PutObject", objectArn(`${FEATURES}/${key}`)), key).toBe(false);
      expect(allows(policy, "s3:DeleteObject", objectArn(`${FEATURES}/${key}`)), key).toBe(false);
    }
    for (const key of ["training-sets/other/0000000001/data.parquet", "training-sets/fraud-train-2/0000000001/data.parquet", "views/txn_stats/0000000001.json", "watermarks/txn_stats.json"]) {
      expect(allows(policy, "s3:GetObject", objectArn(`${FEATURES}/${key}`)), key).toBe(false);
    }
    expect(allowsList(policy, "arn:aws:s3:::features", "registry/training-sets/fraud-train/")).toBe(true);
    // The folder's listing (to name the training sets there when its own is missing), not the registry's.
    expect(allowsList(policy, "arn:aws:s3:::features", "registry/training-sets/")).toBe(true);
    expect(allowsList(policy, "arn:aws:s3:::features", "registry/")).toBe(false);
    expect(allowsList(policy, "arn:aws:s3:::features", "registry/views/")).toBe(false);
  });

  test("lets its role decrypt the offline bucket's objects with datasetKmsKeyArn", async () => {
    eks().addTrainingJob("nightly", { ...jobArgs, datasetKmsKeyArn: KEY });
    await waitForResources();
    const policy = byType("aws:iam/rolePolicy:RolePolicy").at(-1)!.inputs.policy as string;
    expect(kmsStatements(policy)).toEqual([expect.objectContaining({ Action: ["kms:Decrypt"], Resource: [KEY], Condition: VIA_S3 })]);
  });

  test("fails when the feature registry is a file:// URI a pod cannot reach, naming it", () => {
    const run = () => kubeconfig().addTrainingJob("fraud", { ...jobArgs, dataset: { ...jobArgs.dataset, featureRegistry: "file:///tmp/registry" } });
    expect(run).toThrow(MlopsError);
    expect(run).toThrow(/dataset\.featureRegistry: must be the FeatureStore \(or its registryUri\) or its registry's s3:\/\/ URI/);
  });

  test("fails when the training set reference is malformed, naming it", () => {
    expect(() => kubeconfig().addTrainingJob("fraud", { ...jobArgs, dataset: { ...jobArgs.dataset, trainingSet: "fraud-train" } })).toThrow(/dataset\.trainingSet: must be "<name>:<version>" or "<name>:latest"/);
  });

  test("fails when the dataset is both a file and a training set", () => {
    expect(() => kubeconfig().addTrainingJob("fraud", { ...jobArgs, dataset: { ...jobArgs.dataset, uri: "s3://data/x.csv" } as never })).toThrow(/dataset: must be a file, .* or a saved training set, .* not both/);
  });
});
