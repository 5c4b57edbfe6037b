import type { ModelVersion } from "../../src/registry/types.js";
import { formatModelRef, parseModelRef, type ModelRef } from "../../src/spec/model-ref.js";
import type { Logger } from "../../src/log.js";
import { Batcher, type BatchOptions } from "./batcher.js";
import type { ServeMetrics } from "./metrics.js";
import { LoadedModel } from "./model.js";
import { modelMetadata } from "./protocol.js";

/** What the server needs from the registry: the subset of `Registry` it calls. */
export interface ModelSource {
  resolve(ref: string | ModelRef): Promise<ModelVersion>;
  readArtifact(mv: ModelVersion): Promise<Buffer>;
}

/** Everything one request needs, swapped as one object so a request never sees a half-switched model. */
export interface Active {
  readonly model: LoadedModel;
  readonly batcher: Batcher;
  /** Model metadata JSON, written once per load. */
  readonly metadata: string;
  /** Metric children for this version, bound once so the hot path does no label hashing. */
  readonly observeDuration: (seconds: number) => void;
  readonly countStatus: (status: number) => void;
}

/**
 * Holds the model being served. A pinned reference (`name:version`) loads once; an alias (`name@alias`)
 * is re-resolved every `pollIntervalSeconds`, and when it points elsewhere the new version is loaded in
 * the background and swapped in with one assignment. Requests already holding the old one finish on it;
 * its session is freed when the last of them is done.
 */
export class ModelHolder {
  private current!: Active;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  readonly ref: ModelRef;

  private constructor(
    private readonly source: ModelSource,
    refString: string,
    private readonly batching: BatchOptions,
    private readonly metrics: ServeMetrics,
    private readonly logger: Logger,
    private readonly pollSeconds: number,
  ) {
    this.ref = parseModelRef(refString);
  }

  static async open(opts: {
    source: ModelSource;
    ref: string;
    batching: BatchOptions;
    metrics: ServeMetrics;
    logger: Logger;
    pollIntervalSeconds: number;
  }): Promise<ModelHolder> {
    const h = new ModelHolder(opts.source, opts.ref, opts.batching, opts.metrics, opts.logger, opts.pollIntervalSeconds);
    const mv = await h.source.resolve(h.ref);
    h.install(await h.load(mv));
    if (h.ref.alias !== undefined) h.schedulePoll();
    return h;
  }

  get active(): Active {
    return this.current;
  }

  /** Served model name. */
  get name(): string {
    return this.ref.name;
  }

  private async load(mv: ModelVersion): Promise<Active> {
    const started = performance.now();
    const bytes = await this.source.readArtifact(mv);
    const model = await LoadedModel.load(mv, bytes);
    const seconds = (performance.now() - started) / 1000;
    const labels = { model: mv.name, version: model.versionString };
    this.metrics.loadDuration.set(labels, seconds);
    this.logger.info("model loaded", {
      model: mv.name,
      version: mv.version,
      digest: mv.digest,
      seconds: Math.round(seconds * 1000) / 1000,
      batchable: model.batchable,
      inputs: model.inputs,
      outputs: model.outputs,
    });
    const m = this.metrics;
    const duration = m.duration.labels(labels);
    const statusCounters = new Map<number, { inc(): void }>();
    const batchSize = m.batchSize.labels(labels);
    return {
      model,
      batcher: new Batcher(model, this.batching, {
        onRun: (rows) => batchSize.observe(rows),
        onQueue: (depth) => m.queueDepth.set(depth),
      }),
      metadata: modelMetadata(model),
      observeDuration: (s) => duration.observe(s),
      countStatus: (status) => {
        let c = statusCounters.get(status);
        if (!c) statusCounters.set(status, (c = m.requests.labels({ ...labels, status: String(status) })));
        c.inc();
      },
    };
  }

  private install(next: Active): void {
    const prev = this.current as Active | undefined;
    this.current = next;
    const mv = next.model.mv;
    this.metrics.info.set({ model: mv.name, version: next.model.versionString, digest: mv.digest }, 1);
    if (prev) {
      const old = prev.model.mv;
      this.metrics.info.remove({ model: old.name, version: prev.model.versionString, digest: old.digest });
      prev.model.retire();
    }
  }

  private schedulePoll(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.poll(), this.pollSeconds * 1000);
    this.timer.unref();
  }

  /** Re-resolves the alias once; loads and swaps in a moved one. Failures keep the current model. */
  async poll(): Promise<void> {
    try {
      const mv = await this.source.resolve(this.ref);
      const cur = this.current.model.mv;
      if (!this.closed && (mv.version !== cur.version || mv.digest !== cur.digest)) {
        const next = await this.load(mv);
        if (this.closed) {
          next.model.retire();
          return;
        }
        this.install(next);
        this.logger.info("alias moved; now serving the new version", {
          ref: formatModelRef(this.ref),
          from: cur.version,
          to: mv.version,
          digest: mv.digest,
        });
      }
    } catch (e) {
      this.logger.warn("could not follow the alias; still serving the loaded version", {
        ref: formatModelRef(this.ref),
        version: this.current.model.mv.version,
        error: (e as Error).message,
      });
    } finally {
      this.schedulePoll();
    }
  }

  /** Stops following; frees the session once in-flight requests are done. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.current.model.retire();
  }
}
