import type { ModelTrainingSet } from "../registry/types.js";

/** Where a training run stands: `running` until it ends, then one of the three outcomes. */
export type RunStatus = "running" | "gate-failed" | "registered" | "failed";

/** One logged value of a metric: the step it was logged at, the value, and when (ms since the epoch). */
export interface MetricPoint {
  readonly step: number;
  readonly value: number;
  readonly timestamp: number;
}

/** One quality-gate check as the run evaluated it. */
export interface RunGateCheck {
  readonly metric: string;
  readonly op: string;
  readonly bound: number;
  /** The holdout value; `null` when the trainer did not report the metric. */
  readonly value: number | null;
  readonly passed: boolean;
}

/**
 * One `mlops train` run, stored at `models/<model>/runs/<runId>.json` in the model registry's store.
 * Written when the run starts (`running`) and again when it ends.
 */
export interface RunRecord {
  /** `run-<yyyymmddThhmmssZ>-<6 hex>`. */
  readonly runId: string;
  readonly model: string;
  readonly status: RunStatus;
  /** ISO 8601. */
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly durationSeconds?: number;
  readonly params: Record<string, string>;
  /** Metric name → its points in the order logged; the last point is the final value. */
  readonly metrics: Record<string, MetricPoint[]>;
  readonly gate?: { readonly passed: boolean; readonly checks: RunGateCheck[] };
  readonly datasetDigest?: string;
  readonly trainingSet?: ModelTrainingSet;
  readonly codeRevision?: string;
  readonly imageDigest?: string;
  /** The registered version (status `registered`). */
  readonly version?: number;
  /** Why the run failed (status `failed`), without secrets. */
  readonly error?: string;
}
