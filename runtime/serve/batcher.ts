import type { LoadedModel, RunFeeds, RunOutputs } from "./model.js";
import type { TypedArray } from "./tensor.js";

/** Batching settings (from `EndpointSpec.batching`). */
export interface BatchOptions {
  /** Most rows merged into one run; 1 turns batching off. @default 32 (ENDPOINT_DEFAULTS) */
  readonly maxBatchSize: number;
  /** Longest a request waits for others while a run is already pending. @default 2 (ENDPOINT_DEFAULTS) */
  readonly maxBatchDelayMs: number;
}

export interface BatchHooks {
  /** Called with the rows of each onnxruntime run. */
  onRun(rows: number): void;
  /** Called with the number of requests waiting whenever it changes. */
  onQueue(depth: number): void;
}

interface Pending {
  readonly feeds: RunFeeds;
  readonly rows: number;
  readonly resolve: (out: RunOutputs) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Dynamic batching for one model version: concurrent requests are stacked along dimension 0 into one
 * `session.run` and the outputs split back, each caller getting exactly its own rows.
 *
 * When no run is pending a request goes out on the next turn of the event loop (together with whatever
 * arrived in the same turn), so a lone request waits for nothing. While a run is pending, requests queue
 * until it ends, the queue reaches `maxBatchSize` rows, or `maxBatchDelayMs` passes — whichever is first.
 */
export class Batcher {
  private queue: Pending[] = [];
  private queuedRows = 0;
  private pending = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private readonly flushNow = () => {
    this.timer = undefined;
    this.immediate = undefined;
    this.flush();
  };

  constructor(
    readonly model: LoadedModel,
    private readonly opts: BatchOptions,
    private readonly hooks: BatchHooks,
  ) {}

  /** Runs `feeds` (`rows` rows along dimension 0), batched with others when the model allows it. */
  submit(feeds: RunFeeds, rows: number): Promise<RunOutputs> {
    const max = this.opts.maxBatchSize;
    if (max <= 1 || !this.model.batchable || rows >= max) return this.runAlone(feeds, rows);
    return new Promise<RunOutputs>((resolve, reject) => {
      if (this.queuedRows + rows > max) this.flush();
      this.queue.push({ feeds, rows, resolve, reject });
      this.queuedRows += rows;
      this.hooks.onQueue(this.queue.length);
      if (this.queuedRows >= max) this.flush();
      else this.schedule();
    });
  }

  private schedule(): void {
    if (this.queue.length === 0 || this.timer || this.immediate) return;
    if (this.pending === 0 || this.opts.maxBatchDelayMs <= 0) this.immediate = setImmediate(this.flushNow);
    else this.timer = setTimeout(this.flushNow, this.opts.maxBatchDelayMs);
  }

  private cancelSchedule(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  /** Sends out one batch from the head of the queue: requests whose non-batch dimensions agree. */
  private flush(): void {
    this.cancelSchedule();
    if (this.queue.length === 0) return;
    const first = this.queue[0]!;
    let batch: Pending[];
    if (this.queue.length === 1) {
      batch = this.queue;
      this.queue = [];
    } else {
      batch = [first];
      const rest: Pending[] = [];
      for (let i = 1; i < this.queue.length; i++) {
        const p = this.queue[i]!;
        (sameTrailingDims(first.feeds, p.feeds) ? batch : rest).push(p);
      }
      this.queue = rest;
    }
    let rows = 0;
    for (const p of batch) rows += p.rows;
    this.queuedRows -= rows;
    this.hooks.onQueue(this.queue.length);
    this.pending++;
    void this.runBatch(batch, rows)
      // Settling twice is a no-op, so this only reaches callers a bug left hanging.
      .catch((e: unknown) => batch.forEach((p) => p.reject(e)))
      .finally(() => {
        this.pending--;
        if (this.queue.length > 0) this.flush();
      });
    if (this.queue.length > 0) this.schedule();
  }

  private async runBatch(batch: Pending[], rows: number): Promise<void> {
    if (batch.length === 1) {
      const p = batch[0]!;
      this.hooks.onRun(rows);
      await this.model.run(p.feeds).then(p.resolve, p.reject);
      return;
    }
    let out: RunOutputs;
    try {
      this.hooks.onRun(rows);
      out = await this.model.run(concat(batch, rows));
    } catch {
      // One bad request must not fail its neighbours: run each alone so only the culprit gets the error.
      await Promise.all(batch.map((p) => this.runAlone(p.feeds, p.rows).then(p.resolve, p.reject)));
      return;
    }
    for (const t of Object.values(out)) {
      if (t.dims[0] !== rows) {
        // The graph does not keep rows independent (e.g. it reduces over dimension 0): stop batching it.
        this.model.batchable = false;
        await Promise.all(batch.map((p) => this.runAlone(p.feeds, p.rows).then(p.resolve, p.reject)));
        return;
      }
    }
    split(batch, out, rows);
  }

  private runAlone(feeds: RunFeeds, rows: number): Promise<RunOutputs> {
    this.hooks.onRun(rows);
    return this.model.run(feeds);
  }
}

function sameTrailingDims(a: RunFeeds, b: RunFeeds): boolean {
  for (const name in a) {
    const sa = a[name]!.shape;
    const sb = b[name]!.shape;
    for (let i = 1; i < sa.length; i++) if (sa[i] !== sb[i]) return false;
  }
  return true;
}

function concat(batch: Pending[], rows: number): RunFeeds {
  const feeds: Record<string, { data: TypedArray; shape: number[] }> = {};
  const head = batch[0]!.feeds;
  for (const name in head) {
    const f = head[name]!;
    let length = 0;
    for (const p of batch) length += p.feeds[name]!.data.length;
    const data = new (f.data.constructor as new (n: number) => TypedArray)(length);
    let at = 0;
    for (const p of batch) {
      const part = p.feeds[name]!.data;
      (data as Float32Array).set(part as Float32Array, at);
      at += part.length;
    }
    feeds[name] = { data, shape: [rows, ...f.shape.slice(1)] };
  }
  return feeds;
}

/** Hands each caller views (no copies) of its own rows of every output. */
function split(batch: Pending[], out: RunOutputs, rows: number): void {
  let row = 0;
  for (const p of batch) {
    const mine: Record<string, { data: TypedArray; dims: number[] }> = {};
    for (const name in out) {
      const t = out[name]!;
      const data = t.data as TypedArray;
      const perRow = data.length / rows;
      mine[name] = {
        data: data.subarray(row * perRow, (row + p.rows) * perRow) as TypedArray,
        dims: [p.rows, ...t.dims.slice(1)],
      };
    }
    row += p.rows;
    p.resolve(mine);
  }
}
