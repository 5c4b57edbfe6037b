/**
 * Pure builders for a training job: validation and defaults, the TrainSpec it renders, and the
 * Kubernetes objects (ServiceAccount; Job, or Indexed Job + headless Service; or CronJob).
 */
import type * as pulumi from "@pulumi/pulumi";
import { recommendedLabels } from "../../src/naming.js";
import { renderTrainSpec, TRAIN_SPEC_ENV, type TrainSpecInput } from "../../src/spec/train.js";
import { JOB_DEFAULTS, type TrainingJobArgs } from "./job-args.js";
import { normalizeTrainingJob, type JobClusterView, type NormalizedTrainingJob } from "./job-normalize.js";
import { nodeSelectorFor, tolerationsFor } from "./node-pools.js";
import { IRSA_ANNOTATION } from "../shared/constants.js";
import { GPU_RESOURCE, PRIORITY_TRAINING } from "./normalize.js";
import { QUEUE_LABEL } from "./tenancy.js";

export { normalizeTrainingJob, type JobClusterView, type NormalizedTrainingJob };

/** The rendered TrainSpec (JSON) and the optional role are Inputs; everything else is plain. */
export interface TrainingJobPlan extends NormalizedTrainingJob {
  readonly instance: string;
  readonly partOf: string;
  /** `renderTrainSpec(...)` output, put into {@link TRAIN_SPEC_ENV}. */
  readonly renderedSpec: pulumi.Input<string>;
  readonly serviceAccountRoleArn?: pulumi.Input<string>;
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
  /** A Job that starts one run now (`metadata.generateName`, so it can be created repeatedly). */
  readonly manualJob: Obj;
  /** The shell command that starts a run on demand. */
  readonly runOnDemandCommand: string;
}

/** Pod annotation an Indexed Job sets to the pod's index. */
const COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index";
/** Pod label shared by every run of a job: the headless Service selects on it. */
export const JOB_LABEL = "mlops.dev/training-job";


/** The TrainSpec a job renders into {@link TRAIN_SPEC_ENV}, once the registry URI is known. */
export function buildTrainSpec(job: NormalizedTrainingJob, registryUri: string): TrainSpecInput {
  return { ...job.spec, registry: registryUri, workers: job.workers, gpusPerWorker: job.gpusPerWorker, masterPort: job.masterPort } as TrainSpecInput;
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
export function distributedEnvVars(plan: Pick<TrainingJobPlan, "name" | "namespace" | "workers" | "gpusPerWorker" | "masterPort">): Obj[] {
  const indexed = plan.workers > 1;
  const perNode = String(Math.max(plan.gpusPerWorker, 1));
  const rank = indexed ? { valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${COMPLETION_INDEX}']` } } } : { value: "0" };
  return [
    { name: "MLOPS_JOB_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/job-name']" } } },
    { name: "MLOPS_JOB_UID", valueFrom: { fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/controller-uid']" } } },
    { name: "MLOPS_RUN_ID", value: "$(MLOPS_JOB_NAME).$(MLOPS_JOB_UID)" },
    { name: "MASTER_ADDR", value: indexed ? `$(MLOPS_JOB_NAME)-0.${plan.name}.${plan.namespace}.svc.cluster.local` : "127.0.0.1" },
    { name: "MASTER_PORT", value: String(plan.masterPort) },
    { name: "WORLD_SIZE", value: String(plan.workers) },
    { name: "NNODES", value: String(plan.workers) },
    { name: "RANK", ...rank },
    { name: "NODE_RANK", ...rank },
    { name: "LOCAL_RANK", value: "0" },
    { name: "LOCAL_WORLD_SIZE", value: perNode },
    { name: "NPROC_PER_NODE", value: perNode },
  ];
}

/** Every Kubernetes object of the job, as plain data (Inputs only where the plan holds them). */
export function buildTrainingJobManifests(plan: TrainingJobPlan): TrainingJobManifests {
  const labels = jobLabels(plan);
  const indexed = plan.workers > 1;
  const meta = (name: string) => ({ name, namespace: plan.namespace, labels: { ...labels } });

  const serviceAccount: Obj = {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: {
      ...meta(plan.serviceAccountName),
      ...(plan.serviceAccountRoleArn !== undefined ? { annotations: { [IRSA_ANNOTATION]: plan.serviceAccountRoleArn } } : {}),
    },
    // IRSA mounts its own projected token; the Kubernetes API token is not needed.
    automountServiceAccountToken: false,
  };

  const gpu = plan.gpusPerWorker > 0 ? { [GPU_RESOURCE]: String(plan.gpusPerWorker) } : {};
  const container: Obj = {
    name: "trainer",
    image: plan.image,
    args: [...JOB_DEFAULTS.args],
    env: [
      { name: TRAIN_SPEC_ENV, value: plan.renderedSpec },
      ...distributedEnvVars(plan),
      { name: "HOME", value: "/tmp" },
      { name: "TMPDIR", value: "/tmp" },
      ...Object.entries(plan.env).map(([name, value]) => ({ name, value })),
    ],
    ...(indexed ? { ports: [{ name: "dist", containerPort: plan.masterPort, protocol: "TCP" }] } : {}),
    resources: {
      requests: { cpu: plan.resources.cpu, memory: plan.resources.memory, ...gpu },
      // Extended resources must have requests equal to limits.
      limits: { memory: plan.resources.memory, ...gpu },
    },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
    volumeMounts: [
      { name: "dshm", mountPath: "/dev/shm" },
      { name: "scratch", mountPath: "/tmp" },
    ],
  };

  const podSpec: Obj = {
    restartPolicy: "Never",
    serviceAccountName: plan.serviceAccountName,
    automountServiceAccountToken: false,
    priorityClassName: PRIORITY_TRAINING,
    terminationGracePeriodSeconds: JOB_DEFAULTS.terminationGracePeriodSeconds,
    ...(indexed ? { subdomain: plan.name } : {}),
    securityContext: {
      runAsNonRoot: true,
      runAsUser: JOB_DEFAULTS.runAsUser,
      runAsGroup: JOB_DEFAULTS.runAsUser,
      fsGroup: JOB_DEFAULTS.runAsUser,
      seccompProfile: { type: "RuntimeDefault" },
    },
    ...(plan.pool ? { nodeSelector: nodeSelectorFor(plan.pool), tolerations: tolerationsFor(plan.pool) } : {}),
    containers: [container],
    volumes: [
      // NCCL and PyTorch data loaders use shared memory; the container runtime's default is 64 MiB.
      { name: "dshm", emptyDir: { medium: "Memory", sizeLimit: plan.resources.shmSize } },
      { name: "scratch", emptyDir: { sizeLimit: plan.resources.scratchSize } },
    ],
  };

  const jobSpec: Obj = {
    backoffLimit: plan.backoffLimit,
    ...(plan.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: plan.activeDeadlineSeconds } : {}),
    ...(plan.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: plan.ttlSecondsAfterFinished } : {}),
    ...(indexed ? { completionMode: "Indexed", completions: plan.workers, parallelism: plan.workers } : {}),
    template: {
      metadata: {
        labels: { ...labels },
        // A scale-down must not kill a running training pod (its node looks idle between checkpoints).
        annotations: { "cluster-autoscaler.kubernetes.io/safe-to-evict": "false" },
      },
      spec: podSpec,
    },
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
    spec: { ...jobSpec, ttlSecondsAfterFinished: plan.ttlSecondsAfterFinished ?? JOB_DEFAULTS.cronJobTtlSecondsAfterFinished },
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
        startingDeadlineSeconds: JOB_DEFAULTS.startingDeadlineSeconds,
        successfulJobsHistoryLimit: JOB_DEFAULTS.historyLimit,
        failedJobsHistoryLimit: JOB_DEFAULTS.historyLimit,
        jobTemplate: { metadata: { labels: jobMetaLabels }, spec: jobSpec },
      },
    };
    const runOnDemandCommand = `kubectl create job --from=cronjob/${plan.name} ${plan.name}-manual-$(date +%s) -n ${plan.namespace}`;
    return { serviceAccount, ...(service ? { service } : {}), cronJob, manualJob, runOnDemandCommand };
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
  const runOnDemandCommand = `kubectl create -f - <<'EOF'\n${JSON.stringify(manualJob)}\nEOF`;
  return { serviceAccount, ...(service ? { service } : {}), job, manualJob, runOnDemandCommand };
}

/**
 * Everything `addTrainingJob` would render for these args, as plain data: validation, defaults, the
 * TrainSpec (with the registry URI given) and the Kubernetes objects. For `mlops synth`-style output and
 * contract tests that feed the rendered spec to the real runtime.
 */
export function renderTrainingJob(name: string, args: TrainingJobArgs, cluster: JobClusterView, registryUri: string): TrainingJobManifests & { readonly trainSpec: string } {
  const job = normalizeTrainingJob(name, args, cluster);
  const trainSpec = renderTrainSpec(buildTrainSpec(job, registryUri));
  return { ...buildTrainingJobManifests({ ...job, instance: cluster.instance, partOf: cluster.partOf, renderedSpec: trainSpec }), trainSpec };
}

/**
 * The environment one pod of a run would see, resolved the way the kubelet does it: `fieldRef`s to the
 * pod's labels and annotations, then `$(VAR)` references to variables defined earlier in the list, plus
 * the `JOB_COMPLETION_INDEX` an Indexed Job's controller adds. For contract tests that boot the runtime
 * from a rendered Job without a cluster.
 */
export function resolvePodEnv(
  jobOrCronJob: Obj,
  pod: { readonly jobName: string; readonly jobUid: string; readonly index?: number },
): Record<string, string> {
  const jobSpec = jobOrCronJob.kind === "CronJob" ? jobOrCronJob.spec.jobTemplate.spec : jobOrCronJob.spec;
  const indexed = jobSpec.completionMode === "Indexed";
  const index = String(pod.index ?? 0);
  const labels: Record<string, string> = {
    ...(jobSpec.template.metadata?.labels ?? {}),
    "batch.kubernetes.io/job-name": pod.jobName,
    "batch.kubernetes.io/controller-uid": pod.jobUid,
  };
  const annotations: Record<string, string> = {
    ...(jobSpec.template.metadata?.annotations ?? {}),
    ...(indexed ? { [COMPLETION_INDEX]: index } : {}),
  };
  const out: Record<string, string> = indexed ? { JOB_COMPLETION_INDEX: index } : {};
  for (const e of jobSpec.template.spec.containers[0].env as Obj[]) {
    if (e.valueFrom) {
      const path: string = e.valueFrom.fieldRef?.fieldPath ?? "";
      const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
      out[e.name] = m ? ((m[1] === "labels" ? labels : annotations)[m[2]!] ?? "") : "";
    } else {
      out[e.name] = String(e.value).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (ref, v: string) => (v in out ? out[v]! : ref));
    }
  }
  return out;
}
