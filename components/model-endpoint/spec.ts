import { parseEndpointSpec, type EndpointSpec } from "../../src/spec/endpoint.js";
import type { EndpointFeaturesInput } from "../../src/spec/endpoint-features.js";
import { MODEL_ENDPOINT_DEFAULTS, type NormalizedEndpoint } from "./normalize.js";

/** What the spec is made from: the endpoint's name, the resolved registry URI and its settings. */
export interface EndpointSpecArgs {
  /** The endpoint's (logical) name: used in logs and metrics. */
  readonly name: string;
  /** `s3://…` or `file://…`. */
  readonly registryUri: string;
  /** The payload log's URI, resolved; used when `endpoint.logging` is set. */
  readonly loggingUri?: string;
  /** Serving by entity id: the spec's `features` block, the store's spec resolved (features.ts featuresBlock). */
  readonly features?: EndpointFeaturesInput;
  readonly endpoint: Pick<
    NormalizedEndpoint,
    "model" | "batching" | "authEnabled" | "drainSeconds" | "shutdownDelaySeconds" | "metrics" | "pollIntervalSeconds" | "logLevel" | "logging" | "variants"
  >;
}

/**
 * The EndpointSpec a ModelEndpoint renders into the container's MLOPS_ENDPOINT_SPEC, validated by the
 * same schema the runtime parses at boot. Pure, so the contract test can boot the real runtime from it.
 */
export function buildEndpointSpec(args: EndpointSpecArgs): EndpointSpec {
  const e = args.endpoint;
  return parseEndpointSpec(
    {
      name: args.name,
      model: e.model,
      registry: args.registryUri,
      // The Service reaches pods on every interface; the port is the one the container declares.
      server: {
        host: "0.0.0.0",
        port: MODEL_ENDPOINT_DEFAULTS.containerPort,
        drainSeconds: e.drainSeconds,
        // The same delay the container's preStop sleeps (manifests.ts deploymentArgs).
        shutdownDelaySeconds: e.shutdownDelaySeconds,
        ...(e.metrics ? { metricsPort: e.metrics.port } : {}),
      },
      batching: { maxBatchSize: e.batching.maxBatchSize, maxBatchDelayMs: e.batching.maxBatchDelayMs },
      pollIntervalSeconds: e.pollIntervalSeconds,
      auth: { enabled: e.authEnabled },
      logLevel: e.logLevel,
      ...(e.logging && args.loggingUri !== undefined ? { logging: { ...e.logging, uri: args.loggingUri } } : {}),
      ...(args.features ? { features: args.features } : {}),
      ...(e.variants ? { variants: e.variants } : {}),
    },
    `endpoint spec for "${args.name}"`,
  );
}
