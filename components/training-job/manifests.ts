/**
 * Pure builders for a training job: the TrainSpec it renders and the Kubernetes objects (ServiceAccount;
 * Job, or Indexed Job + headless Service; or CronJob). Plain data in, plain data out (Inputs only where
 * the plan holds them), so they are tested without Pulumi.
 */
import type * as pulumi from "@pulumi/pulumi";
import { recommendedLabels } from "../../src/naming.js";
import { DISTRIBUTED_ENV, JOB_ENV, SPEC_ENV } from "../../src/spec/env.js";
import { renderTrainSpec, type TrainSpecInput } from "../../src/spec/train.js";
import { GPU_RESOURCE } from "../shared/constants.js";
import { s3AccessEnv, s3CredentialsSecret, type S3AccessArgs } from "../shared/s3-access.js";
import { runtimePodTemplate, runtimeServiceAccount } from "../shared/workload.js";
import { nodeSelectorFor, tolerationsFor } from "../training-cluster/node-pools.js";
import { QUEUE_LABEL } from "../training-cluster/tenancy.js";
import { TRAINING_PUSHGATEWAY_ENV, type TrainingJobArgs } from "./args.js";
import { normalizeTrainingJob, TRAINING_JOB_DEFAULTS, type NormalizedTrainingJob, type TrainingJobClusterFacts } from "./normalize.js";

/** The normalized job, where it runs, its rendered TrainSpec and optional role: what the manifests are built from. */
export interface TrainingJobPlan extends NormalizedTrainingJob {
  readonly image: pulumi.Input<string>;
  readonly instance: string;
  readonly partOf: string;
  /** `renderTrainSpec(...)` output, put into `MLOPS_TRAIN_SPEC`. */
  readonly renderedSpec: pulumi.Input<string>;
  readonly serviceAccountRoleArn?: pulumi.Input<string>;
  /** `s3.credentials` as given, for the Secret (never rendered into the pod). */
  readonly s3Credentials?: NonNullable<S3AccessArgs["credentials"]>;
}

/** The name of the Secret holding a job's S3 credentials. */
export function s3SecretName(job: string): string {
  return `${job}-s3`;
}

type Obj = Record<string, any>;

export interface TrainingJobManifests {
  readonly serviceAccount: Obj;
  /** Headless Service giving worker 0 a stable DNS name (workers > 1 only). */
  readonly service?: Obj;
  /** The one-off Job (no schedule). */
  readonly job?: Obj;
  /** The CronJob (with schedule). */
  readonly cronJob?: Obj;
  /** The Secret with `s3.credentials` (only when given; its values are Pulumi secrets). */
  readonly s3Secret?: Obj;
  /** A Job that starts one run now (`metadata.generateName`, so it can be created repeatedly). */
  readonly manualJob: Obj;
}

/** Pod annotation an Indexed Job sets to the pod's index. */
export const COMPLETION_INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index";
/** Pod label shared by every run of a job: the headless Service selects on it. */
export const JOB_LABEL = "mlops.dev/training-job";

/**
 * The TrainSpec a job renders into `MLOPS_TRAIN_SPEC`, once the registry URI (and, for a training set,
 * the feature registry's) is known.
 */
export function buildTrainSpec(job: NormalizedTrainingJob, registryUri: string, featureRegistryUri?: string): TrainSpecInput {
  let dataset: TrainSpecInput["dataset"] = job.spec.dataset as TrainSpecInput["dataset"];
  if ("trainingSet" in job.spec.dataset) {
    if (featureRegistryUri === undefined) throw new Error(`buildTrainSpec(${job.name}): a trainingSet dataset needs the feature registry's URI`);
    dataset = { ...job.spec.dataset, featureRegistry: featureRegistryUri };
  }
  return { ...job.spec, dataset, registry: registryUri, workers: job.workers, gpusPerWorker: job.gpusPerWorker, masterPort: job.masterPort } as TrainSpecInput;
}

/** Labels on every object of the job, and the pod selector of its headless Service. */
export function jobLabels(plan: { name: string; instance: string; partOf: string }): Record<string, string> {
  return {
    ...recommendedLabels({ name: plan.name, instance: `${plan.instance}-${plan.name}`, component: "training-job", partOf: plan.partOf }),
    [JOB_LABEL]: plan.name,
  };
}

/**
 * The environment `mlops train` (and torchrun) read, matching the runtime's `distributedEnv()`: one pod is
 * one node, so RANK and NODE_RANK are the Indexed Job's completion index (the runtime also reads the
 * `JOB_COMPLETION_INDEX` the Job controller sets), LOCAL_RANK is 0 and NPROC_PER_NODE = gpusPerWorker.
 * MASTER_ADDR is worker 0 of the *same run* through the headless Service, spelled with the run's Job name
 * so that CronJob runs and manual runs (whose Job names vary) resolve too. MLOPS_RUN_ID is the Job's
 * name and UID: shared by all pods and retries of one run (so a retried pod resumes its checkpoint), new
 * for every run.
 */
export function distributedEnvVars(plan: Pick<TrainingJobPlan, "name" | "namespace" | "workers" | "gpusPerWorker" | "masterPort">): { name: string; value?: string; valueFrom?: Obj }[] {
  const indexed = plan.workers > 1;
  const perNode = String(Math.max(plan.gpusPerWorker, 1));
  const rank = indexed ? { valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${COMPLETION_INDEX_ANNOTATION}']` } } } : { value: "0" };
  const d = DISTRIBUTED_ENV;
  return [
    { name: JOB_ENV.jobName, valueFrom: { fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/job-name']" } } },
    { name: JOB_ENV.jobUid, valueFrom: { fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/controller-uid']" } } },
    { name: JOB_ENV.runId, value: `$(${JOB_ENV.jobName}).$(${JOB_ENV.jobUid})` },
    { name: d.masterAddr, value: indexed ? `$(${JOB_ENV.jobName})-0.${plan.name}.${plan.namespace}.svc.cluster.local` : "127.0.0.1" },
    { name: d.masterPort, value: String(plan.masterPort) },
    { name: d.worldSize, value: String(plan.workers) },
    { name: d.nnodes, value: String(plan.workers) },
    { name: d.rank, ...rank },
    { name: d.nodeRank, ...rank },
    { name: d.localRank, value: "0" },
    { name: d.localWorldSize, value: perNode },
    { name: d.nprocPerNode, value: perNode },
  ];
}

/** Every Kubernetes object of the job, as plain data (Inputs only where the plan holds them). */
export function buildTrainingJobManifests(plan: TrainingJobPlan): TrainingJobManifests {
  const labels = jobLabels(plan);
  const indexed = plan.workers > 1;
  const meta = (name: string) => ({ name, namespace: plan.namespace, labels: { ...labels } });

  const serviceAccount = runtimeServiceAccount({
    name: plan.serviceAccountName,
    namespace: plan.namespace,
    labels,
    ...(plan.serviceAccountRoleArn !== undefined ? { roleArn: plan.serviceAccountRoleArn } : {}),
  });

  const s3Secret = plan.s3Credentials
    ? { s3Secret: { apiVersion: "v1", kind: "Secret", ...s3CredentialsSecret({ name: s3SecretName(plan.name), namespace: plan.namespace, labels, credentials: plan.s3Credentials }) } }
    : {};
  const gpu: Record<string, string> = plan.gpusPerWorker > 0 ? { [GPU_RESOURCE]: String(plan.gpusPerWorker) } : {};
  const template = runtimePodTemplate({
    containerName: "trainer",
    image: plan.image,
    command: TRAINING_JOB_DEFAULTS.command,
    spec: { env: SPEC_ENV.trainSpec, json: plan.renderedSpec },
    env: [
      ...distributedEnvVars(plan),
      { name: "HOME", value: "/tmp" },
      { name: "TMPDIR", value: "/tmp" },
      ...s3AccessEnv(plan.s3, s3SecretName(plan.name)),
      ...(plan.pushgatewayUrl !== undefined ? [{ name: TRAINING_PUSHGATEWAY_ENV, value: plan.pushgatewayUrl }] : []),
      ...Object.entries(plan.env).map(([name, value]) => ({ name, value })),
    ],
    ...(indexed ? { ports: [{ name: "dist", containerPort: plan.masterPort, protocol: "TCP" }] } : {}),
    resources: {
      requests: { cpu: plan.resources.cpu, memory: plan.resources.memory, ...gpu },
      // Extended resources must have requests equal to limits.
      limits: { memory: plan.resources.memory, ...gpu },
    },
    volumes: [
      // NCCL and PyTorch data loaders use shared memory; the container runtime's default is 64 MiB.
      { name: "dshm", mountPath: "/dev/shm", medium: "Memory", sizeLimit: plan.resources.shmSize },
      { name: "scratch", mountPath: "/tmp", sizeLimit: plan.resources.scratchSize },
    ],
    serviceAccountName: plan.serviceAccountName,
    labels,
    // A scale-down must not kill a running training pod (its node looks idle between checkpoints).
    annotations: { "cluster-autoscaler.kubernetes.io/safe-to-evict": "false" },
    terminationGracePeriodSeconds: TRAINING_JOB_DEFAULTS.terminationGracePeriodSeconds,
    podSpec: { restartPolicy: "Never", priorityClassName: plan.priorityClassName, ...(indexed ? { subdomain: plan.name } : {}) },
    ...(plan.pool ? { nodeSelector: nodeSelectorFor(plan.pool), tolerations: tolerationsFor(plan.pool) } : {}),
  });

  const jobSpec: Obj = {
    backoffLimit: plan.backoffLimit,
    ...(plan.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: plan.activeDeadlineSeconds } : {}),
    ...(plan.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: plan.ttlSecondsAfterFinished } : {}),
    ...(indexed ? { completionMode: "Indexed", completions: plan.workers, parallelism: plan.workers } : {}),
    template,
  };
  const jobMetaLabels = { ...labels, ...(plan.queueName ? { [QUEUE_LABEL]: plan.queueName } : {}) };

  const service: Obj | undefined = indexed
    ? {
        apiVersion: "v1",
        kind: "Service",
        metadata: meta(plan.name),
        spec: {
          clusterIP: "None",
          // Workers must resolve each other before they are Ready (they become ready only after rendezvous).
          publishNotReadyAddresses: true,
          selector: { [JOB_LABEL]: plan.name },
          ports: [{ name: "dist", port: plan.masterPort, targetPort: plan.masterPort, protocol: "TCP" }],
        },
      }
    : undefined;

  const manualJob: Obj = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { generateName: `${plan.name}-manual-`, namespace: plan.namespace, labels: jobMetaLabels },
    spec: { ...jobSpec, ttlSecondsAfterFinished: plan.ttlSecondsAfterFinished ?? TRAINING_JOB_DEFAULTS.cronJobTtlSecondsAfterFinished },
  };

  if (plan.schedule !== undefined) {
    const cronJob: Obj = {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: meta(plan.name),
      spec: {
        schedule: plan.schedule,
        ...(plan.timeZone !== undefined ? { timeZone: plan.timeZone } : {}),
        concurrencyPolicy: "Forbid",
        startingDeadlineSeconds: TRAINING_JOB_DEFAULTS.startingDeadlineSeconds,
        successfulJobsHistoryLimit: TRAINING_JOB_DEFAULTS.historyLimit,
        failedJobsHistoryLimit: TRAINING_JOB_DEFAULTS.historyLimit,
        jobTemplate: { metadata: { labels: jobMetaLabels }, spec: jobSpec },
      },
    };
    return { serviceAccount, ...(service ? { service } : {}), ...s3Secret, cronJob, manualJob };
  }

  const job: Obj = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      ...meta(plan.name),
      labels: jobMetaLabels,
      // Pulumi would otherwise wait for the Job to complete, i.e. for the whole training run.
      annotations: { "pulumi.com/skipAwait": "true" },
    },
    spec: jobSpec,
  };
  return { serviceAccount, ...(service ? { service } : {}), ...s3Secret, job, manualJob };
}

/**
 * The shell command that starts one run now. CronJob: `kubectl create job --from=cronjob/…`; Job:
 * `kubectl create -f -` fed the manual Job (resolved: no Inputs left in it).
 */
export function runOnDemandCommand(plan: Pick<TrainingJobPlan, "name" | "namespace" | "schedule">, manualJob: Obj): string {
  if (plan.schedule !== undefined) {
    return `kubectl create job --from=cronjob/${plan.name} ${plan.name}-manual-$(date +%s) -n ${plan.namespace}`;
  }
  return `kubectl create -f - <<'EOF'\n${JSON.stringify(manualJob)}\nEOF`;
}

/**
 * Everything `addTrainingJob` would render for these args, as plain data: validation, defaults, the
 * TrainSpec (with the registry URI given) and the Kubernetes objects. For `mlops synth`-style output and
 * contract tests that feed the rendered spec to the real runtime.
 */
export function renderTrainingJob(
  name: string,
  args: TrainingJobArgs,
  cluster: TrainingJobClusterFacts,
  registryUri: string,
  /** A training set's feature registry, when `dataset.featureRegistry` is not a plain string. */
  featureRegistryUri?: string,
): TrainingJobManifests & { readonly trainSpec: string; readonly runOnDemandCommand: string } {
  const job = normalizeTrainingJob(name, args, cluster);
  const trainSpec = renderTrainSpec(buildTrainSpec(job, registryUri, featureRegistryUri ?? (typeof job.featureRegistry === "string" ? job.featureRegistry : undefined)));
  const manifests = buildTrainingJobManifests({
    ...job,
    image: job.image ?? "",
    instance: cluster.instance,
    partOf: cluster.partOf,
    renderedSpec: trainSpec,
    ...(args.s3?.credentials ? { s3Credentials: args.s3.credentials } : {}),
  });
  return { ...manifests, trainSpec, runOnDemandCommand: runOnDemandCommand(job, manifests.manualJob) };
}
