/**
 * TrainingJob's `pushgatewayUrl` under the mocks: a MonitoringStack's `pushgatewayUrl` output (or a plain
 * URL) lands in every pod as the variable `mlops train` reads (runtime/train/push.ts's PUSHGATEWAY_ENV),
 * on the Job, the CronJob and its manual-run template alike; nothing without it; bad input refused.
 */
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { PUSHGATEWAY_ENV } from "../../../runtime/train/push.js";
import { MlopsError } from "../../../src/errors.js";
import { podSpecOf } from "../../helpers/k8s.js";
import { k8sObjectsOfKind, outputOf, reset, setupMocks, waitForResources } from "../../helpers/pulumi-mocks.js";

let clusterMod: typeof import("../../../components/training-cluster/index.js");
let stackMod: typeof import("../../../components/monitoring-stack/index.js");
let jobMod: typeof import("../../../components/training-job/index.js");
let n = 0;

beforeAll(async () => {
  await setupMocks({ project: "mlops", stack: "dev" });
  clusterMod = await import("../../../components/training-cluster/index.js");
  stackMod = await import("../../../components/monitoring-stack/index.js");
  jobMod = await import("../../../components/training-job/index.js");
});
beforeEach(() => reset());

const jobArgs = {
  registry: "s3://models/registry",
  model: "fraud",
  dataset: { uri: "s3://data/fraud/train.parquet", label: "is_fraud" },
  trainer: { builtin: "logistic-regression" as const },
  image: "registry.example.com/mlops-runtime:1",
};
const cluster = () => new clusterMod.TrainingCluster(`c${++n}`, { kubeconfig: "apiVersion: v1", nodePools: [] });
type Env = { name: string; value?: unknown }[];
const envOf = (obj: Record<string, any>): Env => podSpecOf(obj)!.containers[0].env as Env;
const pushEnv = (obj: Record<string, any>) => envOf(obj).filter((e) => e.name === PUSHGATEWAY_ENV);

describe("TrainingJob pushgatewayUrl", () => {
  test("names the runtime's variable", () => {
    expect(jobMod.TRAINING_PUSHGATEWAY_ENV).toBe(PUSHGATEWAY_ENV);
  });

  test("sets MLOPS_PUSHGATEWAY to a MonitoringStack's pushgatewayUrl output", async () => {
    const monitoring = new stackMod.MonitoringStack(`mon${++n}`, { kubernetes: { kubeconfig: "apiVersion: v1" }, image: "registry.example.com/mlops-runtime:1" });
    cluster().addTrainingJob("fraud", { ...jobArgs, pushgatewayUrl: monitoring.pushgatewayUrl });
    await waitForResources();
    const url = await outputOf(monitoring.pushgatewayUrl);
    expect(url).toMatch(/^http:\/\/.+-pushgateway\..+\.svc:9091$/);
    expect(pushEnv(k8sObjectsOfKind("Job")[0]!)).toEqual([{ name: PUSHGATEWAY_ENV, value: url }]);
  });

  test("sets it on a scheduled job's CronJob too", async () => {
    cluster().addTrainingJob("nightly", { ...jobArgs, schedule: "0 3 * * *", pushgatewayUrl: "http://pushgateway.monitoring.svc:9091" });
    await waitForResources();
    const cron = k8sObjectsOfKind("CronJob")[0]!;
    expect(pushEnv(cron)).toEqual([{ name: PUSHGATEWAY_ENV, value: "http://pushgateway.monitoring.svc:9091" }]);
  });

  test("sets nothing without it", async () => {
    cluster().addTrainingJob("fraud", jobArgs);
    await waitForResources();
    expect(pushEnv(k8sObjectsOfKind("Job")[0]!)).toEqual([]);
  });

  test("refuses a string that is not an http(s) URL, naming the field and the fix", () => {
    expect(() => cluster().addTrainingJob("fraud", { ...jobArgs, pushgatewayUrl: "pushgateway:9091" })).toThrow(MlopsError);
    expect(() => cluster().addTrainingJob("fraud", { ...jobArgs, pushgatewayUrl: "pushgateway:9091" })).toThrow(/pushgatewayUrl.*http\(s\) base URL/s);
  });

  test("refuses env.MLOPS_PUSHGATEWAY given as well", () => {
    expect(() => cluster().addTrainingJob("fraud", { ...jobArgs, pushgatewayUrl: pulumi.output("http://a:9091"), env: { MLOPS_PUSHGATEWAY: "http://b:9091" } })).toThrow(
      /env\.MLOPS_PUSHGATEWAY.*pushgatewayUrl/s,
    );
  });
});
