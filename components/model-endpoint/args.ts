import type * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { ENDPOINT_DEFAULTS } from "../../src/spec/endpoint.js";
import { modelRefSchema } from "../../src/spec/model-ref.js";
import { EndpointVariantsSchema, type EndpointVariantsInput } from "../../src/spec/endpoint-variants.js";
import { KubernetesTargetSchema, type KubernetesTarget } from "../shared/kubernetes.js";
import { S3AccessSchema, type S3AccessArgs } from "../shared/s3-access.js";
import { PayloadLoggingArgsSchema, type PayloadLoggingArgs } from "./logging.js";
import { EndpointFeaturesArgsSchema, type EndpointFeaturesArgs } from "./features.js";
import type { Transform } from "../shared/transform.js";
import { dnsLabelSchema, imageRepositorySchema, inputString, isDeferred, quantity } from "../shared/validate.js";
import type { ModelRegistry } from "../model-registry/index.js";

/** Horizontal scaling on CPU. */
export interface ReplicasArgs {
  /** Fewest pods. @default - by stage: 1 in dev, 2 in staging, 3 in prod (one per zone of a three-zone region) */
  readonly min?: number;
  /** Most pods. @default - by stage: 2 in dev, 4 in staging, 20 in prod (and never less than `min`) */
  readonly max?: number;
  /** Average CPU utilization (% of the request) the autoscaler aims for. @default 70 */
  readonly targetCpuUtilization?: number;
}

/**
 * What each pod asks for, as Kubernetes quantities (like every Kubernetes size in this package); limits
 * equal requests (Guaranteed QoS: steady latency, no CPU throttling surprises).
 */
export interface ResourcesArgs {
  /** CPU, e.g. `"1"`, `"500m"`. @default "1" */
  readonly cpu?: string;
  /** Memory, e.g. `"1Gi"`, `"512Mi"`. @default "1024Mi" */
  readonly memory?: string;
}

export interface GpuArgs {
  /** `nvidia.com/gpu` per pod. */
  readonly count: number;
  /** Where GPU pods may run, e.g. `{ "karpenter.k8s.aws/instance-gpu-name": "a10g" }`. @default - none */
  readonly nodeSelector?: Record<string, string>;
  /** Extra tolerations; the `nvidia.com/gpu` NoSchedule toleration is always added. @default - none */
  readonly tolerations?: k8s.types.input.core.v1.Toleration[];
}

export type { PayloadLoggingArgs };
export type { EndpointFeaturesArgs };

/**
 * How the pods reach an S3 registry other than through AWS with an IAM role: an S3-compatible server (MinIO on
 * a kind cluster, say) and static credentials.
 */
export type { S3AccessArgs };

export interface BatchingArgs {
  /** Most rows merged into one onnxruntime call. @default 32 */
  readonly maxBatchSize?: number;
  /** Longest a request waits for others to batch with. @default 2 */
  readonly maxBatchDelayMs?: number;
}

/** Per-child hooks, the escape hatch for what the args do not cover. */
export interface ModelEndpointTransforms {
  readonly namespace?: Transform<k8s.core.v1.NamespaceArgs>;
  readonly serviceAccount?: Transform<k8s.core.v1.ServiceAccountArgs>;
  readonly secret?: Transform<k8s.core.v1.SecretArgs>;
  /** The Secret holding `s3.credentials`. */
  readonly s3Secret?: Transform<k8s.core.v1.SecretArgs>;
  readonly deployment?: Transform<k8s.apps.v1.DeploymentArgs>;
  readonly service?: Transform<k8s.core.v1.ServiceArgs>;
  readonly autoscaler?: Transform<k8s.autoscaling.v2.HorizontalPodAutoscalerArgs>;
  readonly disruptionBudget?: Transform<k8s.policy.v1.PodDisruptionBudgetArgs>;
  readonly networkPolicy?: Transform<k8s.networking.v1.NetworkPolicyArgs>;
  readonly image?: Transform<docker.ImageArgs>;
}

export interface ModelEndpointArgs {
  /** The registry to serve from: a ModelRegistry, or its URI (`s3://bucket/prefix`, `file:///path`). */
  readonly registry: ModelRegistry | string;
  /**
   * The model: `name@alias` follows the alias as it moves; `name:version` pins a version.
   * @example "fraud@champion"
   */
  readonly model: string;
  /** The cluster: `{ provider }`, `{ kubeconfig }`, or a cluster object that has a `provider`. */
  readonly kubernetes: KubernetesTarget;
  /**
   * The namespace: the name of an existing one, or a Namespace resource.
   * @default - a new namespace `${project}-${stage}-${name}` enforcing Pod Security "restricted"
   */
  readonly namespace?: string | k8s.core.v1.Namespace;
  /**
   * The runtime image to run.
   * @default - built from this package's runtime/Dockerfile by @pulumi/docker
   */
  readonly image?: pulumi.Input<string>;
  /** Where to push the built image (ignored when `image` is given). @default - not pushed */
  readonly imageRepository?: string;
  /** @default - { min, max } by stage (dev 1–2, staging 2–4, prod 3–20), targetCpuUtilization: 70 */
  readonly replicas?: ReplicasArgs;
  /** @default { cpu: "1", memory: "1024Mi" } */
  readonly resources?: ResourcesArgs;
  /** GPUs per pod. @default - none */
  readonly gpu?: GpuArgs;
  /** Dynamic batching. @default { maxBatchSize: 32, maxBatchDelayMs: 2 } */
  readonly batching?: BatchingArgs;
  /**
   * Require `Authorization: Bearer <token>`. Give the token as a secret (`config.requireSecret("token")`):
   * it goes into a Kubernetes Secret, never into the Deployment.
   * @default - no auth
   */
  readonly auth?: { readonly token: pulumi.Input<string> };
  /**
   * Namespaces whose pods may reach the serving port (list the monitoring namespace for Prometheus
   * scrapes). Pods in the endpoint's own namespace always may; everything else is denied.
   * @default { namespaces: [] }
   */
  readonly allowFrom?: { readonly namespaces: readonly string[] };
  /**
   * An S3-compatible registry server and static credentials, for clusters without IRSA (kind with MinIO).
   * @example s3: { endpoint: "http://minio.minio:9000", credentials: { accessKeyId: cfg.requireSecret("s3Key"), secretAccessKey: cfg.requireSecret("s3Secret") } }
   * @default - AWS S3, credentials from the SDK's default chain (IRSA on EKS)
   */
  readonly s3?: S3AccessArgs;
  /**
   * IAM role for the pods' ServiceAccount (IRSA), e.g. to read an S3 registry. Given, it wins: no role is made.
   * @default - when `kubernetes` is a cluster that issues ServiceAccount roles (a TrainingCluster on EKS) and the
   * registry is on S3 (and no `s3.credentials` are given), a new role that only this ServiceAccount can assume and that only reads the registry
   * (plus puts under `logging.uri`, and with `variants.canary` under `models/<name>/rollouts/`, and `models/<name>/aliases/` with
   * `onSuccess: "promote"`); otherwise none. A role given must allow the same.
   */
  readonly serviceAccountRoleArn?: pulumi.Input<string>;
  /**
   * ARN of the customer-managed KMS key the registry bucket is encrypted with (SSE-KMS). The role the
   * endpoint makes may then decrypt with it, through S3 only. Needed when `registry` is an `s3://` URI;
   * a ModelRegistry states its own key.
   * @default - the registry's `kmsKeyArn` when it is a ModelRegistry; otherwise none (SSE-S3)
   */
  readonly registryKmsKeyArn?: pulumi.Input<string>;
  /**
   * The pods' PriorityClass. A TrainingCluster creates a serving class (`${project}-${stage}-serving`, its `servingPriorityClassName`) that may preempt
   * training pods, so a traffic spike takes capacity back from training; any other cluster may have no such
   * class, and a pod naming a class that does not exist is refused. `false`: none (the cluster's default).
   * @default - the TrainingCluster's serving class when `kubernetes` is a TrainingCluster; otherwise none
   */
  readonly priorityClassName?: string | false;
  /**
   * Seconds a terminating pod keeps serving as usual before its listener closes, while it leaves the Service's
   * endpoints: the container's `preStop` sleeps this long (the process does not know yet), then the runtime,
   * on SIGTERM, keeps answering as long again with readiness 503 and `Connection: close` on every response,
   * which moves keep-alive clients to other pods. `preStop.sleep` needs Kubernetes 1.30 or later (every EKS
   * version in standard support); 0 leaves the hook out and closes the listener at SIGTERM.
   * @default 5
   */
  readonly shutdownDelaySeconds?: number;
  /**
   * Seconds the requests still in flight get once the listener is closed; then they are cut off. The default
   * equals the runtime's request timeout (30 s), so a request accepted just before the listener closed may
   * still arrive in full and be answered.
   * @default 30
   */
  readonly drainSeconds?: number;
  /**
   * A container port of its own for `/metrics`, which the runtime then no longer serves on the serving port;
   * the Service gets a port named `metrics`, the pods' scrape annotation points at it, and the NetworkPolicy
   * opens it to `monitoringNamespace` only (the serving port stays as `allowFrom` says). 1024-65535, not 8080
   * (the serving port).
   * @default - /metrics on the serving port
   */
  readonly metricsPort?: number;
  /**
   * The namespace whose pods (Prometheus's) may reach `metricsPort`: a name, or a MonitoringStack's
   * `prometheusNamespace` output. The default is where the Prometheus of a MonitoringStack named
   * "monitoring" in the same project and stage runs, `${project}-${stage}-monitoring-prometheus`
   * (`prometheusNamespaceName` in components/monitoring-stack/targets.ts); name yours otherwise.
   * @default - `${project}-${stage}-monitoring-prometheus`
   */
  readonly monitoringNamespace?: pulumi.Input<string>;
  /** How often a followed alias is re-resolved. @default 10 */
  readonly pollIntervalSeconds?: number;
  /** @default "info" */
  readonly logLevel?: "debug" | "info" | "warn" | "error";
  /**
   * Payload logging: a sampled record of each answered infer request (inputs, outputs, model version,
   * request id, time), written in batches to `logging.uri` as SageMaker Data Capture JSON lines, partitioned
   * by hour, for drift jobs (`mlops drift --model`). Never blocks nor fails a request: under back-pressure
   * records are dropped and counted (`mlops_payload_records_dropped_total`). The pods' IAM role, when the
   * endpoint makes one, may put objects under an `s3://` URI (and encrypt with `kmsKeyArn`).
   * @example logging: { sampleRate: 0.1, uri: "s3://acme-payloads/prod" }
   * @default - off
   */
  readonly logging?: PayloadLoggingArgs;
  /**
   * Serving by entity id: infer requests may send the entity's join key (e.g. `customer_id`, INT64 or BYTES,
   * shape [N] or [N, 1]) instead of the model's feature tensor, and the pods look the features up in the
   * store's online store (features.ts says how they get its AUTH token and why the endpoint belongs in the
   * store's namespace). Requests with the model's own inputs still work.
   * @example features: { store: featureStore, entity: "customer", features: ["txn_stats:spend_7d", "txn_stats:txn_count_7d"] }
   * @default - off
   */
  readonly features?: EndpointFeaturesArgs;
  /**
   * A canary (a share of the requests, stepped up after each passed bake period, rolled back automatically on
   * a failed analysis, promoted by moving the model's alias or held for `mlops promote`) and/or a shadow (a
   * mirrored sample, answers compared and discarded), routed in-process by the pods (src/spec/endpoint-variants.ts).
   * @example variants: { canary: { model: "fraud:4", weight: 10, steps: [25, 50, 100], bakeSeconds: 300, onSuccess: "promote" } }
   * @default - none
   */
  readonly variants?: EndpointVariantsInput;
  readonly transform?: ModelEndpointTransforms;
}

const input = inputString();
const k8sName = dnsLabelSchema;
const labelMap = z.record(z.string(), z.string());

const registry = z.union([
  z.string().regex(/^(file|s3):\/\/.+/, "must be a ModelRegistry or a file:// or s3:// URI"),
  z.custom<ModelRegistry>(
    (v) => v !== null && typeof v === "object" && pulumi.Output.isInstance((v as { uri?: unknown }).uri),
    "must be a ModelRegistry or a file:// or s3:// URI",
  ),
]);

const modelRef = modelRefSchema('is not a model reference: write "<name>@<alias>" (e.g. "fraud@champion") or "<name>:<version>" (e.g. "fraud:3")');

export const ModelEndpointArgsSchema = z
  .object({
    registry,
    model: modelRef,
    kubernetes: KubernetesTargetSchema,
    namespace: z
      .union([k8sName, z.custom<k8s.core.v1.Namespace>((v) => k8s.core.v1.Namespace.isInstance(v), "must be a namespace name or a Namespace")])
      .optional(),
    image: input.optional(),
    imageRepository: imageRepositorySchema.optional(),
    replicas: z
      .object({
        min: z.number().int().min(1).max(1000).optional(),
        max: z.number().int().min(1).max(1000).optional(),
        targetCpuUtilization: z.number().int().min(1).max(100).optional(),
      })
      .strict()
      .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, {
        message: "min must not exceed max: lower min or raise max",
      })
      .optional(),
    resources: z
      .object({
        cpu: quantity("CPU", 0.01, 256, '"1" or "500m"').optional(),
        memory: quantity("memory", 64 * 2 ** 20, 4 * 2 ** 40, '"1Gi" or "512Mi"').optional(),
      })
      .strict()
      .optional(),
    gpu: z
      .object({
        count: z.number().int().min(1).max(16),
        nodeSelector: labelMap.optional(),
        tolerations: z.array(z.record(z.string(), z.unknown())).optional(),
      })
      .strict()
      .optional(),
    batching: z
      .object({ maxBatchSize: z.number().int().min(1).max(4096).optional(), maxBatchDelayMs: z.number().min(0).max(1000).optional() })
      .strict()
      .optional(),
    auth: z.object({ token: input }).strict().optional(),
    allowFrom: z.object({ namespaces: z.array(k8sName) }).strict().optional(),
    s3: S3AccessSchema.optional(),
    serviceAccountRoleArn: input.optional(),
    registryKmsKeyArn: input.optional(),
    priorityClassName: z.union([z.literal(false), z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, "must be a PriorityClass name (lowercase letters, digits, '-' and '.'), or false for none")]).optional(),
    shutdownDelaySeconds: z.number().int().min(0).max(300).optional(),
    drainSeconds: z.number().min(0).max(600).optional(),
    metricsPort: z
      .number()
      .int()
      .min(1024, "must be 1024 or more: the runtime runs without the capability to bind lower ports")
      .max(65535)
      .refine((p) => p !== ENDPOINT_DEFAULTS.port, `must not be ${ENDPOINT_DEFAULTS.port}, the serving port: pick another, e.g. 9090`)
      .optional(),
    monitoringNamespace: z.union([k8sName, z.custom<pulumi.Input<string>>(isDeferred, "must be a namespace name or an Output of one (MonitoringStack.prometheusNamespace)")]).optional(),
    pollIntervalSeconds: z.number().min(0.05).max(3600).optional(),
    logLevel: z.enum(["debug", "info", "warn", "error"]).optional(),
    logging: PayloadLoggingArgsSchema.optional(),
    features: EndpointFeaturesArgsSchema.optional(),
    variants: EndpointVariantsSchema.optional(),
    transform: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .refine((a) => a.monitoringNamespace === undefined || a.metricsPort !== undefined, {
    path: ["monitoringNamespace"],
    message: "only applies to metricsPort: set metricsPort too, or drop monitoringNamespace (the serving port's namespaces are allowFrom)",
  });

/** The endpoint's own name becomes the spec name and part of every object name. */
export const EndpointNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,39}$/, "must be 1-40 lowercase letters, digits and '-', starting with a letter");
