/**
 * A second thread for the numerical columns of large tables: while the main thread pulls the next
 * columns out of DuckDB, the worker tests the current ones (their value arrays move between the threads
 * without a copy). Small tables and profiles are tested on the main thread: there the thread's start-up
 * would cost more than it saves.
 */
import { availableParallelism } from "node:os";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { MlopsError } from "../../src/errors.js";
import type { ColumnData, ColumnOptions, ColumnOutcome, NumericalData } from "./column.js";
import type { ColumnQuality } from "./quality.js";

/** A numerical side as it crosses to the worker: the value array's buffer and how much of it is used. */
export interface WireColumn extends Omit<NumericalData, "kind" | "sample" | "exact"> {
  readonly values: ArrayBuffer;
  readonly length: number;
}

export interface ColumnJob {
  readonly id: number;
  readonly name: string;
  readonly ref: WireColumn;
  readonly cur: WireColumn;
  readonly options: ColumnOptions;
}

export type ColumnJobResult =
  | { id: number; ok: true; outcome: ColumnOutcome; quality: ColumnQuality; buffers: ArrayBuffer[] }
  | { id: number; ok: false; message: string; userError: boolean; stack?: string; buffers: ArrayBuffer[] };

/** Values (rows × numerical columns, both sides) from which a run is worth a second thread. */
export const WORKER_MIN_VALUES = 4_000_000;

export class ColumnPool {
  private readonly pending = new Map<number, { resolve: (r: ColumnJobResult) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failed: Error | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on("message", (r: ColumnJobResult) => {
      const p = this.pending.get(r.id);
      this.pending.delete(r.id);
      p?.resolve(r);
    });
    const fail = (err: Error) => {
      this.failed = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`the drift column worker exited with code ${code}`)));
  }

  /** A pool when the machine has a second core for it, else undefined (test on the main thread). */
  static open(): ColumnPool | undefined {
    if (availableParallelism() < 2) return undefined;
    return new ColumnPool(spawnWorker());
  }

  /** True when `d` can go to the worker: raw values from a table (not a profile's support). */
  static accepts(d: ColumnData): d is NumericalData & { sample: { values: Float64Array } } {
    return d.kind === "numeric" && d.sample.values !== undefined;
  }

  /**
   * Tests one column on the worker. The sides' value arrays are transferred (unusable here until the
   * result comes back); the result carries their buffers, for the caller to reuse.
   */
  run(name: string, ref: NumericalData, cur: NumericalData, options: ColumnOptions): Promise<{ outcome: ColumnOutcome; quality: ColumnQuality; buffers: ArrayBuffer[] }> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    const wire = (d: NumericalData): WireColumn => {
      const v = d.sample.values!;
      if (v.byteOffset !== 0) throw new Error("a column's values must start at the beginning of their buffer");
      return { physical: d.physical, duckType: d.duckType, rows: d.rows, missing: d.missing, values: v.buffer as ArrayBuffer, length: v.length };
    };
    const job: ColumnJob = { id, name, ref: wire(ref), cur: wire(cur), options };
    return new Promise((resolve, reject) => {
      this.pending.set(id, {
        resolve: (r) => {
          if (r.ok) resolve({ outcome: r.outcome, quality: r.quality, buffers: r.buffers });
          else reject(r.userError ? new MlopsError(r.message) : Object.assign(new Error(r.message), { stack: r.stack }));
        },
        reject,
      });
      this.worker.postMessage(job, job.ref.values === job.cur.values ? [job.ref.values] : [job.ref.values, job.cur.values]);
    });
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners("exit");
    await this.worker.terminate();
  }
}

/**
 * The worker module beside this one, with this module's extension: worker.js when compiled, worker.ts
 * in a checkout run through tsx, whose loader the worker registers first (loaders are per thread).
 */
function spawnWorker(): Worker {
  const here = fileURLToPath(import.meta.url);
  const url = new URL(`./worker${extname(here)}`, import.meta.url);
  if (extname(here) !== ".ts") return new Worker(url);
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(boot, { eval: true });
}
