// Drift jobs: one CronJob per watched endpoint running `mlops drift --model … --payload-uri … --since …`, and onDrift's RBAC:
// exactly `get` on the training CronJob and `list` and `create` on Jobs in its namespace, nothing cluster-wide.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { retrainTargetProblem } from "../../../components/monitoring-stack/drift.js";
import { podSecurityRestrictedViolations, podSpecOf } from "../../helpers/k8s.js";
import { k8sObjectsOfKind, reset, waitForResources } from "../../helpers/pulumi-mocks.js";
import { baseArgs, FRAUD_PAYLOADS, fraudEndpoint, makeStack, nightlyJob, objectNamed, setupStackMocks } from "./helpers.js";

type Mod = typeof import("../../../components/monitoring-stack/index.js");
type ClusterMod = typeof import("../../../components/training-cluster/index.js");
let mod: Mod;
let clusters: ClusterMod;
let n = 0;

beforeAll(async () => {
  await setupStackMocks("dev");
  mod = await import("../../../components/monitoring-stack/index.js");
  clusters = await import("../../../components/training-cluster/index.js");
});
beforeEach(() => reset());

const REGISTRY = "s3://acme-models/registry";
async function make(drift: Record<string, unknown> = {}, over: Record<string, unknown> = {}) {
  const name = `dr${++n}`;
  await makeStack(mod, name, baseArgs({ drift: { registry: REGISTRY, ...drift }, ...over }));
  return { name, base: `mlops-dev-${name}` };
}
const container = (base: string, endpoint = "fraud") => podSpecOf(objectNamed("CronJob", `${base}-drift-${endpoint}`))!.containers[0];

describe("drift jobs", () => {
  test("run `mlops drift --model <name>@<alias> --since 1h` hourly, pushing to the stack's Pushgateway", async () => {
    const { base } = await make();
    const cron = objectNamed("CronJob", `${base}-drift-fraud`);
    expect(cron.metadata.namespace).toBe(base);
    expect(cron.spec).toMatchObject({ schedule: "0 * * * *", concurrencyPolicy: "Forbid" });
    expect(container(base).args).toEqual(["drift", "--model", "fraud@champion", "--payload-uri", FRAUD_PAYLOADS, "--endpoint", "fraud", "--since", "1h", "--out", "/tmp/drift", "--pushgateway", `http://${base}-pushgateway.${base}.svc:9091`]);
    expect(container(base).env).toContainEqual({ name: "MLOPS_REGISTRY", value: REGISTRY });
  });

  test("one per endpoint that names its model, none for an endpoint without a model or opted out", async () => {
    const { base } = await make({}, {
      endpoints: [fraudEndpoint(), { name: "nomodel", namespace: "a", serviceName: "a" }, { name: "optout", model: "o@champion", namespace: "b", serviceName: "b", drift: false }],
    });
    expect(k8sObjectsOfKind("CronJob").map((c) => c.metadata.name)).toEqual([`${base}-drift-fraud`]);
  });

  test("the pod meets Pod Security restricted, with a writable /tmp on a read-only root", async () => {
    const { base } = await make({ onDrift: nightlyJob() });
    const pod = podSpecOf(objectNamed("CronJob", `${base}-drift-fraud`))!;
    expect(podSecurityRestrictedViolations(pod)).toEqual([]);
    expect(pod.containers[0].securityContext.readOnlyRootFilesystem).toBe(true);
    expect(pod.containers[0].volumeMounts).toEqual([{ name: "scratch", mountPath: "/tmp" }]);
  });

  test("a drift found (exit 3) or bad input (exit 2) fails the Job at once instead of retrying it", async () => {
    const { base } = await make();
    expect(objectNamed("CronJob", `${base}-drift-fraud`).spec.jobTemplate.spec.podFailurePolicy).toEqual({
      rules: [{ action: "FailJob", onExitCodes: { containerName: "drift", operator: "In", values: [2, 3] } }],
    });
  });

  test("without onDrift the pod gets no Kubernetes API token and no RBAC exists", async () => {
    const { base } = await make();
    expect(podSpecOf(objectNamed("CronJob", `${base}-drift-fraud`))!.automountServiceAccountToken).toBe(false);
    expect([...k8sObjectsOfKind("Role"), ...k8sObjectsOfKind("RoleBinding")]).toEqual([]);
  });

  test("with onDrift it names the training CronJob and gets its ServiceAccount's token", async () => {
    const { base } = await make({ onDrift: nightlyJob() });
    expect(container(base).args.slice(-2)).toEqual(["--retrain-cronjob", "mlops-dev-ml/nightly"]);
    expect(podSpecOf(objectNamed("CronJob", `${base}-drift-fraud`))!.automountServiceAccountToken).toBe(true);
  });

  test("retrainCooldown reaches the drift job as --retrain-cooldown; without onDrift it is refused", async () => {
    const { base } = await make({ onDrift: nightlyJob(), retrainCooldown: "6h" });
    expect(container(base).args.slice(-4)).toEqual(["--retrain-cronjob", "mlops-dev-ml/nightly", "--retrain-cooldown", "6h"]);
    const off = await make({ onDrift: nightlyJob(), retrainCooldown: "0" });
    expect(container(off.base).args.slice(-2)).toEqual(["--retrain-cooldown", "0"]);
    await expect(make({ retrainCooldown: "6h" })).rejects.toThrow(/drift\.retrainCooldown.*would go unused: without drift\.onDrift.*Give drift\.onDrift/s);
    await expect(make({ onDrift: nightlyJob(), retrainCooldown: "6 hours" })).rejects.toThrow(/drift\.retrainCooldown.*must be a duration such as "30m", "6h" or "1d", or "0" for none/s);
  });

  test("onDrift's Role: get on that one CronJob, list and create on Jobs, in the training namespace; nothing else", async () => {
    const { base } = await make({ onDrift: nightlyJob() });
    const roles = k8sObjectsOfKind("Role");
    expect(roles).toHaveLength(1);
    expect(roles[0]!.metadata).toMatchObject({ name: `${base}-drift-retrain`, namespace: "mlops-dev-ml" });
    expect(roles[0]!.rules).toEqual([
      { apiGroups: ["batch"], resources: ["cronjobs"], resourceNames: ["nightly"], verbs: ["get"] },
      { apiGroups: ["batch"], resources: ["jobs"], verbs: ["create", "list"] },
    ]);
    expect([...k8sObjectsOfKind("ClusterRole"), ...k8sObjectsOfKind("ClusterRoleBinding")]).toEqual([]);
  });

  test("onDrift's RoleBinding gives that Role to the drift jobs' ServiceAccount only", async () => {
    const { base } = await make({ onDrift: nightlyJob() });
    const binding = k8sObjectsOfKind("RoleBinding");
    expect(binding).toHaveLength(1);
    expect(binding[0]).toMatchObject({
      metadata: { namespace: "mlops-dev-ml" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: `${base}-drift-retrain` },
      subjects: [{ kind: "ServiceAccount", name: `${base}-drift`, namespace: base }],
    });
    expect(objectNamed("CronJob", `${base}-drift-fraud`).spec.jobTemplate.spec.template.spec.serviceAccountName).toBe(`${base}-drift`);
  });

  test("the RBAC matches a real TrainingJob's CronJob: its name and namespace", async () => {
    const cluster = new clusters.TrainingCluster(`c${++n}`, { kubeconfig: "x", nodePools: [{ name: "a10", gpusPerNode: 4, labels: { gpu: "a10" } }] });
    const job = cluster.addTrainingJob("nightly", {
      registry: { uri: pulumi.output(REGISTRY) },
      model: "fraud",
      dataset: { uri: "s3://data/fraud/train.parquet", label: "is_fraud" },
      trainer: { builtin: "logistic-regression" },
      schedule: "0 3 * * *",
    });
    await waitForResources();
    const name = `dr${++n}`;
    await makeStack(mod, name, baseArgs({ drift: { registry: REGISTRY, onDrift: job } }));
    const trainingCron = k8sObjectsOfKind("CronJob").find((c) => !c.metadata.name.includes("-drift-"))!;
    const role = k8sObjectsOfKind("Role")[0]!;
    expect(role.metadata.namespace).toBe(trainingCron.metadata.namespace);
    expect(role.rules[0].resourceNames).toEqual([trainingCron.metadata.name]);
    expect(container(`mlops-dev-${name}`).args.slice(-1)).toEqual([`${trainingCron.metadata.namespace}/${trainingCron.metadata.name}`]);
  });

  test("a training job without a schedule cannot be onDrift's target: the error says to give it one", () => {
    expect(retrainTargetProblem("nightly", "Job")).toMatch(/is a Job, not a CronJob.*Give the training job a schedule/);
    expect(retrainTargetProblem("nightly", "CronJob")).toBeUndefined();
  });

  test("takes the schedule, window and S3 settings given; the credentials by Secret reference", async () => {
    const { base } = await make({
      schedule: "*/30 * * * *",
      since: "6h",
      s3: { endpoint: "http://minio.minio:9000", credentials: { accessKeyId: pulumi.secret("AKIA-drift-key"), secretAccessKey: pulumi.secret("drift-secret-key-0123") } },
    });
    expect(objectNamed("CronJob", `${base}-drift-fraud`).spec.schedule).toBe("*/30 * * * *");
    expect(container(base).args).toContain("6h");
    expect(container(base).env).toEqual(expect.arrayContaining([
      { name: "MLOPS_S3_ENDPOINT", value: "http://minio.minio:9000" },
      { name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: `${base}-drift-s3`, key: "AWS_SECRET_ACCESS_KEY" } } },
    ]));
    expect(JSON.stringify(objectNamed("CronJob", `${base}-drift-fraud`))).not.toContain("drift-secret-key-0123");
  });

  test("a drift dashboard and a drift alert for each watched model", async () => {
    await make();
    expect(k8sObjectsOfKind("ConfigMap").map((c) => c.metadata.name)).toContainEqual(expect.stringMatching(/-dashboard-drift$/));
    const alerts = k8sObjectsOfKind("PrometheusRule")[0]!.spec.groups.flatMap((g: any) => g.rules).filter((r: any) => r.alert === "MlopsDatasetDrift");
    expect(alerts.map((a: any) => a.labels.model)).toEqual(["fraud"]);
  });
});
