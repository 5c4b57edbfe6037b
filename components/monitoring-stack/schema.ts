/** The zod schema of MonitoringStackArgs: shapes and per-field rules (cross-field rules are in normalize.ts). */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { DURATION_PATTERN } from "../../src/spec/features.js";
import { modelRefSchema } from "../../src/spec/model-ref.js";
import { KubernetesTargetSchema } from "../shared/kubernetes.js";
import { S3AccessSchema } from "../shared/s3-access.js";
import { cronSchedule, dnsLabelSchema, imageRepositorySchema, inputString, isInput, placementSchema, quantity } from "../shared/validate.js";
import { PROM_DURATION } from "./promql.js";
import { latencyThresholdProblem, objectiveProblem } from "./slo.js";

const input = inputString();
const labelMap = z.record(z.string().regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, "must be a label key"), z.string().regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/, "must be a label value (63 characters of letters, digits, '-', '_', '.')"));
/** Cron: five fields or a macro (the same rule as TrainingJob's and FeatureStore's). */
const cron = cronSchedule();
const promDuration = z.string().regex(PROM_DURATION, 'must be a Prometheus duration such as "30m", "1h" or "3d"').refine((s) => s.length > 0, "must not be empty");
const objective = z.number().superRefine((x, ctx) => {
  const p = objectiveProblem(x);
  if (p) ctx.addIssue({ code: "custom", message: p });
});
/** An IANA service name (a Service port's name). */
const portName = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/, "must be a Service port name (at most 15 lowercase letters, digits and '-')");
const cpu = quantity("CPU", 0.001, 512, '"500m"');
const memory = quantity("memory", 2 ** 20, 4 * 2 ** 40, '"2Gi"');
const storage = quantity("storage", 2 ** 20, 2 ** 50, '"20Gi"');
const imageRef = z.string().regex(/^[a-z0-9.-]+(:[0-9]+)?(\/[a-z0-9._-]+)+(:[A-Za-z0-9._-]+)?(@sha256:[a-f0-9]{64})?$/, "must be an image reference like quay.io/prometheus/pushgateway:v1.11.3");
const output = (what: string) => z.custom<pulumi.Input<unknown>>((v) => v !== undefined && v !== null, `must be ${what}`);

export const SloSchema = z
  .object({
    availability: objective.optional(),
    latency: z
      .union([
        z.literal(false),
        z
          .object({
            thresholdSeconds: z
              .number()
              .superRefine((x, ctx) => {
                const p = latencyThresholdProblem(x);
                if (p) ctx.addIssue({ code: "custom", message: p });
              })
              .optional(),
            objective: objective.optional(),
          })
          .strict(),
      ])
      .optional(),
  })
  .strict();

export const MonitoredEndpointSchema = z
  .object({
    name: dnsLabelSchema,
    namespace: input,
    serviceName: input,
    metricsPortName: portName.optional(),
    authSecret: z.object({ name: input, key: z.string().regex(/^[-._a-zA-Z0-9]+$/, "must be a Secret key").optional() }).strict().optional(),
    model: modelRefSchema('is not a model reference: write "<name>@<alias>" (e.g. "fraud@champion") or "<name>:<version>"').optional(),
    autoscalerName: z.union([z.literal(false), input]).optional(),
    payloadUri: input.optional(),
    slo: SloSchema.optional(),
    drift: z.boolean().optional(),
  })
  .strict();

/** A MonitoredEndpoint, or an object exposing one as `monitoringTarget`: its problems reported at their own paths. */
const endpointInput = z.unknown().superRefine((v, ctx) => {
  const wrapped = v !== null && typeof v === "object" && "monitoringTarget" in v;
  const parsed = MonitoredEndpointSchema.safeParse(wrapped ? (v as { monitoringTarget: unknown }).monitoringTarget : v);
  for (const issue of parsed.success ? [] : parsed.error.issues) {
    ctx.addIssue({ code: "custom", message: issue.message, path: [...(wrapped ? ["monitoringTarget"] : []), ...issue.path] });
  }
});

/** A FeatureStore or any object with its `serverUrl` and `namespace` (extra properties allowed: it may be the component). */
const featureServer = z.looseObject({ serverUrl: input, namespace: input, spec: output("the store's spec").optional(), portName: portName.optional() });
/** A TrainingJob or any object with its `jobName`, `namespace` and `kind`. */
const trainingJob = z.looseObject({ jobName: input, namespace: input, kind: z.custom<pulumi.Input<string>>((v) => v === "Job" || v === "CronJob" || isInput(v), 'must be "Job", "CronJob" or an Output of one') });

const registry = z.union([
  z.string().regex(/^s3:\/\/.+/, "must be a ModelRegistry or an s3:// URI: the drift pods read the registry from S3"),
  z.custom<{ uri: pulumi.Output<string> }>((v) => v !== null && typeof v === "object" && pulumi.Output.isInstance((v as { uri?: unknown }).uri), "must be a ModelRegistry or an s3:// URI"),
]);

export const MonitoringStackArgsSchema = z
  .object({
    kubernetes: KubernetesTargetSchema,
    namespace: z.union([dnsLabelSchema, z.custom<k8s.core.v1.Namespace>((v) => k8s.core.v1.Namespace.isInstance(v), "must be a namespace name or a Namespace")]).optional(),
    prometheus: z
      .object({
        chart: z
          .object({
            version: z.string().regex(/^[0-9]+\.[0-9]+\.[0-9]+$/, 'must be an exact chart version such as "88.5.3" (a range would change what is deployed without a code change)').optional(),
            operatorVersion: z.string().regex(/^v[0-9]+\.[0-9]+\.[0-9]+$/, 'must be an operator release tag such as "v0.93.1" (the chart\'s appVersion)').optional(),
            repository: z.string().regex(/^(https:\/\/|oci:\/\/)\S+$/, "must be an https:// or oci:// chart repository").optional(),
            namespace: dnsLabelSchema.optional(),
            retention: z.string().regex(/^[0-9]+(ms|s|m|h|d|w|y)$/, 'must be a Prometheus retention such as "10d"').optional(),
            storageSize: z.union([z.literal(false), storage]).optional(),
            replicas: z.number().int().min(1).max(5).optional(),
            nodeExporter: z.boolean().optional(),
            values: z.record(z.string(), z.unknown()).optional(),
          })
          .strict()
          .optional(),
        existing: z
          .object({
            namespace: dnsLabelSchema,
            selectorLabels: labelMap.optional(),
            alertmanagerConfigSecret: z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, "must be a Secret name").optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    endpoints: z.array(endpointInput).optional(),
    featureStores: z.array(featureServer).optional(),
    trainingJobs: z.array(trainingJob).optional(),
    slo: SloSchema.optional(),
    alerts: z
      .object({
        gpuIdle: z
          .union([
            z.literal(false),
            z
              .object({ utilizationPercent: z.number().gt(0).max(100).optional(), for: promDuration.optional(), namespaces: z.array(dnsLabelSchema).optional() })
              .strict(),
          ])
          .optional(),
        trainingGraceSeconds: z.number().int().min(0).max(30 * 86400).optional(),
      })
      .strict()
      .optional(),
    receivers: z
      .object({
        slack: z
          .object({
            webhookUrl: input.refine((v) => typeof v !== "string" || /^https:\/\/\S+$/.test(v), "must be an https:// incoming-webhook URL"),
            channel: z.string().regex(/^[#@]?[a-z0-9._-]{1,80}$/, 'must be a channel such as "#ml-alerts"').optional(),
          })
          .strict()
          .optional(),
        pagerduty: z.object({ routingKey: input }).strict().optional(),
        email: z
          .object({
            to: z.string().regex(/^[^\s@,]+@[^\s@,]+(,\s*[^\s@,]+@[^\s@,]+)*$/, "must be an email address (or several, comma-separated)"),
            from: z.string().regex(/^[^\s@]+@[^\s@]+$/, "must be an email address"),
            smarthost: z.string().regex(/^[A-Za-z0-9.-]+:[0-9]{1,5}$/, 'must be host:port of an SMTP relay, e.g. "smtp.example.com:587"'),
            username: z.string().min(1).optional(),
            password: input.optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    pushgateway: z
      .object({
        image: imageRef.optional(),
        resources: z.object({ cpu: cpu.optional(), memory: memory.optional() }).strict().optional(),
        allowFrom: z.object({ namespaces: z.array(dnsLabelSchema) }).strict().optional(),
      })
      .strict()
      .optional(),
    drift: z
      .object({
        registry,
        schedule: cron.optional(),
        timeZone: z.string().regex(/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/, 'must be an IANA time zone such as "Europe/Paris"').optional(),
        since: z.string().regex(DURATION_PATTERN, 'must be a duration such as "30m", "1h" or "1d"').optional(),
        onDrift: trainingJob.optional(),
        retrainCooldown: z.union([z.literal("0"), z.string().regex(DURATION_PATTERN, 'must be a duration such as "30m", "6h" or "1d", or "0" for none')]).optional(),
        resources: z.object({ cpu: cpu.optional(), memory: memory.optional(), scratchSize: storage.optional() }).strict().optional(),
        activeDeadlineSeconds: z.number().int().min(60).max(7 * 86400).optional(),
        s3: S3AccessSchema.optional(),
        serviceAccountRoleArn: input.optional(),
      })
      .strict()
      .optional(),
    grafana: z
      .object({
        folder: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$/, "must be a folder name (letters, digits, spaces, '.', '_', '-')").optional(),
        folderAnnotation: z.string().regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, "must be an annotation key").optional(),
        adminPassword: input.optional(),
      })
      .strict()
      .optional(),
    image: input.optional(),
    imageRepository: imageRepositorySchema.optional(),
    placement: placementSchema.optional(),
    transform: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/** The stack's own name is part of every object name. */
export const MonitoringStackNameSchema = dnsLabelSchema;
