/**
 * The reference platform: one Pulumi program, one stack per stage (stacks/Pulumi.<stage>.yaml).
 * dev runs on an existing cluster; staging and prod create EKS with GPU pools that scale from zero.
 * Every stage gets a model registry, a nightly training job that gates and registers, and an endpoint
 * serving the model alias the stage follows.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ModelEndpoint, ModelRegistry, RuntimeImage, STAGE_DEFAULTS, stageTier, TrainingCluster, type TrainingClusterArgs } from "../components/index.js";
import { MlopsError } from "../src/errors.js";
import { USER_ENV } from "../src/spec/env.js";
import { BUILTIN_TRAINER, loadStageConfig, type StageConfig } from "./config.js";

const stack = pulumi.getStack();
// Validate everything before creating anything.
const { stage, config } = loadStageConfig(stack, pulumi.runtime.allConfig(), pulumi.getProject());
// What the stage changes (replicas, protection) comes from the components' stage defaults.
const defaults = STAGE_DEFAULTS[stageTier(stage)];

const registry = new ModelRegistry("models", { storage: config.registry ?? { s3: {} } });

const cluster = new TrainingCluster("ml", clusterArgs(config));

// One runtime image for the training jobs and the endpoints: the one configured, else built once from
// runtime/Dockerfile and, on EKS, pushed to an ECR repository of this stage (nodes cannot pull a local image).
const image: pulumi.Input<string> = config.image ?? buildRuntimeImage(config);

const training = config.training
  ? cluster.addTrainingJob("breast-cancer", {
      registry,
      model: "breast-cancer",
      dataset: { uri: config.training.dataset, label: "label" },
      trainer: { builtin: BUILTIN_TRAINER, l2: 1.0 },
      gate: { minimum: { auc: 0.95 }, mustBeat: "champion" },
      alias: "challenger",
      ...(config.training.schedule ? { schedule: config.training.schedule } : {}),
      // The built-in trainer is CPU-only and runs in one process: no GPU, no GPU pool, one worker, whatever
      // the stage says (stacks/config.ts refuses a stage that asks for more).
      workers: 1,
      gpusPerWorker: 0,
      image,
    })
  : undefined;

const endpoint = new ModelEndpoint("breast-cancer", {
  registry,
  model: config.endpoint.model,
  kubernetes: cluster,
  ...(config.endpoint.replicas ? { replicas: config.endpoint.replicas } : {}),
  ...(config.endpoint.cpu || config.endpoint.memory
    ? { resources: { ...(config.endpoint.cpu ? { cpu: config.endpoint.cpu } : {}), ...(config.endpoint.memory ? { memory: config.endpoint.memory } : {}) } }
    : {}),
  ...(config.endpoint.gpus ? { gpu: { count: config.endpoint.gpus } } : {}),
  ...(config.endpoint.maxBatchSize ? { batching: { maxBatchSize: config.endpoint.maxBatchSize } } : {}),
  ...(config.endpoint.allowFromNamespaces ? { allowFrom: { namespaces: config.endpoint.allowFromNamespaces } } : {}),
  ...(config.authToken ? { auth: { token: pulumi.secret(config.authToken) } } : {}),
  image,
});

export const registryUri = registry.uri;
export const endpointUrl = endpoint.url;
export const kubeconfig = cluster.kubeconfig;
export const nodePools = cluster.nodePoolNames;
export const trainingJob = training?.jobName;
export const runTrainingNow = training?.runOnDemandCommand;

function clusterArgs(c: StageConfig): TrainingClusterArgs {
  const pools = c.cluster?.gpuPools ?? [];
  const teams = c.cluster?.teams;
  if (c.cluster?.eks) {
    return {
      eks: { version: c.cluster.eks.version, subnetIds: c.cluster.eks.subnetIds },
      nodePools: pools.map((p) => ({ name: p.name, instanceType: p.instanceType, gpusPerNode: p.gpusPerNode, min: p.min, max: p.max, spot: p.spot ?? false })),
      ...(teams ? { teams } : {}),
    };
  }
  return {
    kubeconfig: pulumi.secret(c.kubeconfig ?? ambientKubeconfig()),
    ...(teams ? { teams } : {}),
  };
}

function buildRuntimeImage(c: StageConfig): pulumi.Output<string> {
  if (c.imageRepository) return new RuntimeImage("runtime", { imageRepository: c.imageRepository }).ref;
  if (!c.cluster?.eks) return new RuntimeImage("runtime").ref; // a local cluster (kind) shares the Docker engine
  const repo = new aws.ecr.Repository(
    "runtime",
    { imageTagMutability: "MUTABLE", imageScanningConfiguration: { scanOnPush: true }, forceDelete: !defaults.protect },
    { protect: defaults.protect },
  );
  const token = aws.ecr.getAuthorizationTokenOutput({ registryId: repo.registryId });
  return new RuntimeImage("runtime", {
    imageRepository: repo.repositoryUrl,
    registry: { server: repo.repositoryUrl, username: token.userName, password: pulumi.secret(token.password) },
  }).ref;
}

/** The kubeconfig `kubectl` would use; `mlops synth` renders offline and needs none. */
function ambientKubeconfig(): string {
  const path = process.env.KUBECONFIG?.split(":")[0] || join(homedir(), ".kube", "config");
  if (existsSync(path)) return readFileSync(path, "utf8");
  if (process.env[USER_ENV.synth] === "1") return "[synth: no cluster is contacted]";
  throw new MlopsError(
    `stack "${stack}": no cluster to deploy to: the stage sets neither pulumi-mlops:cluster.eks nor pulumi-mlops:kubeconfig, and ${path} does not exist. ` +
      `Fix: pulumi config set --secret --stack ${stack} pulumi-mlops:kubeconfig "$(cat ~/.kube/config)", or add cluster.eks to stacks/Pulumi.${stack}.yaml.`,
  );
}
