/**
 * Data drift between a reference and a current table, with Evidently's tests and defaults:
 * {@link runDrift} (what `mlops drift` runs) and {@link buildProfile} (a reference profile, so drift
 * runs without the training data).
 */
export { runDrift, compareTables, type DriftOptions, type DriftResult } from "./run.js";
export { buildProfile, readProfile, profileTable, EXACT_VALUES, SKETCH_POINTS, type Profile, type ColumnArrays } from "./profile.js";
export { columnDrift, type ColumnData, type ColumnReport, type ColumnOutcome } from "./column.js";
export { TableReader, type Table } from "./table.js";
export { pushDriftMetrics, driftRegistry } from "./push.js";
export { writeAtomic, type DriftReport } from "./report.js";
export { METHODS, type Method } from "./select.js";
export { runModelDrift, type ModelDriftOptions, type ModelDriftResult } from "./model.js";
export { parseWindow, durationMs, type Window } from "./window.js";
export { startRetrain, parseCronJobRef, retrainJobName, jobFromCronJob, type CronJobRef, type KubeAccess, type RetrainJob } from "./retrain.js";
