import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { collectStandardMetrics } from "./default-metrics.js";

/**
 * The route label of `mlops_requests_total`: a fixed set, so no client can mint new series. `other` is every
 * path this server does not answer, and the requests that never had a usable path (Node's parser refused
 * them, or the connection cap did).
 */
export const ROUTES = ["infer", "model_metadata", "model_ready", "server_metadata", "live", "ready", "rollout", "metrics", "other"] as const;
export type RouteLabel = (typeof ROUTES)[number];

/**
 * The serving metrics, on a registry of their own (never prom-client's global one, so two apps in one
 * process — tests, the demo — do not collide). Labels stay low-cardinality: the served model's name, its
 * loaded version, a route from {@link ROUTES}, the HTTP status code and the variant that answered
 * (`stable`, `canary`, `shadow`; "" where no model answered); never anything a client chose.
 */
export interface ServeMetrics {
  readonly registry: Registry;
  /**
   * Every response, by route and HTTP status code. `model` is the served model on the model routes that
   * named it and empty elsewhere; `version` is the version that answered, empty when none did.
   */
  readonly requests: Counter<"model" | "version" | "route" | "status" | "variant">;
  /** Infer request duration, body read to response written. */
  readonly duration: Histogram<"model" | "version" | "variant">;
  /** Rows per onnxruntime call. */
  readonly batchSize: Histogram<"model" | "version" | "variant">;
  /** Infer requests waiting for the batcher. */
  readonly queueDepth: Gauge;
  /** Seconds the last load of each version took (artifact read and session creation). */
  readonly loadDuration: Gauge<"model" | "version">;
  /** 1 for the version being served. */
  readonly info: Gauge<"model" | "version" | "digest" | "variant">;
  /** Failed attempts at loading a version (first load and alias moves), by why they failed. */
  readonly loadFailures: Counter<"model" | "reason">;
}

export function createMetrics(): ServeMetrics {
  const registry = new Registry();
  // process_* and nodejs_* under their standard names (default-metrics.ts); the serving metrics carry mlops_.
  collectStandardMetrics(registry);
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: "mlops_requests_total",
      help: "HTTP responses by route (a fixed set; unknown paths and unparsable requests are \"other\"), HTTP status code, and the served model and version where one answered.",
      labelNames: ["model", "version", "route", "status", "variant"],
      registers,
    }),
    duration: new Histogram({
      name: "mlops_request_duration_seconds",
      help: "Inference request duration in seconds, from the request read to the response written.",
      labelNames: ["model", "version", "variant"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    batchSize: new Histogram({
      name: "mlops_batch_size",
      help: "Rows per onnxruntime session run (dynamic batching merges concurrent requests).",
      labelNames: ["model", "version", "variant"],
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
      labelNames: ["model", "version", "digest", "variant"],
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

/**
 * The exposition text, rendered at most once per `maxAgeMs`: scrapes in between get the text already made,
 * and scrapes that arrive while a render runs wait for that one. A flood of `/metrics` requests therefore
 * costs one render per interval plus a string write each, never a render each. Prometheus scrapes every
 * 10 s or more, so a text up to a second old changes nothing it computes.
 */
export class ExpositionCache {
  private text: string | undefined;
  private renderedAt = -Infinity;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly maxAgeMs: number,
  ) {}

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    const now = performance.now();
    if (this.text !== undefined && now - this.renderedAt < this.maxAgeMs) return Promise.resolve(this.text);
    this.pending ??= this.registry
      .metrics()
      .then((text) => {
        this.text = text;
        this.renderedAt = now;
        return text;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }
}
