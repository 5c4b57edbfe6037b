/**
 * Payload logging for `mlops serve` (spec `logging`): a sampled record of each answered infer request,
 * written in batches to the object store, partitioned by hour. The record format and layout are
 * payload-record.ts's; this file is the bounded buffer between the requests and the store.
 *
 * What a request pays: one call of the random source (`sample()`), and for a sampled request, once it is
 * answered, its record encoded into the open batch (payload-capture.ts, payload-batch.ts). Nothing here
 * waits for the store, and nothing here can fail a request:
 * - records are held up to `maxBufferedRecords` and `maxBufferedBytes` (counting batches being written, and
 *   writes that timed out but have not settled: a store that hangs cannot grow memory past the bounds);
 *   a record that does not fit is dropped and counted (`reason="queue_full"`), as is one larger than
 *   `maxRecordBytes` (`too_large`);
 * - a batch is written when it holds `batchSize` records, when the partition hour turns, or
 *   `flushIntervalSeconds` after the last write, at most `MAX_CONCURRENT_WRITES` at once; a write that
 *   throws drops its records (`write_failed`: the S3 client has retried already), one that takes longer
 *   than `writeTimeoutSeconds` too (`write_timeout`; should it land later, its records exist although
 *   counted dropped: "dropped" means "not known to be written");
 * - `close()` (drain, shutdown) writes what is held, waiting at most `flushTimeoutSeconds`; what is still
 *   unwritten then is dropped (`shutdown`), as is any record offered after it.
 *
 * So at every moment `sampled = written + dropped + buffered`, and once closed `sampled = written + dropped`.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { Logger } from "../../src/log.js";
import type { EndpointSpec, PayloadLogging } from "../../src/spec/endpoint.js";
import { openStore, type ObjectStore } from "../../src/store/index.js";
import { Batch, ChunkPool } from "./payload-batch.js";
import { batchKey, hourOf, recordParts, type PayloadEvent } from "./payload-record.js";
import { seededRandom } from "../../src/random.js";

/** Why a record was not written: the `reason` label of `mlops_payload_records_dropped_total`. */
export const DROP_REASONS = ["queue_full", "too_large", "write_failed", "write_timeout", "shutdown"] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** Writes in flight at once: enough to hide one slow PUT behind another, few enough to stay polite. */
export const MAX_CONCURRENT_WRITES = 2;

/** At most one warning per this many ms about failed or dropped writes (the counters have every one). */
const WARN_EVERY_MS = 10_000;

export interface PayloadLogMetrics {
  readonly sampled: Counter;
  readonly written: Counter;
  readonly dropped: Counter<"reason">;
  readonly flushDuration: Histogram<"result">;
  readonly bufferedRecords: Gauge;
  readonly bufferedBytes: Gauge;
  /** What the log holds now, read by the two gauges at scrape time (so a record costs no gauge update). */
  readonly held: { records: number; bytes: number };
}

/** The payload log's metrics on `registry` (zero-valued for every drop reason from the start). */
export function payloadLogMetrics(registry: Registry): PayloadLogMetrics {
  const registers = [registry];
  const dropped = new Counter({
    name: "mlops_payload_records_dropped_total",
    help: "Payload log records not written, by reason: queue_full (buffer bounds reached), too_large (over maxRecordBytes), write_failed, write_timeout, shutdown (unwritten when the flush timeout ran out).",
    labelNames: ["reason"],
    registers,
  });
  for (const reason of DROP_REASONS) dropped.inc({ reason }, 0);
  const held = { records: 0, bytes: 0 };
  return {
    held,
    sampled: new Counter({
      name: "mlops_payload_records_sampled_total",
      help: "Payload log records made: answered infer requests the sampler picked. Each ends written or dropped.",
      registers,
    }),
    written: new Counter({ name: "mlops_payload_records_written_total", help: "Payload log records written to the object store.", registers }),
    dropped,
    flushDuration: new Histogram({
      name: "mlops_payload_flush_duration_seconds",
      help: "Seconds each payload log batch took to write to the object store, by result (ok, error, timeout).",
      labelNames: ["result"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    bufferedRecords: new Gauge({
      name: "mlops_payload_buffered_records",
      help: "Payload log records held in memory, waiting or being written.",
      registers,
      collect() {
        this.set(held.records);
      },
    }),
    bufferedBytes: new Gauge({
      name: "mlops_payload_buffered_bytes",
      help: "Bytes (UTF-8) of payload log records held in memory, waiting or being written.",
      registers,
      collect() {
        this.set(held.bytes);
      },
    }),
  };
}

export interface PayloadLogOptions {
  readonly store: ObjectStore;
  readonly settings: PayloadLogging;
  /** The endpoint's name (spec.name): in each record and its key. */
  readonly endpoint: string;
  readonly metrics: PayloadLogMetrics;
  readonly logger: Logger;
  /** Uniform in [0, 1): which requests are sampled (a seeded one in tests). @default Math.random */
  readonly random?: () => number;
  /** Milliseconds since the epoch: each record's time and partition (a fixed one in tests). @default Date.now */
  readonly now?: () => number;
}

export class PayloadLog {
  private readonly s: PayloadLogging;
  private readonly random: () => number;
  private readonly now: () => number;
  private open: Batch | undefined;
  private readonly queued: Batch[] = [];
  private readonly writing = new Set<Batch>();
  /** Records and bytes held: open + queued + writing + timed out but not settled. */
  private records = 0;
  private bytes = 0;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  private idleWaiters: (() => void)[] = [];
  private lastWarnAt = -Infinity;
  /** Bytes of the last full batch: the first chunk's size for the next. */
  private lastBatchBytes = 0;
  private readonly pool = new ChunkPool();
  private unwarned = 0;

  readonly logger: Logger;

  constructor(private readonly o: PayloadLogOptions) {
    this.s = o.settings;
    this.logger = o.logger;
    this.random = o.random ?? Math.random;
    this.now = o.now ?? Date.now;
    this.timer = setInterval(() => this.flush(), this.s.flushIntervalSeconds * 1000);
    this.timer.unref();
  }

  /** Whether to log this request; one call per infer request, before its body is read. */
  sample(): boolean {
    const rate = this.s.sampleRate;
    if (rate >= 1) return true;
    if (rate <= 0) return false;
    return this.random() < rate;
  }

  /** Takes one answered request's record, or drops and counts it; never throws, never waits. */
  offer(event: PayloadEvent): void {
    const m = this.o.metrics;
    m.sampled.inc();
    if (this.closed) return this.drop("shutdown", 1);
    if (this.records + 1 > this.s.maxBufferedRecords) return this.drop("queue_full", 1);
    const at = this.now();
    const parts = recordParts(event, at, this.o.endpoint, this.s.variant);
    // UTF-8 takes at least a byte per UTF-16 unit: what surely does not fit is refused before encoding.
    let least = 1;
    for (const p of parts) least += p.length;
    if (least > this.s.maxRecordBytes) return this.drop("too_large", 1);
    if (this.bytes + least > this.s.maxBufferedBytes) return this.drop("queue_full", 1);
    const hour = hourOf(at);
    if (this.open !== undefined && this.open.hour !== hour) this.seal();
    const batch = (this.open ??= new Batch(hour, batchKey(event.model, this.o.endpoint, this.s.variant, at), this.lastBatchBytes, this.pool));
    const size = batch.tryAdd(parts, Math.min(this.s.maxRecordBytes, this.s.maxBufferedBytes - this.bytes));
    if (size < 0) return this.drop(-size > this.s.maxRecordBytes ? "too_large" : "queue_full", 1);
    this.hold(1, size);
    if (batch.records >= this.s.batchSize) {
      this.seal();
      this.pump();
    }
  }

  /** Writes the open batch now (the interval timer calls it too). */
  flush(): void {
    this.seal();
    this.pump();
  }

  /** What is held now: records and bytes. */
  get buffered(): { readonly records: number; readonly bytes: number } {
    return { records: this.records, bytes: this.bytes };
  }

  /**
   * Writes what is held and stops taking records; resolves once all is written or, after
   * `flushTimeoutSeconds`, with what is left counted dropped (`shutdown`).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.flush();
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      this.idle().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), this.s.flushTimeoutSeconds * 1000))),
    ]);
    clearTimeout(timer);
    if (done) return;
    let left = 0;
    for (const b of [...this.queued.splice(0), ...this.writing]) {
      if (b.counted) continue;
      b.counted = true;
      left += b.records;
      if (!this.writing.has(b)) {
        this.hold(-b.records, -b.bytes);
        b.release();
      }
    }
    if (left > 0) {
      this.drop("shutdown", left);
      this.o.logger.warn("payload log: flush timeout reached at shutdown; unwritten records dropped", { records: left, flushTimeoutSeconds: this.s.flushTimeoutSeconds });
    }
  }

  private seal(): void {
    const b = this.open;
    if (b === undefined) return;
    this.open = undefined;
    if (b.records === 0) return b.release(); // its only record did not fit after all
    // A full batch says how large the next will be; a partial one (interval, hour turn) is no guide.
    if (b.records >= this.s.batchSize) this.lastBatchBytes = b.bytes;
    this.queued.push(b);
  }

  private pump(): void {
    while (this.writing.size < MAX_CONCURRENT_WRITES && this.queued.length > 0) this.write(this.queued.shift()!);
    if (this.writing.size === 0 && this.queued.length === 0 && this.open === undefined) {
      for (const f of this.idleWaiters.splice(0)) f();
    }
  }

  private idle(): Promise<void> {
    if (this.writing.size === 0 && this.queued.length === 0 && this.open === undefined) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private write(b: Batch): void {
    const m = this.o.metrics;
    this.writing.add(b);
    const started = performance.now();
    const body = b.body();
    let timer: NodeJS.Timeout | undefined;
    // The slot is freed when the write settles or times out, whichever is first; the memory only when it
    // settles (the store still holds the body until then).
    const free = () => {
      if (!this.writing.delete(b)) return;
      this.pump();
    };
    timer = setTimeout(() => {
      timer = undefined;
      m.flushDuration.observe({ result: "timeout" }, (performance.now() - started) / 1000);
      this.settle(b, "write_timeout", "timed out");
      free();
    }, this.s.writeTimeoutSeconds * 1000);
    let put: Promise<void>;
    try {
      put = this.o.store.put(b.key, body);
    } catch (e) {
      put = Promise.reject(e);
    }
    put.then(
      () => {
        if (timer !== undefined) m.flushDuration.observe({ result: "ok" }, (performance.now() - started) / 1000);
        this.settle(b, undefined, undefined);
      },
      (e: unknown) => {
        if (timer !== undefined) m.flushDuration.observe({ result: "error" }, (performance.now() - started) / 1000);
        this.settle(b, "write_failed", (e as Error)?.message ?? String(e));
      },
    ).finally(() => {
      clearTimeout(timer);
      // Settled: the body is gone from the store's hands, so its records and bytes no longer count, and
      // its chunks may be reused.
      this.hold(-b.records, -b.bytes);
      b.release();
      free();
    });
  }

  /** Counts a batch's records once: written (`reason` undefined) or dropped. */
  private settle(b: Batch, reason: DropReason | undefined, why: string | undefined): void {
    if (b.counted) return;
    b.counted = true;
    if (reason === undefined) {
      this.o.metrics.written.inc(b.records);
      return;
    }
    this.drop(reason, b.records);
    this.warn("payload log: a batch could not be written; its records are dropped", { reason, records: b.records, key: b.key, error: why });
  }

  private drop(reason: DropReason, n: number): void {
    this.o.metrics.dropped.inc({ reason }, n);
    if (reason === "queue_full" || reason === "too_large") this.warn("payload log: records dropped", { reason });
  }

  private hold(records: number, bytes: number): void {
    this.records += records;
    this.bytes += bytes;
    this.o.metrics.held.records = this.records;
    this.o.metrics.held.bytes = this.bytes;
  }

  /** Logs at most one warning per WARN_EVERY_MS, saying how many were held back since the last. */
  private warn(msg: string, fields: Record<string, unknown>): void {
    const t = performance.now();
    if (t - this.lastWarnAt < WARN_EVERY_MS) {
      this.unwarned++;
      return;
    }
    this.lastWarnAt = t;
    this.o.logger.warn(msg, { ...fields, ...(this.unwarned ? { similarSinceLastWarning: this.unwarned } : {}), see: "mlops_payload_records_dropped_total" });
    this.unwarned = 0;
  }
}

/** What tests and embedders may put in place of the real store, random source and clock. */
export interface PayloadLogDeps {
  /** @default openStore(spec.logging.uri) */
  readonly store?: ObjectStore;
  readonly random?: () => number;
  readonly now?: () => number;
}

/** The app's payload log when `spec.logging` is set (its metrics on `registry`); undefined when off. */
export function openPayloadLog(spec: EndpointSpec, registry: Registry, logger: Logger, deps: PayloadLogDeps = {}): PayloadLog | undefined {
  const settings = spec.logging;
  if (settings === undefined) return undefined;
  return new PayloadLog({
    store: deps.store ?? openStore(settings.uri),
    settings,
    endpoint: spec.name,
    metrics: payloadLogMetrics(registry),
    logger,
    ...(deps.random ? { random: deps.random } : {}),
    ...(deps.now ? { now: deps.now } : {}),
  });
}

/** A seeded uniform source in [0, 1): the same seed picks the same requests (tests, benchmarks). */
export { seededRandom };
