import type { LoadedModel, RunFeeds, RunOutputs } from "./model.js";
import type { TensorData, TypedArray } from "./tensor.js";

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

/** How a caller gets its rows back: `err` is set, or `out` holds exactly its rows of every output. */
export type RunDone = (err: unknown, out?: RunOutputs) => void;

interface Pending {
  readonly feeds: RunFeeds;
  readonly rows: number;
  /** Called once; `settled` guards against a second call after a bug. */
  readonly done: RunDone;
  settled: boolean;
}

/**
 * Dynamic batching for one model version: concurrent requests are stacked along dimension 0 into one
 * `session.run` and the outputs split back, each caller getting exactly its own rows.
 *
 * Greedy: when no run is pending a request goes out on the next turn of the event loop, together with
 * whatever arrived in the same turn, so a lone request waits for nothing. While a run is pending,
 * requests queue; as soon as it returns, everything queued goes out as the next run (onnxruntime-node
 * runs on this thread, so nothing could run sooner). A queue reaching `maxBatchSize` rows goes out at
 * once, and `maxBatchDelayMs` bounds the wait should a run take long.
 *
 * Callbacks rather than promises: a batched request costs no promise or microtask of its own.
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
  submit(feeds: RunFeeds, rows: number, done: RunDone): void {
    const p: Pending = { feeds, rows, done, settled: false };
    const max = this.opts.maxBatchSize;
    if (max <= 1 || !this.model.batchable || rows >= max) {
      this.runAlone(p);
      return;
    }
    if (this.queuedRows + rows > max) this.flush();
    this.queue.push(p);
    this.queuedRows += rows;
    this.hooks.onQueue(this.queue.length);
    if (this.queuedRows >= max) this.flush();
    else this.schedule();
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
    this.hooks.onRun(rows);
    let feeds: RunFeeds;
    try {
      feeds = batch.length === 1 ? first.feeds : concat(batch, rows);
    } catch (e) {
      // Only a bug (or no memory for the batch) gets here; submit's caller must not see it thrown.
      for (const p of batch) settle(p, e);
      this.ranOne();
      return;
    }
    this.model.run(feeds).then(
      (out) => this.ranBatch(batch, rows, out),
      (err: unknown) => {
        if (batch.length === 1) settle(first, err);
        // One bad request must not fail its neighbours: run each alone so only the culprit gets the error.
        else for (const p of batch) this.runAlone(p);
        this.ranOne();
      },
    );
    if (this.queue.length > 0) this.schedule();
  }

  private ranBatch(batch: Pending[], rows: number, out: RunOutputs): void {
    try {
      if (batch.length === 1) settle(batch[0]!, undefined, out);
      else if (keepsRows(out, rows)) split(batch, out, rows);
      else {
        // The graph does not keep rows independent (e.g. it reduces over dimension 0): stop batching it.
        this.model.batchable = false;
        for (const p of batch) this.runAlone(p);
      }
    } catch (e) {
      // Only a bug gets here; callers already answered keep their answer (settle ignores them).
      for (const p of batch) settle(p, e);
    }
    this.ranOne();
  }

  /** A run ended: whatever queued meanwhile goes out now. */
  private ranOne(): void {
    this.pending--;
    if (this.queue.length > 0) this.flush();
  }

  private runAlone(p: Pending): void {
    this.hooks.onRun(p.rows);
    this.model.run(p.feeds).then(
      (out) => settle(p, undefined, out),
      (err: unknown) => settle(p, err),
    );
  }
}

function settle(p: Pending, err: unknown, out?: RunOutputs): void {
  if (p.settled) return;
  p.settled = true;
  p.done(err, out);
}

function keepsRows(out: RunOutputs, rows: number): boolean {
  for (const name in out) if (out[name]!.dims[0] !== rows) return false;
  return true;
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
  const feeds: Record<string, { data: TensorData; shape: number[] }> = {};
  const head = batch[0]!.feeds;
  for (const name in head) {
    const f = head[name]!;
    let data: TensorData;
    if (Array.isArray(f.data)) {
      // BYTES: strings, stacked as a plain array.
      data = ([] as string[]).concat(...batch.map((p) => p.feeds[name]!.data as string[]));
    } else {
      let length = 0;
      for (const p of batch) length += p.feeds[name]!.data.length;
      const typed = new (f.data.constructor as new (n: number) => TypedArray)(length);
      let at = 0;
      for (const p of batch) {
        const part = p.feeds[name]!.data;
        (typed as Float32Array).set(part as Float32Array, at);
        at += part.length;
      }
      data = typed;
    }
    feeds[name] = { data, shape: [rows, ...f.shape.slice(1)] };
  }
  return feeds;
}

/** Hands each caller views (no copies; for BYTES, slices) of its own rows of every output. */
function split(batch: Pending[], out: RunOutputs, rows: number): void {
  let row = 0;
  for (const p of batch) {
    const mine: Record<string, { data: TensorData; dims: number[] }> = {};
    for (const name in out) {
      const t = out[name]!;
      const data = t.data;
      const perRow = data.length / rows;
      const from = row * perRow;
      const to = (row + p.rows) * perRow;
      mine[name] = {
        data: Array.isArray(data) ? data.slice(from, to) : (data.subarray(from, to) as TypedArray),
        dims: [p.rows, ...t.dims.slice(1)],
      };
    }
    row += p.rows;
    settle(p, undefined, mine);
  }
}
