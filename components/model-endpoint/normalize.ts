import type * as k8s from "@pulumi/kubernetes";
import { ENDPOINT_DEFAULTS } from "../../src/spec/endpoint.js";
import { STAGE_DEFAULTS, stageTier } from "../shared/stage.js";
import type { ModelEndpointArgs } from "./args.js";

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
  pollIntervalSeconds: ENDPOINT_DEFAULTS.pollIntervalSeconds,
  maxBatchSize: ENDPOINT_DEFAULTS.maxBatchSize,
  maxBatchDelayMs: ENDPOINT_DEFAULTS.maxBatchDelayMs,
  logLevel: "info" as const,
  /** The container port the runtime listens on, and its name (probes and the Service target the name). */
  containerPort: ENDPOINT_DEFAULTS.port,
  containerPortName: "http",
  /** The Service port clients use. */
  servicePort: 80,
  /** Seconds the kubelet waits beyond the runtime's own drain before SIGKILL. */
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
  readonly gpu?: {
    readonly count: number;
    readonly nodeSelector: Record<string, string>;
    readonly tolerations: k8s.types.input.core.v1.Toleration[];
  };
  readonly batching: { readonly maxBatchSize: number; readonly maxBatchDelayMs: number };
  readonly authEnabled: boolean;
  readonly allowFromNamespaces: readonly string[];
  readonly drainSeconds: number;
  readonly pollIntervalSeconds: number;
  readonly logLevel: "debug" | "info" | "warn" | "error";
  /** The pods' PriorityClass; undefined: none. */
  readonly priorityClassName?: string;
}

/** What normalizing needs to know of the cluster the endpoint is deployed to. */
export interface EndpointClusterFacts {
  /** The serving PriorityClass the cluster creates (a TrainingCluster's), if any. */
  readonly servingPriorityClass?: string;
}

/**
 * Applies defaults to validated args; `stage` (the stack name) picks the replica defaults, `cluster` the
 * PriorityClass default.
 */
export function normalizeEndpoint(args: ModelEndpointArgs, stage: string, cluster: EndpointClusterFacts = {}): NormalizedEndpoint {
  const priorityClassName = args.priorityClassName === false ? undefined : (args.priorityClassName ?? cluster.servingPriorityClass);
  const d = MODEL_ENDPOINT_DEFAULTS;
  const byStage = STAGE_DEFAULTS[stageTier(stage)].replicas;
  const min = args.replicas?.min ?? byStage.min;
  return {
    model: args.model,
    replicas: {
      min,
      max: args.replicas?.max ?? Math.max(byStage.max, min),
      targetCpuUtilization: args.replicas?.targetCpuUtilization ?? d.targetCpuUtilization,
    },
    resources: { cpu: args.resources?.cpu ?? d.cpu, memory: args.resources?.memory ?? d.memory },
    ...(args.gpu
      ? { gpu: { count: args.gpu.count, nodeSelector: args.gpu.nodeSelector ?? {}, tolerations: args.gpu.tolerations ?? [] } }
      : {}),
    batching: {
      maxBatchSize: args.batching?.maxBatchSize ?? d.maxBatchSize,
      maxBatchDelayMs: args.batching?.maxBatchDelayMs ?? d.maxBatchDelayMs,
    },
    authEnabled: args.auth !== undefined,
    allowFromNamespaces: [...(args.allowFrom?.namespaces ?? [])],
    drainSeconds: args.drainSeconds ?? d.drainSeconds,
    pollIntervalSeconds: args.pollIntervalSeconds ?? d.pollIntervalSeconds,
    logLevel: args.logLevel ?? d.logLevel,
    ...(priorityClassName !== undefined ? { priorityClassName } : {}),
  };
}
