/**
 * Drift jobs: one CronJob per monitored endpoint running `mlops drift --model <name>@<alias> --payload-uri
 * <endpoint's logging.uri> --endpoint <name> --since <window>` against the model's reference, pushing its
 * results to the stack's Pushgateway and recording them in the registry (`models/<name>/drift/`,
 * `models/<name>/drift-reports/`); the IAM role that allows exactly that ({@link driftRoleArgs}); and, with
 * `onDrift`, the least RBAC that lets those jobs start a retrain the way `kubectl create job
 * --from=cronjob/<training>` does: `get` on that one CronJob (to copy its job template) and `create` on
 * Jobs in its namespace. Built on the shared runtime workload (restricted pod, own ServiceAccount).
 */
import type * as aws from "@pulumi/aws";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { problem } from "../../src/errors.js";
import { dnsLabel, recommendedLabels } from "../../src/naming.js";
import { parseModelRef } from "../../src/spec/model-ref.js";
import { USER_ENV } from "../../src/spec/env.js";
import { isServiceAccountRoleHost, type ServiceAccountRoleArgs } from "../shared/irsa.js";
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
  /** `--retrain-cooldown`, when given. */
  readonly retrainCooldown?: string;
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
    ...(ctx.onDrift && ctx.settings.retrainCooldown !== undefined ? ["--retrain-cooldown", ctx.settings.retrainCooldown] : []),
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
 * What a retrain needs, and no more: read the one training CronJob (resourceNames), list Jobs (to start
 * none while one of that CronJob runs or within the cooldown) and create them. Neither `list` nor `create`
 * can be narrowed by name (the name is not known when it is authorized), so it is all Jobs of that
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
      { apiGroups: ["batch"], resources: ["jobs"], verbs: ["create", "list"] },
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

/**
 * Why a watched endpoint cannot have a drift job, one problem each: an endpoint that names its `model`
 * (and has not `drift: false`) but no `payloadUri` gives the job no traffic to compare (`mlops drift
 * --model` needs `--payload-uri`). The rule: refused at construction, naming the endpoint and the fixes,
 * rather than a CronJob that fails every hour.
 */
export function driftPayloadProblems(endpoints: readonly Record<string, unknown>[], at: (field: string) => string): string[] {
  const out: string[] = [];
  endpoints.forEach((e, i) => {
    if (e.drift === false || typeof e.model !== "string" || e.payloadUri !== undefined) return;
    out.push(
      problem(
        at(`endpoints[${i}].payloadUri`),
        `is missing: endpoint ${JSON.stringify(e.name)} is watched for drift but logs no payloads, so its drift job would have no traffic to compare`,
        undefined,
        "Turn on its payload logging (ModelEndpoint logging: { sampleRate, uri }; its monitoringTarget then carries the URI), give payloadUri, or set drift: false on it.",
      ),
    );
  });
  return out;
}

/** The registry folders (relative to its root) a drift job writes for `model`: its results and its reports. */
export function driftWritePrefixes(model: string): string[] {
  return [`models/${model}/drift`, `models/${model}/drift-reports`];
}

export interface DriftRoleRequest {
  /** The drift ServiceAccount's namespace, by name. */
  readonly namespace: string;
  readonly base: string;
  readonly registryUri: pulumi.Input<string>;
  /** The registry's KMS key (a ModelRegistry's `kmsKeyArn`), if it has one. */
  readonly registryKmsKeyArn?: pulumi.Input<string | undefined>;
  /** The watched endpoints: their model reference and payload log URI. */
  readonly watched: readonly { readonly ref: string; readonly payloadUri?: pulumi.Input<string> }[];
}

/**
 * What a drift job's IAM role needs, and no more: read the registry (versions, aliases, reference
 * profiles) and each watched endpoint's payload logs; put (never delete) its results and reports,
 * `models/<name>/drift/` (`<stamp>.json`, `latest.json`) and `models/<name>/drift-reports/<stamp>/`, of
 * each watched model only; encrypt with the registry's KMS key (through S3).
 */
export function driftRoleArgs(req: DriftRoleRequest): ServiceAccountRoleArgs {
  const models = [...new Set(req.watched.map((e) => parseModelRef(e.ref).name))].sort();
  const root = pulumi.output(req.registryUri).apply((u) => u.replace(/\/+$/, ""));
  return {
    namespace: req.namespace,
    serviceAccount: driftServiceAccountName(req),
    read: [req.registryUri, ...req.watched.flatMap((e) => (e.payloadUri !== undefined ? [e.payloadUri] : []))],
    put: models.flatMap((m) => driftWritePrefixes(m).map((p) => root.apply((r) => `${r}/${p}`))),
    kmsKeyArns: req.registryKmsKeyArn !== undefined ? [req.registryKmsKeyArn] : [],
  };
}

/**
 * The drift jobs' IAM role, made when the stack can: its `kubernetes` issues ServiceAccount roles (a
 * TrainingCluster on EKS), no `drift.serviceAccountRoleArn` and no static S3 credentials were given, and
 * its namespace is known by name. Undefined otherwise (with a warning for a Namespace resource).
 */
export function driftIamRole(
  parent: pulumi.Resource,
  o: { readonly name: string; readonly kubernetes: unknown; readonly staticCredentials: boolean; readonly namespace: string | undefined } & Omit<DriftRoleRequest, "namespace">,
): aws.iam.Role | undefined {
  if (o.staticCredentials || !isServiceAccountRoleHost(o.kubernetes)) return undefined;
  if (o.namespace === undefined) {
    pulumi.log.warn(
      `MonitoringStack "${o.name}": the namespace is a Namespace resource, whose name is only known at deploy time, so no IAM role was made for the drift jobs and they may not reach the registry. ` +
        "Give the namespace by name, or pass drift.serviceAccountRoleArn.",
      parent,
    );
    return undefined;
  }
  // A location off S3 (a local ModelRegistry) is refused at deploy time by the cluster, naming it (createServiceAccountRole).
  return o.kubernetes.addServiceAccountRole(`${o.name}-drift`, driftRoleArgs({ ...o, namespace: o.namespace }), { parent });
}
