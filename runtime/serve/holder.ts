import type { ModelVersion } from "../../src/registry/types.js";
import { formatModelRef, parseModelRef, type ModelRef } from "../../src/spec/model-ref.js";
import type { Logger } from "../../src/log.js";
import { Batcher, type BatchOptions } from "./batcher.js";
import type { BoundFeatures, FeatureInput } from "./feature-input/index.js";
import type { ServeMetrics } from "./metrics.js";
import { LoadedModel } from "./model.js";
import {
  ArtifactRejected,
  classifyLoadError,
  LOAD_FAILURE_HINTS,
  LOAD_FAILURE_REASONS,
  normalizeRetry,
  retryDelayMs,
  type LoadFailureReason,
  type RetryOptions,
} from "./load-retry.js";
import { modelMetadata } from "./protocol.js";

/** What the server needs from the registry: the subset of `Registry` it calls. */
export interface ModelSource {
  resolve(ref: string | ModelRef): Promise<ModelVersion>;
  readArtifact(mv: ModelVersion): Promise<Buffer>;
}

/**
 * The version being served and everything one request needs from it, swapped as one object so a request
 * never sees a half-switched model.
 */
export interface ServingVersion {
  readonly model: LoadedModel;
  readonly batcher: Batcher;
  /** Model metadata JSON, written once per load. */
  readonly metadata: string;
  /** Metric children for this version, bound once so the hot path does no label hashing. */
  readonly observeDuration: (seconds: number) => void;
  readonly countStatus: (status: number) => void;
  /** Serving by entity id, bound to this version (spec `features`); undefined when the endpoint has none. */
  readonly features?: BoundFeatures;
}

/** Options shared by `ModelHolder.open` and `ModelHolder.start`. */
export interface HolderOptions {
  readonly source: ModelSource;
  readonly ref: string;
  readonly batching: BatchOptions;
  readonly metrics: ServeMetrics;
  readonly logger: Logger;
  readonly pollIntervalSeconds: number;
  /** Back-off between failed first-load attempts (`start` only). @default DEFAULT_LOAD_RETRY */
  readonly retry?: RetryOptions;
  /** Serving by entity id: each version is checked against it as it loads, and not served if it does not fit. @default - none */
  readonly featureInput?: FeatureInput;
  /** The `variant` label of this holder's metrics (variants/: a canary or shadow has a holder of its own). @default "stable" */
  readonly variant?: "stable" | "canary" | "shadow";
}

/**
 * Holds the model being served. A pinned reference (`name:version`) loads once; an alias (`name@alias`)
 * is re-resolved every `pollIntervalSeconds`, and when it points elsewhere the new version is loaded in
 * the background and swapped in with one assignment. Requests already holding the old one finish on it;
 * its session is freed when the last of them is done.
 *
 * Until the first version is loaded `serving` is undefined; `start` retries the first load with capped
 * exponential back-off, counting and logging each failure, and `notLoadedReason()` says why for the 503s.
 */
export class ModelHolder {
  private current: ServingVersion | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  readonly ref: ModelRef;
  /** Resolves once the first version is loaded; rejects if the holder is closed before that. */
  readonly loaded: Promise<void>;
  private markLoaded!: () => void;
  private markAbandoned!: (e: Error) => void;
  private readonly retry: Required<RetryOptions>;
  /** First-load attempts that failed, in a row. */
  private failures = 0;
  private attempting = false;
  /** `resolving`: the failure came from looking the reference up, before any artifact was read. */
  private lastFailure: { reason: LoadFailureReason; message: string; resolving: boolean } | undefined;
  private nextTryAt = 0;

  private readonly source: ModelSource;
  private readonly batching: BatchOptions;
  private readonly metrics: ServeMetrics;
  private readonly logger: Logger;
  private readonly pollSeconds: number;
  private readonly featureInput: FeatureInput | undefined;
  readonly variant: "stable" | "canary" | "shadow";

  private constructor(opts: HolderOptions) {
    this.featureInput = opts.featureInput;
    this.variant = opts.variant ?? "stable";
    this.source = opts.source;
    this.batching = opts.batching;
    this.metrics = opts.metrics;
    this.logger = opts.logger;
    this.pollSeconds = opts.pollIntervalSeconds;
    this.ref = parseModelRef(opts.ref);
    this.retry = normalizeRetry(opts.retry);
    this.loaded = new Promise<void>((resolve, reject) => {
      this.markLoaded = resolve;
      this.markAbandoned = reject;
    });
    // Callers that never wait for the load must not see an unhandled rejection when they close early.
    this.loaded.catch(() => {});
    // Zero-valued series from the start, so `increase()` sees the first failure.
    for (const reason of LOAD_FAILURE_REASONS) this.metrics.loadFailures.inc({ model: this.ref.name, reason }, 0);
  }

  /** Loads the first version once and resolves with it in place; rejects with the load's error. */
  static async open(opts: HolderOptions): Promise<ModelHolder> {
    const h = new ModelHolder(opts);
    try {
      h.install(await h.loadRef());
    } catch (e) {
      h.countFailure(e);
      h.close();
      throw e;
    }
    h.markLoaded();
    if (h.ref.alias !== undefined) h.schedulePoll();
    return h;
  }

  /** Returns at once; loads the first version in the background, retrying until it loads or `close()`. */
  static start(opts: HolderOptions): ModelHolder {
    const h = new ModelHolder(opts);
    void h.attemptFirstLoad();
    return h;
  }

  /** The version being served; undefined until the first version is loaded. */
  get serving(): ServingVersion | undefined {
    return this.current;
  }

  /** Served model name. */
  get name(): string {
    return this.ref.name;
  }

  /**
   * True while no version is loaded because the registry answered that the reference does not exist (no such
   * model, version or alias): a fresh stage whose first model has not been registered or promoted yet. Not
   * for a registry that cannot be read (access, network) nor for an artifact that is missing or corrupt.
   */
  get awaitingFirstModel(): boolean {
    return this.current === undefined && !this.closed && this.lastFailure?.reason === "not_found" && this.lastFailure.resolving;
  }

  /** Why no version is loaded yet and when the next attempt is, for 503 answers. */
  notLoadedReason(now = Date.now()): { message: string; retryAfterSeconds: number } {
    const ref = formatModelRef(this.ref);
    const retryAfterSeconds = Math.max(1, Math.ceil((this.nextTryAt - now) / 1000));
    if (!this.lastFailure) return { message: `model ${ref} is not loaded yet: the first load is in progress`, retryAfterSeconds };
    const { reason, message } = this.lastFailure;
    const next = this.attempting ? `attempt ${this.failures + 1} is in progress` : `next attempt in ${(Math.max(0, this.nextTryAt - now) / 1000).toFixed(1)} s`;
    return {
      message: `model ${ref} is not loaded yet: attempt ${this.failures} failed (${reason}: ${message}); ${LOAD_FAILURE_HINTS[reason]}, ${next}`,
      retryAfterSeconds,
    };
  }

  /**
   * The same, for clients that may not see the registry: a reason code (`loading` while the first attempt
   * runs) and when to retry; no model reference, registry URI or registry message.
   */
  notLoadedCode(now = Date.now()): { reason: LoadFailureReason | "loading"; retryAfterSeconds: number } {
    const retryAfterSeconds = Math.max(1, Math.ceil((this.nextTryAt - now) / 1000));
    return { reason: this.lastFailure?.reason ?? "loading", retryAfterSeconds };
  }

  private async attemptFirstLoad(): Promise<void> {
    if (this.closed) return;
    this.attempting = true;
    let resolving = true;
    try {
      const mv = await this.source.resolve(this.ref);
      resolving = false;
      const next = await this.load(mv);
      if (this.closed) {
        next.model.retire();
        return;
      }
      this.install(next);
      this.markLoaded();
      if (this.ref.alias !== undefined) this.schedulePoll();
    } catch (e) {
      if (this.closed) return;
      const reason = this.countFailure(e);
      this.failures++;
      const delayMs = retryDelayMs(this.failures, this.retry);
      this.nextTryAt = Date.now() + delayMs;
      this.lastFailure = { reason, message: (e as Error).message, resolving };
      this.logger.warn("model not loaded; will retry", {
        ref: formatModelRef(this.ref),
        attempt: this.failures,
        reason,
        error: (e as Error).message,
        hint: LOAD_FAILURE_HINTS[reason],
        retryInSeconds: delayMs / 1000,
      });
      this.timer = setTimeout(() => void this.attemptFirstLoad(), delayMs);
      this.timer.unref();
    } finally {
      this.attempting = false;
    }
  }

  private countFailure(e: unknown): LoadFailureReason {
    const reason = classifyLoadError(e);
    this.metrics.loadFailures.inc({ model: this.ref.name, reason });
    return reason;
  }

  private async loadRef(): Promise<ServingVersion> {
    return this.load(await this.source.resolve(this.ref));
  }

  private async load(mv: ModelVersion): Promise<ServingVersion> {
    const endLoadTimer = this.metrics.loadDuration.startTimer({ model: mv.name });
    const bytes = await this.source.readArtifact(mv);
    const model = await LoadedModel.load(mv, bytes).catch((e: unknown) => {
      throw new ArtifactRejected(`onnxruntime cannot load ${mv.name}:${mv.version} (${mv.digest}): ${(e as Error).message}`, { cause: e });
    });
    let features: BoundFeatures | undefined;
    try {
      features = this.featureInput?.bind(model);
    } catch (e) {
      model.retire();
      throw e;
    }
    const labels = { model: mv.name, version: model.versionString, variant: this.variant };
    // Set only for a version that loaded: a failed load is counted in loadFailures instead.
    const seconds = endLoadTimer({ version: model.versionString });
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
      metadata: modelMetadata(model, features?.parameters),
      observeDuration: (s) => duration.observe(s),
      countStatus: (status) => {
        let c = statusCounters.get(status);
        if (!c) statusCounters.set(status, (c = m.requests.labels({ ...labels, route: "infer", status: String(status) })));
        c.inc();
      },
      ...(features ? { features } : {}),
    };
  }

  private install(next: ServingVersion): void {
    const prev = this.current;
    this.current = next;
    const mv = next.model.mv;
    this.metrics.info.set({ model: mv.name, version: next.model.versionString, digest: mv.digest, variant: this.variant }, 1);
    if (prev) {
      const old = prev.model.mv;
      if (old.version !== mv.version || old.digest !== mv.digest) this.metrics.info.remove({ model: old.name, version: prev.model.versionString, digest: old.digest, variant: this.variant });
      prev.model.retire();
    }
  }

  private schedulePoll(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.poll(), this.pollSeconds * 1000);
    this.timer.unref();
  }

  /** Re-resolves the alias once; loads and swaps in a moved one. Failures keep the current model. */
  private async poll(): Promise<void> {
    try {
      const mv = await this.source.resolve(this.ref);
      const cur = this.current!.model.mv;
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
        version: this.current!.model.mv.version,
        reason: this.closed ? "error" : this.countFailure(e),
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
    const cur = this.current?.model;
    if (cur && this.variant !== "stable") this.metrics.info.remove({ model: cur.mv.name, version: cur.versionString, digest: cur.mv.digest, variant: this.variant });
    cur?.retire();
    this.markAbandoned(new Error(`closed before model ${formatModelRef(this.ref)} was loaded`));
  }
}
