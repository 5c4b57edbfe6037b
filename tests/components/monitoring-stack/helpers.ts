import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { k8sObjectsOfKind, setupMocks, waitForResources, type K8sObject, type RecordedResource } from "../../helpers/pulumi-mocks.js";

type StackMod = typeof import("../../../components/monitoring-stack/index.js");
type StackArgs = import("../../../components/monitoring-stack/index.js").MonitoringStackArgs;

/** Credentials every test uses: long and distinctive, so a leak anywhere is found by a plain search. */
export const SLACK_URL = "https://hooks.slack.com/services/T000/B000/Sl4ck-w3bh00k-s3cr3t-0123456789";
export const PAGERDUTY_KEY = "Pd-r0uting-k3y-s3cr3t-0123456789abcdef";
export const SMTP_PASSWORD = "Smtp-p4ssw0rd-s3cr3t-0123456789";
export const GRAFANA_PASSWORD = "Gr4fana-adm1n-s3cr3t-0123456789";

/** The project and stack the mocks run as, and the stack label a MonitoringStack `name` gets. */
export const stackLabelOf = (name: string, stage = "dev") => `mlops-${stage}-${name}`;

/** Where the "fraud" endpoint logs its payloads (its drift job's `--payload-uri`). */
export const FRAUD_PAYLOADS = "s3://acme-payloads/dev";

/** An endpoint as a ModelEndpoint "fraud" with payload logging exposes it (namespace and Service as Outputs). */
export function fraudEndpoint(over: Record<string, unknown> = {}) {
  return { name: "fraud", model: "fraud@champion", namespace: pulumi.output("mlops-dev-fraud"), serviceName: pulumi.output("mlops-dev-fraud"), payloadUri: FRAUD_PAYLOADS, ...over };
}

/** A TrainingJob-shaped target (Outputs, like the component's). */
export function nightlyJob(kind: "Job" | "CronJob" = "CronJob") {
  return { jobName: pulumi.output("nightly"), namespace: pulumi.output("mlops-dev-ml"), kind: pulumi.output(kind) };
}

/** A FeatureStore-shaped target. */
export function featureStore() {
  return {
    serverUrl: pulumi.output("http://mlops-dev-features-server.mlops-dev-features.svc:6566"),
    namespace: pulumi.output("mlops-dev-features"),
    spec: pulumi.output({ views: [{ name: "txn_stats", ttl: "3d" }, { name: "no_ttl" }] }),
  };
}

/** The args most tests start from: one endpoint, a kubeconfig cluster, a ready runtime image. */
export function baseArgs(over: Partial<StackArgs> = {}): StackArgs {
  return { kubernetes: { kubeconfig: "apiVersion: v1" }, endpoints: [fraudEndpoint()], image: "registry.example.com/mlops-runtime:1", ...over };
}

/** Everything turned on: endpoints with auth, a feature store, training jobs, drift with onDrift, receivers. */
export function fullArgs(over: Partial<StackArgs> = {}): StackArgs {
  return baseArgs({
    endpoints: [
      fraudEndpoint({ authSecret: { name: pulumi.output("mlops-dev-fraud-auth") } }),
      { name: "churn", model: "churn@champion", namespace: "mlops-dev-churn", serviceName: "mlops-dev-churn", metricsPortName: "metrics", payloadUri: "s3://acme-payloads/churn", slo: { availability: 0.99, latency: false } },
    ],
    featureStores: [featureStore()],
    trainingJobs: [nightlyJob()],
    drift: { registry: "s3://acme-models/registry", onDrift: nightlyJob() },
    receivers: {
      slack: { webhookUrl: pulumi.secret(SLACK_URL), channel: "#ml-alerts" },
      pagerduty: { routingKey: pulumi.secret(PAGERDUTY_KEY) },
      email: { to: "ml@example.com", from: "alerts@example.com", smarthost: "smtp.example.com:587", username: "alerts", password: pulumi.secret(SMTP_PASSWORD) },
    },
    grafana: { adminPassword: pulumi.secret(GRAFANA_PASSWORD) },
    ...over,
  });
}

export async function setupStackMocks(stack = "dev"): Promise<void> {
  await setupMocks({ project: "mlops", stack });
}

/** Creates a stack and waits for every child to reach the mocks. */
export async function makeStack(mod: StackMod, name: string, args: StackArgs) {
  const stack = new mod.MonitoringStack(name, args);
  await waitForResources();
  return stack;
}

/** The groups of the (one) PrometheusRule the stack emitted, as a rule file. */
export function ruleFile(): { groups: any[] } {
  const rules = k8sObjectsOfKind("PrometheusRule");
  if (rules.length !== 1) throw new Error(`expected one PrometheusRule, got ${rules.length}`);
  return { groups: rules[0]!.spec.groups };
}

/** True when the value at `path` arrived as a secret, itself or inside a secret parent. */
export function isSecretAt(r: RecordedResource, path: string): boolean {
  return r.secretPaths.some((p) => path === p || path.startsWith(`${p}/`) || p === "/");
}

/** promtool (Debian's prometheus package), or undefined when it is not installed. */
export function promtool(): string | undefined {
  const r = spawnSync("promtool", ["--version"], { encoding: "utf8" });
  return r.status === 0 ? "promtool" : undefined;
}

/** Writes files into a fresh folder and returns its path. */
export function writeFiles(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), "mlops-rules-"));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), typeof content === "string" ? content : YAML.stringify(content, { lineWidth: 0 }));
  return dir;
}

/** Runs promtool with `args` in `dir`; returns its exit status and output. */
export function runPromtool(dir: string, args: string[]): { status: number; output: string } {
  try {
    const output = execFileSync("promtool", args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return { status: 0, output };
  } catch (e) {
    const err = e as { status?: number; stdout?: string; stderr?: string };
    return { status: err.status ?? 1, output: `${err.stdout ?? ""}${err.stderr ?? ""}` };
  }
}

/** The one object of `kind` named `name`. */
export function objectNamed(kind: string, name: string): K8sObject {
  const found = k8sObjectsOfKind(kind).find((o) => o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} named ${name}; have ${k8sObjectsOfKind(kind).map((o) => o.metadata.name).join(", ")}`);
  return found;
}
