import { HIGHER_IS_BETTER, type MetricName, type TrainSpec } from "../../src/spec/train.js";
import { computeMetrics } from "./evaluate.js";

/** The metric `mustBeat` compares when `compareOn` is not set. */
export function defaultCompareOn(task: TrainSpec["task"]): MetricName {
  return task === "classification" ? "auc" : "rmse";
}

export function higherIsBetter(metric: string): boolean {
  return (HIGHER_IS_BETTER as readonly string[]).includes(metric);
}

export interface GateInput {
  readonly task: TrainSpec["task"];
  readonly gate: TrainSpec["gate"];
  /** The candidate's metrics, scored by the runtime on the holdout. */
  readonly metrics: Readonly<Record<string, number>>;
  /** The `mustBeat` alias holder's metrics on the same holdout; undefined when the alias has no holder. */
  readonly baseline?: { readonly alias: string; readonly version: number; readonly metrics: Readonly<Record<string, number>> };
  /** A constant predictor's metrics on the same holdout ({@link constantMetrics}); checked when `gate.beatConstant`. */
  readonly constant?: Readonly<Record<string, number>>;
}

export interface GateDecision {
  readonly passed: boolean;
  /** Every reason the gate failed, one per check. */
  readonly failures: readonly string[];
}

/**
 * The evaluation gate: every `minimum` met (≥), every `maximum` met (≤), and, with `mustBeat` and a
 * holder, strictly better than the holder on `compareOn`. A metric the task does not compute fails its
 * check (a bound that can never be checked must not pass silently).
 */
export function checkGate(input: GateInput): GateDecision {
  const failures: string[] = [];
  const value = (metric: string) => input.metrics[metric];
  const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(4));
  for (const [metric, bound] of Object.entries(input.gate.minimum)) {
    if (bound === undefined) continue;
    const v = value(metric);
    if (v === undefined) failures.push(`gate.minimum.${metric}: ${input.task} models have no ${metric}`);
    else if (!(v >= bound)) failures.push(`${metric} ${fmt(v)} is below the minimum ${bound}`);
  }
  for (const [metric, bound] of Object.entries(input.gate.maximum)) {
    if (bound === undefined) continue;
    const v = value(metric);
    if (v === undefined) failures.push(`gate.maximum.${metric}: ${input.task} models have no ${metric}`);
    else if (!(v <= bound)) failures.push(`${metric} ${fmt(v)} is above the maximum ${bound}`);
  }
  if (input.gate.beatConstant !== false && input.constant) {
    const metric = input.gate.compareOn ?? defaultCompareOn(input.task);
    const mine = value(metric);
    const theirs = input.constant[metric];
    if (mine !== undefined && theirs !== undefined && !(higherIsBetter(metric) ? mine > theirs : mine < theirs)) {
      failures.push(`${metric} ${fmt(mine)} is no better than predicting the training mean (${fmt(theirs)}): the model learnt nothing from the features (set gate.beatConstant: false to accept it anyway)`);
    }
  }
  if (input.gate.mustBeat && input.baseline) {
    const metric = input.gate.compareOn ?? defaultCompareOn(input.task);
    const mine = value(metric);
    const theirs = input.baseline.metrics[metric];
    const ref = `${input.gate.mustBeat} (version ${input.baseline.version})`;
    if (mine === undefined || theirs === undefined) {
      failures.push(`gate.compareOn: ${input.task} models have no ${metric} to compare with ${ref}`);
    } else {
      const better = higherIsBetter(metric) ? mine > theirs : mine < theirs;
      if (!better) failures.push(`${metric} ${fmt(mine)} does not beat ${ref} at ${fmt(theirs)}`);
    }
  }
  return { passed: failures.length === 0, failures };
}

/**
 * The metrics of the model that ignores the features: it predicts the training labels' mean (the positive
 * rate for classification, whose AUC is 0.5) for every holdout row.
 */
export function constantMetrics(trainY: Float64Array, holdoutY: Float64Array, task: TrainSpec["task"]): Record<string, number> {
  let sum = 0;
  for (const v of trainY) sum += v;
  const mean = trainY.length > 0 ? sum / trainY.length : 0;
  return computeMetrics(holdoutY, new Float64Array(holdoutY.length).fill(mean), task);
}
