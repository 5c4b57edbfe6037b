/**
 * The column-testing thread (see pool.ts): receives a numerical column's two sides as raw value
 * arrays, runs the same {@link columnDrift} and {@link columnQuality} the main thread would, and
 * sends the results back with the arrays (transferred both ways, never copied).
 */
import { parentPort } from "node:worker_threads";
import { MlopsError } from "../../src/errors.js";
import { columnDrift, type ColumnData, type NumericalData } from "./column.js";
import { columnQuality } from "./quality.js";
import { sampleOf } from "./stats/sample.js";
import type { ColumnJob, ColumnJobResult, WireColumn } from "./pool.js";

function columnOf(w: WireColumn): NumericalData {
  const { values, length, ...rest } = w;
  return { ...rest, kind: "numeric", sample: sampleOf(new Float64Array(values, 0, length)), exact: true };
}

parentPort!.on("message", (job: ColumnJob) => {
  let result: ColumnJobResult;
  try {
    const ref: ColumnData = columnOf(job.ref);
    const cur: ColumnData = columnOf(job.cur);
    const outcome = columnDrift(job.name, ref, cur, job.options);
    result = { id: job.id, ok: true, outcome, quality: columnQuality(ref, cur), buffers: [job.ref.values, job.cur.values] };
  } catch (err) {
    const e = err as Error;
    result = { id: job.id, ok: false, message: e.message, userError: err instanceof MlopsError, stack: e.stack, buffers: [job.ref.values, job.cur.values] };
  }
  parentPort!.postMessage(result, result.buffers);
});
