import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { ENDPOINT_DEFAULTS } from "../../src/spec/endpoint.js";
import type { EndpointVariantsInput } from "../../src/spec/endpoint-variants.js";
import { GPU_RESOURCE, type Placement } from "../shared/constants.js";
import { fitsProblems } from "../shared/instance-types.js";
import { STAGE_DEFAULTS, stageTier } from "../shared/stage.js";
import { prometheusNamespaceName } from "../monitoring-stack/targets.js";
import type { ModelEndpointArgs } from "./args.js";
import { normalizePayloadLogging, type NormalizedPayloadLogging } from "./logging.js";

/**
 * Every default of ModelEndpoint, in one place (the JSDoc in args.ts states the same values). Replicas
 * follow the stage ({@link STAGE_DEFAULTS}); the serving settings are the runtime's own defaults.
 */
export const MODEL_ENDPOINT_DEFAULTS = {
  targetCpuUtilization: 70,
  /** Kubernetes quantities, requests = limits. */
  cpu: "1",
  memory: "1024Mi",
  drainSeconds: ENDPOINT_DEFAULTS.drainSeconds,
  shutdownDelaySeconds: ENDPOINT_DEFAULTS.shutdownDelaySeconds,
  /**
   * Whose pods may reach `metricsPort`: the Prometheus of the MonitoringStack of this name in the same
   * project and stage (its namespace from `prometheusNamespaceName`).
   */
  monitoringStackName: "monitoring",
  /** The name of the metrics container port and Service port. */
  metricsPortName: "metrics",
  pollIntervalSeconds: ENDPOINT_DEFAULTS.pollIntervalSeconds,
  maxBatchSize: ENDPOINT_DEFAULTS.maxBatchSize,
  maxBatchDelayMs: ENDPOINT_DEFAULTS.maxBatchDelayMs,
  logLevel: "info" as const,
  /** The container port the runtime listens on, and its name (probes and the Service target the name). */
  containerPort: ENDPOINT_DEFAULTS.port,
  containerPortName: "http",
  /** The Service port clients use. */
  servicePort: 80,
  /** Seconds the kubelet waits beyond the preStop sleep, the runtime's shutdown delay and its drain before SIGKILL. */
  terminationMarginSeconds: 10,
  /** Size of the writable /tmp (the root filesystem is read-only). */
  tmpSizeLimit: "256Mi",
} as const;

/** Every setting resolved: what the builders take. */
export interface NormalizedEndpoint {
  readonly model: string;
  readonly replicas: { readonly min: number; readonly max: number; readonly targetCpuUtilization: number };
  /** Kubernetes quantities. */
  readonly resources: { readonly cpu: string; readonly memory: string };
  readonly gpu?: { readonly count: number };
  /** Where the pods run: a GPU endpoint's own placement, else the cluster's serving pool; undefined: anywhere. */
  readonly placement?: {
    readonly nodeSelector: Record<string, string>;
    readonly tolerations: k8s.types.input.core.v1.Toleration[];
  };
  /** S3 settings beyond AWS's defaults (the credentials themselves stay in args: they go to a Secret). */
  readonly s3: { readonly endpoint?: string; readonly region?: string; readonly staticCredentials: boolean };
  readonly batching: { readonly maxBatchSize: number; readonly maxBatchDelayMs: number };
  readonly authEnabled: boolean;
  readonly allowFromNamespaces: readonly string[];
  readonly drainSeconds: number;
  readonly shutdownDelaySeconds: number;
  /** `/metrics` on a port of its own, opened to one namespace; undefined: on the serving port. */
  readonly metrics?: { readonly port: number; readonly namespace: pulumi.Input<string> };
  readonly pollIntervalSeconds: number;
  readonly logLevel: "debug" | "info" | "warn" | "error";
  /** The pods' PriorityClass; undefined: none. */
  readonly priorityClassName?: string;
  /** Payload logging's settings (its URI stays in args: it may be an Output); undefined: off. */
  readonly logging?: NormalizedPayloadLogging;
  /** Canary and shadow, as given (the runtime's schema fills their defaults); undefined: none. */
  readonly variants?: EndpointVariantsInput;
}

/** What normalizing needs to know of the cluster the endpoint is deployed to. */
export interface EndpointClusterFacts {
  /** The serving PriorityClass the cluster creates (a TrainingCluster's), if any. */
  readonly servingPriorityClass?: string;
  /** Where the cluster wants serving pods (a TrainingCluster with a serving pool exposes `servingPlacement`). */
  readonly servingPlacement?: Placement;
  /** The serving pool's EC2 instance types (a TrainingCluster with a serving pool exposes `servingInstanceTypes`). */
  readonly servingInstanceTypes?: readonly string[];
  /** The Pulumi project, which names the default `monitoringNamespace`. @default "pulumi-mlops" */
  readonly project?: string;
}

/**
 * A GPU endpoint goes where its GPUs are (its own nodeSelector, the `nvidia.com/gpu` toleration and its
 * extras), not to the serving pool, whose instances are CPU-only; a CPU endpoint goes to the cluster's
 * serving pool when it has one, so it neither lands on the small system group nor competes with CoreDNS.
 */
function placementOf(args: ModelEndpointArgs, cluster: EndpointClusterFacts): NormalizedEndpoint["placement"] {
  if (args.gpu) {
    return {
      nodeSelector: { ...(args.gpu.nodeSelector ?? {}) },
      tolerations: [{ key: GPU_RESOURCE, operator: "Exists", effect: "NoSchedule" }, ...(args.gpu.tolerations ?? [])],
    };
  }
  const p = cluster.servingPlacement;
  if (!p) return undefined;
  return { nodeSelector: { ...p.nodeSelector }, tolerations: p.tolerations.map((t) => ({ ...t })) };
}

/**
 * Applies defaults to validated args; `stage` (the stack name) picks the replica defaults, `cluster` the
 * PriorityClass and placement defaults.
 */
export function normalizeEndpoint(args: ModelEndpointArgs, stage: string, cluster: EndpointClusterFacts = {}): NormalizedEndpoint {
  const priorityClassName = args.priorityClassName === false ? undefined : (args.priorityClassName ?? cluster.servingPriorityClass);
  const d = MODEL_ENDPOINT_DEFAULTS;
  const byStage = STAGE_DEFAULTS[stageTier(stage)].replicas;
  const min = args.replicas?.min ?? byStage.min;
  const placement = placementOf(args, cluster);
  return {
    model: args.model,
    replicas: {
      min,
      max: args.replicas?.max ?? Math.max(byStage.max, min),
      targetCpuUtilization: args.replicas?.targetCpuUtilization ?? d.targetCpuUtilization,
    },
    resources: { cpu: args.resources?.cpu ?? d.cpu, memory: args.resources?.memory ?? d.memory },
    ...(args.gpu ? { gpu: { count: args.gpu.count } } : {}),
    ...(placement ? { placement } : {}),
    s3: {
      ...(args.s3?.endpoint !== undefined ? { endpoint: args.s3.endpoint } : {}),
      ...(args.s3?.region !== undefined ? { region: args.s3.region } : {}),
      staticCredentials: args.s3?.credentials !== undefined,
    },
    batching: {
      maxBatchSize: args.batching?.maxBatchSize ?? d.maxBatchSize,
      maxBatchDelayMs: args.batching?.maxBatchDelayMs ?? d.maxBatchDelayMs,
    },
    authEnabled: args.auth !== undefined,
    allowFromNamespaces: [...(args.allowFrom?.namespaces ?? [])],
    drainSeconds: args.drainSeconds ?? d.drainSeconds,
    shutdownDelaySeconds: args.shutdownDelaySeconds ?? d.shutdownDelaySeconds,
    ...(args.metricsPort !== undefined ? { metrics: { port: args.metricsPort, namespace: args.monitoringNamespace ?? defaultMonitoringNamespace(stage, cluster.project) } } : {}),
    pollIntervalSeconds: args.pollIntervalSeconds ?? d.pollIntervalSeconds,
    logLevel: args.logLevel ?? d.logLevel,
    ...(priorityClassName !== undefined ? { priorityClassName } : {}),
    ...(args.logging ? { logging: normalizePayloadLogging(args.logging) } : {}),
    ...(args.variants ? { variants: args.variants } : {}),
  };
}

/** Where the default MonitoringStack's Prometheus runs: the namespace `metricsPort` is opened to by default. */
export function defaultMonitoringNamespace(stage: string, project = "pulumi-mlops"): string {
  return prometheusNamespaceName({ project, stage, name: MODEL_ENDPOINT_DEFAULTS.monitoringStackName });
}

/** The node label Kubernetes sets to the node's instance type (well-known; EKS nodes carry it). */
const INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type";

/**
 * Requests no node the pods may land on can satisfy, which would leave them Pending forever (issue 7, item 8),
 * checked against the allocatable of the instance types (components/shared/instance-types.ts):
 * - a CPU endpoint: cpu and memory against the cluster's serving pool (`servingInstanceTypes`), where
 *   {@link placementOf} sends it; on a cluster without one, nothing (its nodes are not known here);
 * - a GPU endpoint: cpu, memory and GPUs against the instance type its `gpu.nodeSelector` pins with
 *   `node.kubernetes.io/instance-type`. Selected otherwise (a GPU model label, a Karpenter label, or no
 *   selector at all), it is not checked: which instance types it lands on is not known here.
 * Property paths start at `prefix`. Runs on raw args: tolerant of a bad shape (the schema reports that).
 */
export function endpointFitProblems(args: ModelEndpointArgs, cluster: EndpointClusterFacts, prefix = "args"): string[] {
  const d = MODEL_ENDPOINT_DEFAULTS;
  const r = (args.resources ?? {}) as Record<string, unknown>;
  const requests = {
    cpu: typeof r.cpu === "string" ? r.cpu : r.cpu === undefined ? d.cpu : undefined,
    memory: typeof r.memory === "string" ? r.memory : r.memory === undefined ? d.memory : undefined,
  };
  const fields = { cpu: `${prefix}.resources.cpu`, memory: `${prefix}.resources.memory`, gpus: `${prefix}.gpu.count` };
  const strip = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  const gpu = args.gpu as { count?: unknown; nodeSelector?: unknown } | undefined;
  if (gpu !== undefined) {
    const selector = gpu && typeof gpu.nodeSelector === "object" && gpu.nodeSelector !== null ? (gpu.nodeSelector as Record<string, unknown>) : {};
    const pinned = selector[INSTANCE_TYPE_LABEL];
    if (typeof pinned !== "string") return [];
    const gpus = typeof gpu.count === "number" ? gpu.count : undefined;
    return fitsProblems(strip({ ...requests, gpus }), [pinned], fields);
  }
  return cluster.servingInstanceTypes ? fitsProblems(strip(requests), cluster.servingInstanceTypes, fields) : [];
}
