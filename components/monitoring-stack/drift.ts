/**
 * Drift jobs: one CronJob per monitored endpoint running `mlops drift --model <name>@<alias> --since
 * <window>` against the model's reference, pushing its results to the stack's Pushgateway; and, with
 * `onDrift`, the least RBAC that lets those jobs start a retrain the way `kubectl create job
 * --from=cronjob/<training>` does: `get` on that one CronJob (to copy its job template) and `create` on
 * Jobs in its namespace. Built on the shared runtime workload (restricted pod, own ServiceAccount).
 */
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { dnsLabel, recommendedLabels } from "../../src/naming.js";
import { USER_ENV } from "../../src/spec/env.js";
import { s3AccessEnv } from "../shared/s3-access.js";
import { runtimePodTemplate, runtimeServiceAccount } from "../shared/workload.js";

type Obj = Record<string, any>;

/** Exit codes of `mlops drift`: 3 when the dataset drifted, 2 for bad input; neither is worth a retry. */
export const DRIFT_EXIT = { drifted: 3, badInput: 2 } as const;

/**
 * The flag that hands `mlops drift` the training CronJob to start a Job from when the dataset drifted:
 * `--retrain-cronjob <namespace>/<name>` (the job creates `<name>-drift-<time>` from the CronJob's
 * `jobTemplate`, owned by the CronJob, as kubectl does).
 */
export const RETRAIN_FLAG = "--retrain-cronjob";

/**
 * Why a training job cannot be `onDrift`'s target, or undefined: a retrain copies a CronJob's job template,
 * so a one-off Job (a TrainingJob without a schedule) has none to copy.
 */
export function retrainTargetProblem(jobName: string, kind: string): string | undefined {
  if (kind === "CronJob") return undefined;
  return `drift.onDrift: training job ${JSON.stringify(jobName)} is a ${kind}, not a CronJob: a retrain copies a CronJob's job template (kubectl create job --from=cronjob/…). Give the training job a schedule, or leave onDrift out.`;
}

/** Where the report is written in the pod (its scratch volume). */
export const DRIFT_OUT_DIR = "/tmp/drift";

export interface DriftJobSettings {
  readonly schedule: string;
  readonly timeZone?: string;
  /** How much of the payload log to compare (`--since`). */
  readonly since: string;
  readonly resources: { readonly cpu: string; readonly memory: string; readonly scratchSize: string };
  readonly activeDeadlineSeconds: number;
  readonly backoffLimit: number;
  readonly s3: { readonly endpoint?: string; readonly region?: string; readonly staticCredentials: boolean };
}

export interface DriftContext {
  /** The stack's logical name and project, for labels. */
  readonly stackName: string;
  readonly partOf: string;
  /** Prefix of object names. */
  readonly base: string;
  readonly namespace: pulumi.Input<string>;
  readonly image: pulumi.Input<string>;
  readonly registryUri: pulumi.Input<string>;
  readonly pushgatewayUrl: pulumi.Input<string>;
  readonly settings: DriftJobSettings;
  /** The training CronJob to start when drifted. */
  readonly onDrift?: { readonly namespace: pulumi.Input<string>; readonly cronJob: pulumi.Input<string> };
  readonly s3SecretName: string;
  readonly serviceAccountRoleArn?: pulumi.Input<string>;
  readonly placement?: { readonly nodeSelector?: Record<string, string>; readonly tolerations?: readonly k8s.types.input.core.v1.Toleration[] };
}

/** The drift jobs' ServiceAccount (one for all of the stack's drift jobs). */
export function driftServiceAccountName(ctx: Pick<DriftContext, "base">): string {
  return dnsLabel(`${ctx.base}-drift`);
}

/** A CronJob name: at most 52 characters (the controller appends an 11-character suffix to its Jobs). */
export function driftCronJobName(ctx: Pick<DriftContext, "base">, endpoint: string): string {
  return dnsLabel(`${ctx.base}-drift-${endpoint}`, 52);
}

function driftLabels(ctx: DriftContext, instance: string): Record<string, string> {
  return recommendedLabels({ name: ctx.stackName, instance, component: "drift", partOf: ctx.partOf });
}

export function driftServiceAccountManifest(ctx: DriftContext): Obj {
  const name = driftServiceAccountName(ctx);
  return runtimeServiceAccount({
    name,
    namespace: ctx.namespace,
    labels: driftLabels(ctx, name),
    ...(ctx.serviceAccountRoleArn !== undefined ? { roleArn: ctx.serviceAccountRoleArn } : {}),
  });
}

/**
 * The container's arguments: `drift --model … [--payload-uri … --endpoint …] --since … --out … --pushgateway …`
 * [`--retrain-cronjob ns/name`]; the payload logs are the endpoint's, under `<uri>/<model>/<endpoint>/`.
 */
export function driftArgs(ctx: DriftContext, model: string, payloads?: { readonly uri: pulumi.Input<string>; readonly endpoint: string }): pulumi.Input<string>[] {
  return [
    "drift",
    "--model",
    model,
    ...(payloads ? ["--payload-uri", payloads.uri, "--endpoint", payloads.endpoint] : []),
    "--since",
    ctx.settings.since,
    "--out",
    DRIFT_OUT_DIR,
    "--pushgateway",
    ctx.pushgatewayUrl,
    ...(ctx.onDrift ? [RETRAIN_FLAG, pulumi.interpolate`${ctx.onDrift.namespace}/${ctx.onDrift.cronJob}`] : []),
  ];
}

/** One endpoint's drift CronJob. Runs never overlap; a drift found (exit 3) or bad input (exit 2) is not retried. */
export function driftCronJobManifest(ctx: DriftContext, endpoint: string, model: string, payloadUri?: pulumi.Input<string>): Obj {
  const s = ctx.settings;
  const name = driftCronJobName(ctx, endpoint);
  const labels = driftLabels(ctx, name);
  const template = runtimePodTemplate({
    containerName: "drift",
    image: ctx.image,
    command: [],
    // The drift job has no spec of its own: its one contract variable is the registry that resolves `--model`.
    spec: { env: USER_ENV.registry, json: ctx.registryUri },
    env: [{ name: "HOME", value: "/tmp" }, { name: "TMPDIR", value: "/tmp" }, ...s3AccessEnv(s.s3, ctx.s3SecretName)],
    serviceAccountName: driftServiceAccountName(ctx),
    resources: { requests: { cpu: s.resources.cpu, memory: s.resources.memory }, limits: { memory: s.resources.memory } },
    volumes: [{ name: "scratch", mountPath: "/tmp", sizeLimit: s.resources.scratchSize }],
    labels,
    terminationGracePeriodSeconds: 30,
    podSpec: { restartPolicy: "Never" },
    ...(ctx.placement?.nodeSelector ? { nodeSelector: ctx.placement.nodeSelector } : {}),
    ...(ctx.placement?.tolerations ? { tolerations: ctx.placement.tolerations } : {}),
  });
  const container = template.spec.containers[0]! as Obj;
  container.args = driftArgs(ctx, model, payloadUri !== undefined ? { uri: payloadUri, endpoint } : undefined);
  // Starting a retrain calls the Kubernetes API: only then does the pod get its ServiceAccount's token.
  const spec = ctx.onDrift ? { ...template.spec, automountServiceAccountToken: true } : template.spec;
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name, namespace: ctx.namespace, labels },
    spec: {
      schedule: s.schedule,
      ...(s.timeZone !== undefined ? { timeZone: s.timeZone } : {}),
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: 600,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        metadata: { labels },
        spec: {
          backoffLimit: s.backoffLimit,
          activeDeadlineSeconds: s.activeDeadlineSeconds,
          ttlSecondsAfterFinished: 24 * 3600,
          podFailurePolicy: {
            rules: [{ action: "FailJob", onExitCodes: { containerName: "drift", operator: "In", values: [DRIFT_EXIT.badInput, DRIFT_EXIT.drifted] } }],
          },
          template: { ...template, spec },
        },
      },
    },
  };
}

/**
 * What a retrain needs, and no more: read the one training CronJob (resourceNames), create Jobs. `create`
 * cannot be narrowed by name (the name is not known when it is authorized), so it is all Jobs of that
 * namespace, the least the API allows.
 */
export function retrainRoleManifest(ctx: DriftContext, name: string): Obj {
  const t = ctx.onDrift!;
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name, namespace: t.namespace, labels: driftLabels(ctx, name) },
    rules: [
      { apiGroups: ["batch"], resources: ["cronjobs"], resourceNames: [t.cronJob], verbs: ["get"] },
      { apiGroups: ["batch"], resources: ["jobs"], verbs: ["create"] },
    ],
  };
}

export function retrainRoleBindingManifest(ctx: DriftContext, name: string): Obj {
  const t = ctx.onDrift!;
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name, namespace: t.namespace, labels: driftLabels(ctx, name) },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
    subjects: [{ kind: "ServiceAccount", name: driftServiceAccountName(ctx), namespace: ctx.namespace }],
  };
}
