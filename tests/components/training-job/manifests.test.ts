import { describe, expect, test } from "vitest";
import { MlopsError } from "../../../src/errors.js";
import { parseTrainSpec, renderTrainSpec, TRAIN_SPEC_ENV } from "../../../src/spec/train.js";
import { normalizeClusterArgs } from "../../../components/training-cluster/normalize.js";
import type { TrainingJobArgs } from "../../../components/training-job/args.js";
import { buildTrainingJobManifests, buildTrainSpec, renderTrainingJob, runOnDemandCommand } from "../../../components/training-job/manifests.js";
import { normalizeTrainingJob, type TrainingJobClusterFacts } from "../../../components/training-job/normalize.js";
import { resolvePodEnv } from "../../helpers/pod-env.js";
import { podSecurityRestrictedViolations, podSpecOf, validateK8sObject } from "../../helpers/k8s.js";

const cfg = normalizeClusterArgs({
  eks: { version: "1.35", subnetIds: ["subnet-a", "subnet-b"] },
  nodePools: [
    { name: "a100", instanceType: "p4d.24xlarge", gpusPerNode: 8 },
    { name: "l4", instanceType: "g6.xlarge", gpusPerNode: 1 },
  ],
  teams: [{ name: "fraud", gpuQuota: 16 }, { name: "risk", gpuQuota: 4 }],
  kueue: { teams: ["fraud"] },
});
const cluster: TrainingJobClusterFacts = {
  instance: "mlops-dev-ml",
  partOf: "mlops",
  pools: cfg.pools,
  teams: cfg.teams.map((t) => t.name),
  kueueTeams: ["fraud"],
  namespaces: { default: "mlops-training", byTeam: { fraud: "fraud", risk: "risk" } },
  priorityClassName: "mlops-training",
  cpuInstanceTypes: [],
};
const base: TrainingJobArgs = {
  registry: "s3://models/registry",
  model: "fraud",
  dataset: { uri: "s3://data/fraud/train.parquet", label: "is_fraud" },
  trainer: { command: ["torchrun", "train.py"] },
};
const REGISTRY = "s3://models/registry";

function build(args: Partial<TrainingJobArgs> = {}, name = "fraud") {
  const job = normalizeTrainingJob(name, { ...base, ...args }, cluster);
  const spec = renderTrainSpec(buildTrainSpec(job, REGISTRY));
  const m = buildTrainingJobManifests({ ...job, image: job.image ?? "", instance: cluster.instance, partOf: cluster.partOf, renderedSpec: spec });
  return { ...m, runOnDemandCommand: runOnDemandCommand(job, m.manualJob) };
}
const envOf = (obj: Record<string, any>) => Object.fromEntries((podSpecOf(obj)!.containers[0].env as any[]).map((e) => [e.name, e.value ?? e.valueFrom]));

function problemsOf(args: Partial<TrainingJobArgs>, name = "fraud"): string[] {
  try {
    normalizeTrainingJob(name, { ...base, ...args } as TrainingJobArgs, cluster);
  } catch (e) {
    expect(e).toBeInstanceOf(MlopsError);
    return [...(e as MlopsError).problems];
  }
  throw new Error("expected a validation failure");
}

describe("one worker", () => {
  test("makes a batch/v1 Job and no Service", () => {
    const m = build();
    expect(m.job?.kind).toBe("Job");
    expect(m.service).toBeUndefined();
    expect(m.cronJob).toBeUndefined();
  });

  test("renders a TrainSpec the runtime's parser accepts", () => {
    const spec = parseTrainSpec(JSON.parse(envOf(build().job!)[TRAIN_SPEC_ENV]));
    expect(spec).toMatchObject({ name: "fraud", registry: REGISTRY, model: "fraud", workers: 1, gpusPerWorker: 1, trainer: { command: ["torchrun", "train.py"] } });
  });

  test("requests and limits one GPU on the first pool by default, with its tolerations and node selector", () => {
    const pod = podSpecOf(build().job!)!;
    expect(pod.containers[0].resources).toEqual({
      requests: { cpu: "4", memory: "16Gi", "nvidia.com/gpu": "1" },
      limits: { memory: "16Gi", "nvidia.com/gpu": "1" },
    });
    expect(pod.nodeSelector).toEqual({ "mlops.dev/node-pool": "a100" });
    expect(pod.tolerations).toEqual([{ key: "nvidia.com/gpu", operator: "Equal", value: "true", effect: "NoSchedule" }]);
  });

  test("mounts /dev/shm as a memory emptyDir", () => {
    const pod = podSpecOf(build({ resources: { shmSize: "32Gi" } }).job!)!;
    expect(pod.volumes).toContainEqual({ name: "dshm", emptyDir: { medium: "Memory", sizeLimit: "32Gi" } });
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: "dshm", mountPath: "/dev/shm" });
  });

  test("keeps the autoscaler from evicting the pod and uses the training priority class", () => {
    const job = build().job!;
    expect(job.spec.template.metadata.annotations).toEqual({ "cluster-autoscaler.kubernetes.io/safe-to-evict": "false" });
    expect(job.spec.template.spec.priorityClassName).toBe("mlops-training");
  });

  test("passes backoffLimit, activeDeadlineSeconds and ttlSecondsAfterFinished through", () => {
    const spec = build({ backoffLimit: 1, activeDeadlineSeconds: 3600, ttlSecondsAfterFinished: 60 }).job!.spec;
    expect(spec).toMatchObject({ backoffLimit: 1, activeDeadlineSeconds: 3600, ttlSecondsAfterFinished: 60 });
  });

  test("uses backoffLimit 3 and keeps a one-off Job by default", () => {
    const spec = build().job!.spec;
    expect(spec.backoffLimit).toBe(3);
    expect(spec.ttlSecondsAfterFinished).toBeUndefined();
  });

  test("tells Pulumi not to wait for the run to finish", () => {
    expect(build().job!.metadata.annotations).toEqual({ "pulumi.com/skipAwait": "true" });
  });

  test("runs with no GPU, pool, toleration or selector when gpusPerWorker is 0", () => {
    const pod = podSpecOf(build({ gpusPerWorker: 0 }).job!)!;
    expect(pod.containers[0].resources.limits).toEqual({ memory: "2Gi" });
    expect(pod.nodeSelector).toBeUndefined();
    expect(pod.tolerations).toBeUndefined();
  });

  test("joins the team's Kueue LocalQueue through the queue-name label", () => {
    expect(build({ team: "fraud" }).job!.metadata.labels["kueue.x-k8s.io/queue-name"]).toBe("fraud");
  });

  test("does not join a queue for a team without one", () => {
    expect(build({ team: "risk" }).job!.metadata.labels["kueue.x-k8s.io/queue-name"]).toBeUndefined();
  });
});

describe("several workers", () => {
  const m = build({ workers: 4, gpusPerWorker: 2 });

  test("makes an Indexed Job with completions = parallelism = workers", () => {
    expect(m.job!.spec).toMatchObject({ completionMode: "Indexed", completions: 4, parallelism: 4 });
  });

  test("makes a headless Service that publishes not-ready workers and selects the job's pods", () => {
    expect(m.service!.spec).toMatchObject({ clusterIP: "None", publishNotReadyAddresses: true, selector: { "mlops.dev/training-job": "fraud" } });
    const podLabels = m.job!.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(m.service!.spec.selector)) expect(podLabels[k]).toBe(v);
  });

  test("sets the pod subdomain to the Service so worker 0 has a DNS name", () => {
    expect(m.job!.spec.template.spec.subdomain).toBe(m.service!.metadata.name);
  });

  test("renders the torch.distributed environment", () => {
    const env = envOf(m.job!);
    expect(env).toMatchObject({
      MASTER_ADDR: "$(MLOPS_JOB_NAME)-0.fraud.mlops-training.svc.cluster.local",
      MASTER_PORT: "29500",
      WORLD_SIZE: "4",
      LOCAL_RANK: "0",
      NNODES: "4",
      NPROC_PER_NODE: "2",
      LOCAL_WORLD_SIZE: "2",
      RANK: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } },
      NODE_RANK: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } },
      MLOPS_JOB_NAME: { fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/job-name']" } },
    });
  });

  test("gives every pod and retry of one run the same run id, and each run a new one", () => {
    const env = envOf(m.job!);
    expect(env.MLOPS_RUN_ID).toBe("$(MLOPS_JOB_NAME).$(MLOPS_JOB_UID)");
    expect(env.MLOPS_JOB_UID).toEqual({ fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/controller-uid']" } });
  });

  test("defines every variable before the ones that expand it", () => {
    const names = (podSpecOf(m.job!)!.containers[0].env as any[]).map((e) => e.name);
    expect(names.indexOf("MLOPS_JOB_NAME")).toBeLessThan(names.indexOf("MASTER_ADDR"));
    expect(names.indexOf("MLOPS_JOB_UID")).toBeLessThan(names.indexOf("MLOPS_RUN_ID"));
  });

  test("renders workers and gpusPerWorker into the TrainSpec too", () => {
    expect(parseTrainSpec(JSON.parse(envOf(m.job!)[TRAIN_SPEC_ENV]))).toMatchObject({ workers: 4, gpusPerWorker: 2, masterPort: 29500 });
  });
});

describe("schedule", () => {
  const m = build({ schedule: "0 3 * * *", workers: 2 });

  test("makes a CronJob with concurrencyPolicy Forbid", () => {
    expect(m.job).toBeUndefined();
    expect(m.cronJob!.spec).toMatchObject({ schedule: "0 3 * * *", concurrencyPolicy: "Forbid" });
  });

  test("cleans finished runs after 7 days by default", () => {
    expect(m.cronJob!.spec.jobTemplate.spec.ttlSecondsAfterFinished).toBe(604800);
  });

  test("gives a kubectl command that starts a run from the CronJob", () => {
    expect(m.runOnDemandCommand).toBe("kubectl create job --from=cronjob/fraud fraud-manual-$(date +%s) -n mlops-training");
  });
});

test("a one-off Job's on-demand command creates the manual Job manifest", () => {
  const m = build();
  expect(m.manualJob.metadata).toMatchObject({ generateName: "fraud-manual-", namespace: "mlops-training" });
  expect(m.runOnDemandCommand).toContain(JSON.stringify(m.manualJob));
  expect(m.runOnDemandCommand.startsWith("kubectl create -f - <<'EOF'")).toBe(true);
});

test("annotates the ServiceAccount with the role when one is given", () => {
  const job = normalizeTrainingJob("fraud", base, cluster);
  const m = buildTrainingJobManifests({ ...job, image: "runtime:1", instance: "i", partOf: "p", renderedSpec: "{}", serviceAccountRoleArn: "arn:aws:iam::1:role/r" });
  expect(m.serviceAccount.metadata.annotations).toEqual({ "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r" });
});

describe("every object", () => {
  const all = [build(), build({ workers: 3 }), build({ schedule: "@daily", team: "fraud" })].flatMap((m) =>
    [m.serviceAccount, m.service, m.job, m.cronJob].filter((o) => o !== undefined),
  );

  test("validates against the Kubernetes schema", () => {
    expect(all.flatMap((o) => validateK8sObject(o).errors)).toEqual([]);
  });

  test("runs pods that meet Pod Security restricted, with no exception", () => {
    const pods = all.map(podSpecOf).filter((p) => p !== undefined);
    expect(pods).toHaveLength(3);
    expect(pods.flatMap((p) => podSecurityRestrictedViolations(p!))).toEqual([]);
  });
});

describe("validation", () => {
  test("fails when nodePool names an unknown pool", () => {
    expect(problemsOf({ nodePool: "h100" })).toEqual([expect.stringMatching(/^nodePool: names no node pool of this cluster; received "h100"\. Use one of: a100, l4\./)]);
  });

  test("fails when gpusPerWorker exceeds the pool's GPUs per node", () => {
    expect(problemsOf({ nodePool: "l4", gpusPerWorker: 2, resources: { cpu: "2", memory: "8Gi" } })).toEqual([expect.stringMatching(/^gpusPerWorker: is more than a node of pool "l4" has \(1\)/)]);
  });

  test("fails when team names no team of the cluster", () => {
    expect(problemsOf({ team: "ads" })).toEqual([expect.stringMatching(/^team: names no team.*fraud, risk/)]);
  });

  test("fails when the dataset is a file:// URI a pod cannot reach", () => {
    expect(problemsOf({ dataset: { uri: "file:///data/x.csv", label: "y" } })).toEqual([expect.stringMatching(/^dataset\.uri: is not reachable from a pod/)]);
  });

  test("fails when the schedule is not cron", () => {
    expect(problemsOf({ schedule: "every day" })).toEqual([expect.stringMatching(/^schedule: is not a cron schedule/)]);
  });

  test("fails when the TrainSpec fields are wrong, naming each", () => {
    const problems = problemsOf({ model: "Fraud Model", trainer: { command: [] }, workers: 0 });
    expect(problems.join("\n")).toMatch(/^model: /m);
    expect(problems.join("\n")).toMatch(/^trainer/m);
    expect(problems.join("\n")).toMatch(/^workers: /m);
  });

  test("fails when user env would override a rendered variable", () => {
    expect(problemsOf({ env: { MASTER_ADDR: "x" } })).toEqual([expect.stringMatching(/^env\.MASTER_ADDR: is not an environment variable this job may set/)]);
  });

  test("fails when the job name is too long for pod hostnames", () => {
    expect(problemsOf({}, "x".repeat(41))).toEqual([expect.stringMatching(/^name: /)]);
  });
});

describe("resolvePodEnv", () => {
  test("resolves a worker's env as the kubelet would, ready for the runtime", async () => {
    const rendered = renderTrainingJob("fraud", { ...base, workers: 2 }, cluster, REGISTRY);
    const env = resolvePodEnv(rendered.job!, { jobName: "fraud", jobUid: "u-1", index: 1 });
    expect(env).toMatchObject({
      JOB_COMPLETION_INDEX: "1",
      RANK: "1",
      NODE_RANK: "1",
      MASTER_ADDR: "fraud-0.fraud.mlops-training.svc.cluster.local",
      MLOPS_RUN_ID: "fraud.u-1",
      WORLD_SIZE: "2",
    });
    expect(parseTrainSpec(JSON.parse(env[TRAIN_SPEC_ENV]!)).workers).toBe(2);
  });
});
