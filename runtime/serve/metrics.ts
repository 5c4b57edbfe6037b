import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * The serving metrics, on a registry of their own (never prom-client's global one, so two apps in one
 * process — tests, the demo — do not collide). Labels stay low-cardinality: the served model's name, its
 * loaded version and the HTTP status code; never anything a client chose.
 */
export interface ServeMetrics {
  readonly registry: Registry;
  /** Infer requests by model, version and HTTP status code. */
  readonly requests: Counter<"model" | "version" | "status">;
  /** Infer request duration, body read to response written. */
  readonly duration: Histogram<"model" | "version">;
  /** Rows per onnxruntime call. */
  readonly batchSize: Histogram<"model" | "version">;
  /** Infer requests waiting for the batcher. */
  readonly queueDepth: Gauge;
  /** Seconds the last load of each version took (artifact read and session creation). */
  readonly loadDuration: Gauge<"model" | "version">;
  /** 1 for the version being served. */
  readonly info: Gauge<"model" | "version" | "digest">;
  /** Failed attempts at loading a version (first load and alias moves), by why they failed. */
  readonly loadFailures: Counter<"model" | "reason">;
}

export function createMetrics(): ServeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "mlops_" });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: "mlops_requests_total",
      help: "Inference requests by model, version and HTTP status code.",
      labelNames: ["model", "version", "status"],
      registers,
    }),
    duration: new Histogram({
      name: "mlops_request_duration_seconds",
      help: "Inference request duration in seconds, from the request read to the response written.",
      labelNames: ["model", "version"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    batchSize: new Histogram({
      name: "mlops_batch_size",
      help: "Rows per onnxruntime session run (dynamic batching merges concurrent requests).",
      labelNames: ["model", "version"],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096],
      registers,
    }),
    queueDepth: new Gauge({
      name: "mlops_queue_depth",
      help: "Inference requests waiting in the batch queue.",
      registers,
    }),
    loadDuration: new Gauge({
      name: "mlops_model_load_duration_seconds",
      help: "Seconds the last load of a model version took (artifact read and session creation).",
      labelNames: ["model", "version"],
      registers,
    }),
    info: new Gauge({
      name: "mlops_model_info",
      help: "1 for the model version this server is serving, labelled with its content digest.",
      labelNames: ["model", "version", "digest"],
      registers,
    }),
    loadFailures: new Counter({
      name: "mlops_model_load_failures_total",
      help: "Failed attempts at loading a model version (resolve, artifact read or session creation), by reason: not_found, access_denied, unreachable, corrupt_artifact, error.",
      labelNames: ["model", "reason"],
      registers,
    }),
  };
}
