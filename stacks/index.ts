/**
 * The reference platform: one Pulumi program, one stack per stage (stacks/Pulumi.<stage>.yaml).
 * dev runs on an existing cluster; staging and prod create EKS with GPU pools that scale from zero.
 * Every stage gets a model registry, a nightly training job that gates and registers, and an endpoint
 * serving the model alias the stage follows.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ModelEndpoint, ModelRegistry, TrainingCluster, type TrainingClusterArgs } from "../components/index.js";
import { MlopsError } from "../src/errors.js";
import { STAGE_DEFAULTS, loadStageConfig, type StageConfig } from "../src/config/stage.js";

const stack = pulumi.getStack();
// Validate everything before creating anything.
const { stage, config } = loadStageConfig(stack, pulumi.runtime.allConfig(), pulumi.getProject());
const defaults = STAGE_DEFAULTS[stage];

const registry = new ModelRegistry("models", { storage: config.registry ?? { s3: {} } });

const cluster = new TrainingCluster("ml", clusterArgs(config));

const training = config.training
  ? cluster.addTrainingJob("breast-cancer", {
      registry,
      model: "breast-cancer",
      dataset: { uri: config.training.dataset, label: "label" },
      trainer: { builtin: "logistic-regression", l2: 1.0 },
      gate: { minimum: { auc: 0.95 }, mustBeat: "champion" },
      alias: "challenger",
      ...(config.training.schedule ? { schedule: config.training.schedule } : {}),
      ...(config.training.workers ? { workers: config.training.workers } : {}),
      gpusPerWorker: config.training.gpusPerWorker ?? 0,
      ...(config.training.nodePool ? { nodePool: config.training.nodePool } : {}),
      ...(config.image ? { image: config.image } : {}),
      ...(config.imageRepository ? { imageRepository: config.imageRepository } : {}),
    })
  : undefined;

const endpoint = new ModelEndpoint("breast-cancer", {
  registry,
  model: config.endpoint.model,
  kubernetes: cluster,
  replicas: config.endpoint.replicas ?? defaults.replicas,
  ...(config.endpoint.cpu || config.endpoint.memoryMiB
    ? { resources: { ...(config.endpoint.cpu ? { cpu: Number(config.endpoint.cpu) } : {}), ...(config.endpoint.memoryMiB ? { memoryMiB: config.endpoint.memoryMiB } : {}) } }
    : {}),
  ...(config.endpoint.gpus ? { gpu: { count: config.endpoint.gpus } } : {}),
  ...(config.endpoint.maxBatchSize ? { batching: { maxBatchSize: config.endpoint.maxBatchSize } } : {}),
  ...(config.endpoint.allowFromNamespaces ? { allowFrom: { namespaces: config.endpoint.allowFromNamespaces } } : {}),
  ...(config.authToken ? { auth: { token: pulumi.secret(config.authToken) } } : {}),
  ...(config.image ? { image: config.image } : {}),
  ...(config.imageRepository ? { imageRepository: config.imageRepository } : {}),
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

/** The kubeconfig `kubectl` would use; `mlops synth` renders offline and needs none. */
function ambientKubeconfig(): string {
  const path = process.env.KUBECONFIG?.split(":")[0] || join(homedir(), ".kube", "config");
  if (existsSync(path)) return readFileSync(path, "utf8");
  if (process.env.MLOPS_SYNTH === "1") return "[synth: no cluster is contacted]";
  throw new MlopsError(
    `stack "${stack}": no cluster to deploy to: the stage sets neither pulumi-mlops:cluster.eks nor pulumi-mlops:kubeconfig, and ${path} does not exist. ` +
      `Fix: pulumi config set --secret --stack ${stack} pulumi-mlops:kubeconfig "$(cat ~/.kube/config)", or add cluster.eks to stacks/Pulumi.${stack}.yaml.`,
  );
}
