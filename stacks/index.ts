/**
 * The reference platform: one Pulumi program, one stack per stage (stacks/Pulumi.<stage>.yaml).
 * dev runs on an existing cluster; staging and prod create EKS with GPU pools that scale from zero.
 * Every stage gets a model registry, a nightly training job that gates and registers, a feature store
 * (stacks/features.ts), an endpoint serving the model alias the stage follows (also by patient id, from
 * the feature store), and a MonitoringStack watching all of it (stacks/monitoring.ts).
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
import { withContext } from "./kubeconfig.js";
import { createExampleDataset, EXAMPLE_DATASET, exampleDatasetBucketName } from "./dataset.js";
import { createExampleFeatureStore, EXAMPLE_FEATURES, exampleFeatureRefs } from "./features.js";
import { createMonitoring, prometheusNamespace, pushgatewayUrlOfStack } from "./monitoring.js";
import { stackPhysicalName } from "../components/shared/stage.js";
import { parseModelRef } from "../src/spec/model-ref.js";

const stack = pulumi.getStack();
/** Runtime images kept in the stage's ECR repository. */
const RUNTIME_IMAGES_KEPT = 20;
// Validate everything before creating anything.
const { stage, config } = loadStageConfig(stack, pulumi.runtime.allConfig(), pulumi.getProject());
// What the stage changes (replicas, protection) comes from the components' stage defaults.
const defaults = STAGE_DEFAULTS[stageTier(stage)];

/** The endpoint's `/metrics` port, opened to the MonitoringStack's Prometheus only. */
const METRICS_PORT = 9090;
/** Share of infer requests logged for the drift job, unless the stage says otherwise. */
const PAYLOAD_SAMPLE_RATE = 0.1;
/** The feature store's name: its namespace is the endpoint's too (see the endpoint below). */
const FEATURES = "features";

// The example dataset's bucket is named after the account and region (stacks/dataset.ts): look them up,
// and check the name, before anything is created. Every stage has it: the feature store's source is there.
const exampleBucketName = await datasetBucketName();
const featureStoreAuthToken = requireFeatureStoreToken();

const registry = new ModelRegistry("models", { storage: config.registry ?? { s3: {} } });

const cluster = new TrainingCluster("ml", clusterArgs(config));

// One runtime image for the training jobs and the endpoints: the one configured, else built once from
// runtime/Dockerfile and, on EKS, pushed to an ECR repository of this stage (nodes cannot pull a local image).
const image: pulumi.Input<string> = config.image ?? buildRuntimeImage(config);

// The stage's dataset, else the example uploaded to a bucket this stack owns, once for both jobs.
let example: { dataset: Dataset; bucket: aws.s3.Bucket } | undefined;
const dataset = config.training ? trainingDataset(config.training.dataset) : undefined;

const training = config.training
  ? cluster.addTrainingJob("breast-cancer", {
      registry,
      model: "breast-cancer",
      dataset: dataset!.spec,
      trainer: { builtin: BUILTIN_TRAINER, l2: 1.0 },
      gate: { minimum: { auc: 0.95 }, mustBeat: "champion" },
      alias: "challenger",
      ...(config.training.schedule ? { schedule: config.training.schedule } : {}),
      // The built-in trainer is CPU-only and runs in one process: no GPU, no GPU pool, one worker, whatever
      // the stage says (stacks/config.ts refuses a stage that asks for more).
      workers: 1,
      gpusPerWorker: 0,
      image,
      // Its gate result and holdout metrics, for the training dashboard and alerts (the MonitoringStack's Pushgateway).
      pushgatewayUrl: pushgatewayUrlOfStack(),
    }, dataset!.dependsOn ? { dependsOn: [dataset!.dependsOn] } : {})
  : undefined;

// Opt-in (pulumi-mlops:gpuTraining): your trainer on the GPUs, e.g. torchrun over `workers` pods with
// `gpusPerWorker` GPUs each. It registers under its own model name and moves its challenger alias only when
// the gate passes, like the built-in job.
const gpuTraining = config.gpuTraining ? addGpuTraining(config.gpuTraining) : undefined;

// The example's measurements, keyed by patient id, materialized into the online store.
const features = createExampleFeatureStore(FEATURES, {
  kubernetes: cluster,
  bucket: exampleData().bucket,
  bucketName: exampleBucketName,
  eks: config.cluster?.eks !== undefined,
  authToken: featureStoreAuthToken,
  allowFrom: [prometheusNamespace()],
  image,
  ...(config.featureStore?.schedule ? { schedule: config.featureStore.schedule } : {}),
});

// Sampled requests and answers, which the drift job compares with the model's reference profile.
const payloadsUri = pulumi.interpolate`${registry.uri}/payloads`;
// The example model takes the feature store's columns: it is also served by patient id. Another model
// would not fit them (a version whose input width differs is not served), so it gets no features.
const servesExample = parseModelRef(config.endpoint.model, "endpoint.model").name === "breast-cancer";

const endpoint = new ModelEndpoint("breast-cancer", {
  registry,
  model: config.endpoint.model,
  kubernetes: cluster,
  // Its pods read the online store's AUTH token from the store's Secret, and pods read Secrets of their own
  // namespace only: the endpoint runs in the store's namespace (by name, which its IAM role's trust names).
  ...(servesExample
    ? { namespace: stackPhysicalName(FEATURES), features: { store: features, entity: EXAMPLE_FEATURES.entity, features: exampleFeatureRefs() } }
    : {}),
  metricsPort: METRICS_PORT,
  monitoringNamespace: prometheusNamespace(),
  logging: { sampleRate: config.endpoint.payloadSampleRate ?? PAYLOAD_SAMPLE_RATE, uri: payloadsUri },
  ...(config.endpoint.replicas ? { replicas: config.endpoint.replicas } : {}),
  ...(config.endpoint.cpu || config.endpoint.memory
    ? { resources: { ...(config.endpoint.cpu ? { cpu: config.endpoint.cpu } : {}), ...(config.endpoint.memory ? { memory: config.endpoint.memory } : {}) } }
    : {}),
  ...(config.endpoint.gpus ? { gpu: { count: config.endpoint.gpus } } : {}),
  ...(config.endpoint.maxBatchSize ? { batching: { maxBatchSize: config.endpoint.maxBatchSize } } : {}),
  ...(config.endpoint.allowFromNamespaces ? { allowFrom: { namespaces: config.endpoint.allowFromNamespaces } } : {}),
  ...(config.authToken ? { auth: { token: pulumi.secret(config.authToken) } } : {}),
  image,
}, servesExample ? { dependsOn: [features] } : {});

const monitoring = createMonitoring({
  cluster,
  registry,
  s3Registry: !(config.registry && "path" in config.registry),
  endpoint,
  model: config.endpoint.model,
  payloadsUri,
  features,
  ...(training ? { training } : {}),
  // A retrain copies the training CronJob's template: only a scheduled training job has one.
  retrainOnDrift: config.training?.schedule !== undefined,
  image,
  ...(config.monitoring?.driftSchedule ? { driftSchedule: config.monitoring.driftSchedule } : {}),
});

export const registryUri = registry.uri;
export const endpointUrl = endpoint.url;
export const kubeconfig = cluster.kubeconfig;
export const nodePools = cluster.nodePoolNames;
export const trainingJob = training?.jobName;
export const runTrainingNow = training?.runOnDemandCommand;
export const gpuTrainingJob = gpuTraining?.jobName;
export const featureServerUrl = features.serverUrl;
export const onlineStore = features.onlineStore;
export const prometheusUrl = monitoring.prometheusUrl;
export const pushgatewayUrl = monitoring.pushgatewayUrl;

function clusterArgs(c: StageConfig): TrainingClusterArgs {
  const pools = c.cluster?.gpuPools ?? [];
  const teams = c.cluster?.teams;
  if (c.cluster?.eks) {
    return {
      // Without subnetIds the cluster creates its VPC.
      eks: c.cluster.eks,
      nodePools: pools,
      ...(teams ? { teams } : {}),
    };
  }
  const kubeconfig = c.kubeconfig ?? ambientKubeconfig();
  // Synth contacts no cluster and may see a stand-in kubeconfig: the context is picked on a real run only.
  const inContext = c.cluster?.context && process.env[USER_ENV.synth] !== "1" ? withContext(kubeconfig, c.cluster.context, stack) : kubeconfig;
  return {
    kubeconfig: pulumi.secret(inContext),
    ...(teams ? { teams } : {}),
  };
}

/**
 * Every build pushes a new tag: keep the newest `count` images (a rollback needs the previous few; one
 * still running is never that old) and expire the rest, untagged ones included.
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html
 */
function runtimeImageLifecyclePolicy(count: number): object {
  return {
    rules: [
      {
        rulePriority: 1,
        description: `Keep the newest ${count} runtime images`,
        selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: count },
        action: { type: "expire" },
      },
    ],
  };
}

function buildRuntimeImage(c: StageConfig): pulumi.Output<string> {
  if (c.imageRepository) return new RuntimeImage("runtime", { imageRepository: c.imageRepository }).ref;
  if (!c.cluster?.eks) return new RuntimeImage("runtime").ref; // a local cluster (kind) shares the Docker engine
  // Tags are content-derived (RuntimeImage: `<version>-<digest of the build context>`), so they can be
  // immutable: a tag always names the image it first named, and pods run it by digest anyway.
  const repo = new aws.ecr.Repository(
    "runtime",
    { imageTagMutability: "IMMUTABLE", imageScanningConfiguration: { scanOnPush: true }, forceDelete: !defaults.protect },
    { protect: defaults.protect },
  );
  new aws.ecr.LifecyclePolicy("runtime", { repository: repo.name, policy: JSON.stringify(runtimeImageLifecyclePolicy(RUNTIME_IMAGES_KEPT)) });
  const token = aws.ecr.getAuthorizationTokenOutput({ registryId: repo.registryId });
  return new RuntimeImage("runtime", {
    imageRepository: repo.repositoryUrl,
    registry: { server: repo.repositoryUrl, username: token.userName, password: pulumi.secret(token.password) },
  }).ref;
}

interface Dataset {
  spec: { uri: string; label: string; format?: "csv" };
  /** The upload the job waits for (the example dataset only). */
  dependsOn?: pulumi.Resource;
}

function trainingDataset(uri: string | undefined, label: string = EXAMPLE_DATASET.label): Dataset {
  if (uri) return { spec: { uri, label } };
  return exampleData().dataset;
}

/** The example bucket and dataset, created once for the jobs and the feature store. */
function exampleData(): { dataset: Dataset; bucket: aws.s3.Bucket } {
  if (!example) {
    const made = createExampleDataset("example-data", { bucketName: exampleBucketName, protect: defaults.protect });
    example = { dataset: { spec: { uri: made.uri, label: made.label, format: made.format }, dependsOn: made.object }, bucket: made.bucket };
  }
  return example;
}

/**
 * The feature store's AUTH token as a Pulumi secret (config.ts checked its form). Required: its value goes to
 * ElastiCache or the in-cluster Valkey and to a Kubernetes Secret, never into a spec or an output.
 */
function requireFeatureStoreToken(): pulumi.Output<string> {
  if (config.featureStoreAuthToken === undefined) {
    throw new MlopsError(
      `stack "${stack}": pulumi-mlops:featureStoreAuthToken is not set; the feature store's online store needs an AUTH token (16 to 128 printable characters without spaces, '"', '/' or '@'). ` +
        `Fix: pulumi config set --secret --stack ${stack} pulumi-mlops:featureStoreAuthToken "$(openssl rand -hex 32)"`,
    );
  }
  return new pulumi.Config(pulumi.getProject()).requireSecret("featureStoreAuthToken");
}

function addGpuTraining(g: NonNullable<StageConfig["gpuTraining"]>) {
  const data = trainingDataset(g.dataset, g.label);
  return cluster.addTrainingJob(
    g.model,
    {
      registry,
      model: g.model,
      dataset: data.spec,
      trainer: { command: g.command },
      gate: { mustBeat: "champion" },
      alias: "challenger",
      image: g.image,
      workers: g.workers,
      gpusPerWorker: g.gpusPerWorker,
      nodePool: g.nodePool,
      ...(g.team ? { team: g.team } : {}),
      ...(g.schedule ? { schedule: g.schedule } : {}),
    },
    data.dependsOn ? { dependsOn: [data.dependsOn] } : {},
  );
}

/** The example dataset's bucket name: a plain string, so it is derived from the account and region. */
async function datasetBucketName(): Promise<string> {
  const [identity, region] = await Promise.all([aws.getCallerIdentity(), aws.getRegion()]);
  return exampleDatasetBucketName({ project: pulumi.getProject(), stage, accountId: identity.accountId, region: region.region });
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
