import type * as k8s from "@pulumi/kubernetes";
import { ENDPOINT_DEFAULTS } from "../../src/spec/endpoint.js";
import { GPU_RESOURCE, RUNTIME_UID } from "../shared/constants.js";
import type { ModelEndpointArgs } from "./args.js";

/** Fewest pods in a dev stage (one pod is enough to try things) and elsewhere (survives a node loss). */
export const DEFAULT_MIN_REPLICAS = { dev: 1, other: 2 } as const;
export const DEFAULT_MAX_REPLICAS = 10;
export const DEFAULT_TARGET_CPU_UTILIZATION = 70;
export const DEFAULT_CPU = 1;
export const DEFAULT_MEMORY_MIB = 1024;
export const DEFAULT_DRAIN_SECONDS = ENDPOINT_DEFAULTS.drainSeconds;
export const DEFAULT_POLL_INTERVAL_SECONDS = ENDPOINT_DEFAULTS.pollIntervalSeconds;
export const DEFAULT_MAX_BATCH_SIZE = ENDPOINT_DEFAULTS.maxBatchSize;
export const DEFAULT_MAX_BATCH_DELAY_MS = ENDPOINT_DEFAULTS.maxBatchDelayMs;
export const DEFAULT_LOG_LEVEL = "info" as const;
/** The container port the runtime listens on, and its name (probes and the Service target the name). */
export const CONTAINER_PORT = ENDPOINT_DEFAULTS.port;
export const CONTAINER_PORT_NAME = "http";
/** The Service port clients use. */
export const SERVICE_PORT = 80;
export { RUNTIME_UID };
/** Seconds the kubelet waits beyond the runtime's own drain before SIGKILL. */
export const TERMINATION_MARGIN_SECONDS = 10;
/** Size of the writable /tmp (the root filesystem is read-only). */
export const TMP_SIZE_LIMIT = "256Mi";
export { GPU_RESOURCE };

/** Stages whose defaults are sized for trying things out. */
export function isDevStage(stage: string): boolean {
  return /^(dev|development|test|local)($|[-_.])/.test(stage);
}

/** Every setting resolved: what the builders take. */
export interface NormalizedEndpoint {
  readonly model: string;
  readonly replicas: { readonly min: number; readonly max: number; readonly targetCpuUtilization: number };
  readonly resources: { readonly cpu: number; readonly memoryMiB: number };
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
}

/** Applies defaults to validated args; `stage` picks the stage-dependent ones. */
export function normalizeEndpoint(args: ModelEndpointArgs, stage: string): NormalizedEndpoint {
  const min = args.replicas?.min ?? (isDevStage(stage) ? DEFAULT_MIN_REPLICAS.dev : DEFAULT_MIN_REPLICAS.other);
  return {
    model: args.model,
    replicas: {
      min,
      max: args.replicas?.max ?? Math.max(DEFAULT_MAX_REPLICAS, min),
      targetCpuUtilization: args.replicas?.targetCpuUtilization ?? DEFAULT_TARGET_CPU_UTILIZATION,
    },
    resources: { cpu: args.resources?.cpu ?? DEFAULT_CPU, memoryMiB: args.resources?.memoryMiB ?? DEFAULT_MEMORY_MIB },
    ...(args.gpu
      ? { gpu: { count: args.gpu.count, nodeSelector: args.gpu.nodeSelector ?? {}, tolerations: args.gpu.tolerations ?? [] } }
      : {}),
    batching: {
      maxBatchSize: args.batching?.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE,
      maxBatchDelayMs: args.batching?.maxBatchDelayMs ?? DEFAULT_MAX_BATCH_DELAY_MS,
    },
    authEnabled: args.auth !== undefined,
    allowFromNamespaces: [...(args.allowFrom?.namespaces ?? [])],
    drainSeconds: args.drainSeconds ?? DEFAULT_DRAIN_SECONDS,
    pollIntervalSeconds: args.pollIntervalSeconds ?? DEFAULT_POLL_INTERVAL_SECONDS,
    logLevel: args.logLevel ?? DEFAULT_LOG_LEVEL,
  };
}

/** `0.5` → `"500m"`, `2` → `"2"`. */
export function cpuQuantity(cores: number): string {
  return Number.isInteger(cores) ? String(cores) : `${Math.round(cores * 1000)}m`;
}
