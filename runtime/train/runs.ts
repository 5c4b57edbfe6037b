/**
 * The run record of one `mlops train` run (src/runs, contract 3): written when the run starts (status
 * `running`) and when it ends (`registered`, `gate-failed` or `failed`, a SIGTERM included), with its
 * params, metrics with steps (progress reports, the trainer's JSON-lines metrics file, its MLflow
 * calls, the holdout scores), dataset digest, code revision, image digest and duration. Pushes the
 * gate verdict and holdout metrics to a Pushgateway when one is named.
 */
import { join } from "node:path";
import { isSecretField, show } from "../../src/errors.js";
import type { Logger } from "../../src/log.js";
import type { Registry } from "../../src/registry/index.js";
import { writeRun } from "../../src/runs/store.js";
import type { MetricPoint, RunGateCheck, RunRecord, RunStatus } from "../../src/runs/types.js";
import { JOB_ENV } from "../../src/spec/env.js";
import type { TrainSpec } from "../../src/spec/train.js";
import type { Dataset } from "./dataset.js";
import { constantMetrics, defaultCompareOn, higherIsBetter } from "./gate.js";
import type { TrainResult } from "./job.js";
import { METRICS_FILE_ENV, parseMetricsLines, readFrom } from "./metrics-file.js";
import { RECORD_LIMITS } from "./mlflow/limits.js";
import { codeRevisionOf } from "./revision.js";
import { startTrackingServer, type TrackingServer } from "./mlflow/server.js";
import type { Progress } from "./progress.js";
import { PUSHGATEWAY_ENV, checkPushgatewayUrl, pushTrainMetrics } from "./push.js";

export { METRICS_FILE_ENV, parseMetricsLines, readMetricsFile } from "./metrics-file.js";

export const MLFLOW_TRACKING_URI_ENV = "MLFLOW_TRACKING_URI";
/** Bad lines of a metrics file named one by one in the log; past this many, counted. */
const MAX_REPORTED_LINES = 20;
/** How often a running run's record is rewritten with what was logged so far. */
export const FLUSH_SECONDS = 5;

export interface StartRunOptions {
  readonly spec: TrainSpec;
  readonly runId: string;
  readonly registry: Registry;
  /** The trainer's working directory (for the code revision). */
  readonly cwd: string;
  /** The run's scratch folder: the metrics file and the MLflow artifact root live there. */
  readonly work: string;
  readonly log: Logger;
  /** A non-zero rank of a multi-pod run records nothing: rank 0 owns the run record. */
  readonly worker?: { readonly rank: number };
  /** Pushgateway base URL. @default $MLOPS_PUSHGATEWAY, else no push */
  readonly pushgateway?: string;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** Builds and writes one run's record. Every method is a no-op on a non-zero rank. */
export class RunTracker {
  private readonly metrics: Record<string, MetricPoint[]> = {};
  /** The `step:value` pairs of each metric already recorded (a point from two channels is kept once). */
  private readonly seen = new Map<string, Set<string>>();
  private points = 0;
  /** What was dropped past RECORD_LIMITS (logged once, when it first happens). */
  private dropped = 0;
  private readonly specParamCount: number;
  private readonly params: Record<string, string>;
  private readonly startedMs = Date.now();
  private readonly active: boolean;
  private readonly pushgateway?: { url: string; field: string };
  private record: RunRecord;
  private data?: Dataset;
  private server?: TrackingServer;
  private serverStart?: Promise<TrackingServer>;
  private done = false;
  /** Bytes of the metrics file read so far, and the line number they end at. */
  private fileOffset = 0;
  private fileLine = 0;
  private dirty = false;
  private timer?: NodeJS.Timeout;
  /** Record writes, one after the other: a periodic rewrite never lands after the final one. */
  private writes: Promise<void> = Promise.resolve();

  private constructor(private readonly opts: StartRunOptions) {
    const env = opts.env ?? process.env;
    this.active = !opts.worker || opts.worker.rank === 0;
    this.params = specParams(opts.spec);
    this.specParamCount = Object.keys(this.params).length;
    if (opts.pushgateway) this.pushgateway = { url: checkPushgatewayUrl(opts.pushgateway, "--pushgateway"), field: "--pushgateway" };
    else if (env[PUSHGATEWAY_ENV]) this.pushgateway = { url: checkPushgatewayUrl(env[PUSHGATEWAY_ENV]!, PUSHGATEWAY_ENV), field: PUSHGATEWAY_ENV };
    const imageDigest = opts.spec.lineage.imageDigest ?? env[JOB_ENV.imageDigest];
    this.record = {
      runId: opts.runId,
      model: opts.spec.model,
      status: "running",
      startedAt: new Date(this.startedMs).toISOString(),
      params: this.params,
      metrics: this.metrics,
      ...(opts.spec.lineage.codeRevision ? { codeRevision: opts.spec.lineage.codeRevision } : {}),
      ...(imageDigest ? { imageDigest } : {}),
    };
  }

  /** The code revision the record holds (from the spec's lineage, else git at start). */
  get codeRevision(): string | undefined {
    return this.record.codeRevision;
  }

  /** Starts tracking: writes the `running` record (rank 0). */
  static async start(opts: StartRunOptions): Promise<RunTracker> {
    const t = new RunTracker(opts);
    if (!t.active) return t;
    if (!t.record.codeRevision) {
      const rev = await codeRevisionOf(opts.spec, opts.cwd);
      if (rev) t.record = { ...t.record, codeRevision: rev };
    }
    await t.write();
    t.timer = setInterval(() => void t.flush(), FLUSH_SECONDS * 1000);
    t.timer.unref();
    return t;
  }

  get runId(): string {
    return this.opts.runId;
  }

  /** The staged dataset: its digest (and training set) go on the record; its labels score the constant baseline. */
  dataset(data: Dataset): void {
    this.data = data;
    this.record = { ...this.record, datasetDigest: data.digest, ...(data.trainingSet ? { trainingSet: data.trainingSet } : {}) };
  }

  /** A progress report: its loss becomes the `loss` curve. */
  progress(p: Progress): void {
    if (p.loss !== undefined) this.logMetric("loss", p.loss, p.step);
  }

  /** `bounded: false` for the holdout scores, which always go on the record (however full the trainer made it). */
  logMetric(key: string, value: number, step?: number, timestamp = Date.now(), bounded = true): void {
    if (!this.active || this.done || !Number.isFinite(value)) return;
    const isNew = !(key in this.metrics);
    if (bounded && (this.points >= RECORD_LIMITS.metricPoints || (isNew && this.seen.size >= RECORD_LIMITS.metricKeys))) return this.drop(`metric ${JSON.stringify(key.slice(0, 100))}`);
    const points = (this.metrics[key] ??= []);
    const seen = this.seen.get(key) ?? this.seen.set(key, new Set()).get(key)!;
    const at = step ?? points.length;
    // The same point from two channels (a progress line and an MLflow call) is kept once.
    if (seen.has(`${at}:${value}`)) return;
    seen.add(`${at}:${value}`);
    points.push({ step: at, value, timestamp });
    this.points++;
    this.dirty = true;
  }

  /** A value past the record's bounds: dropped, and said once in the log. */
  private drop(what: string): void {
    if (this.dropped++ === 0) this.opts.log.warn(`the run record is full (at most ${RECORD_LIMITS.metricKeys} metrics, ${RECORD_LIMITS.metricPoints} points, ${RECORD_LIMITS.params} params); ${what} and what follows is dropped`, { runId: this.opts.runId });
  }

  logParam(key: string, value: string): void {
    if (this.active && !this.done && !(key in this.params) && Object.keys(this.params).length >= RECORD_LIMITS.params + this.specParamCount) return this.drop(`param ${JSON.stringify(key.slice(0, 100))}`);
    if (this.active && !this.done && this.params[key] !== value) {
      this.params[key] = value;
      this.dirty = true;
    }
  }

  /**
   * The variables a command trainer gets: the metrics file, and the MLflow tracking server (started
   * here) unless the trainer's own env names a tracking server.
   */
  async trainerEnv(trainerOwnEnv: Readonly<Record<string, string>> = {}): Promise<Record<string, string>> {
    if (!this.active) return {};
    const env: Record<string, string> = { [METRICS_FILE_ENV]: this.metricsFile };
    if (trainerOwnEnv[MLFLOW_TRACKING_URI_ENV]) return env;
    this.serverStart ??= startTrackingServer(
      { logMetric: (k, v, step, ts) => this.logMetric(k, v, step, ts), logParam: (k, v) => this.logParam(k, v) },
      { artifactRoot: `file://${join(this.opts.work, "mlflow-artifacts")}`, defaultRunName: this.opts.runId, logger: this.opts.log },
    );
    this.server = await this.serverStart;
    env[MLFLOW_TRACKING_URI_ENV] = this.server.uri;
    return env;
  }

  /** The run ended with a result: gate-failed or registered. Resolves with the same result. */
  async ended(result: TrainResult): Promise<TrainResult> {
    if (!this.active || this.done || result.status === "worker-done") return result;
    await this.collectTrainerMetrics();
    const holdout = result.metrics;
    const last = Math.max(0, ...Object.values(this.metrics).flatMap((pts) => pts.map((p) => p.step)));
    for (const [k, v] of Object.entries(holdout)) this.logMetric(k, v, last, Date.now(), false);
    const passed = result.status === "registered";
    const constant = this.data ? constantMetrics(this.data.train.y, this.data.holdout.y, this.opts.spec.task) : undefined;
    const gate = { passed, checks: gateChecks(this.opts.spec, holdout, result.baseline?.metrics, constant) };
    const lineage = result.version?.lineage;
    await this.finish(passed ? "registered" : "gate-failed", {
      gate,
      ...(result.version ? { version: result.version.version } : {}),
      ...(lineage?.codeRevision ? { codeRevision: lineage.codeRevision } : {}),
      ...(lineage?.imageDigest ? { imageDigest: lineage.imageDigest } : {}),
      ...(!passed && result.reason ? { error: this.safe(result.reason) } : {}),
    });
    await this.push(passed, Object.fromEntries(Object.entries(holdout).filter(([k]) => !k.startsWith("trainer_"))));
    return result;
  }

  /** The run failed (a trainer crash, a bad dataset, a stop by SIGTERM): status `failed` with why. */
  async failed(err: unknown, signal?: AbortSignal): Promise<void> {
    if (!this.active || this.done) return;
    await this.collectTrainerMetrics();
    let message = (err as Error)?.message ?? String(err);
    // The stop's own reason ("terminated by SIGTERM"), not the generic AbortError of a bare abort().
    const reason: unknown = signal?.aborted ? signal.reason : undefined;
    const why = reason instanceof Error && reason.name !== "AbortError" ? reason.message : undefined;
    if (why && !message.includes(why)) message = `${why}: ${message}`;
    await this.finish("failed", { error: this.safe(message) });
    await this.push(false, {});
  }

  /** Stops the MLflow server and the periodic rewrites (idempotent). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    const server = this.server ?? (await this.serverStart?.catch(() => undefined));
    this.server = undefined;
    this.serverStart = undefined;
    await server?.close();
  }

  private get metricsFile(): string {
    return join(this.opts.work, "metrics.jsonl");
  }

  /** While running: rewrites the record when something was logged since the last write. */
  private async flush(): Promise<void> {
    await this.collectTrainerMetrics(false);
    if (this.done || !this.dirty) return;
    this.dirty = false;
    this.writes = this.writes.then(() => (this.done ? undefined : this.write())).catch((err: Error) => this.opts.log.warn("could not update the run record", { error: err.message }));
    await this.writes;
  }

  /** Reads what the trainer appended to the metrics file since the last read (complete lines; every line at the end). */
  private async collectTrainerMetrics(final = true): Promise<void> {
    const from = this.fileOffset;
    const bytes = await readFrom(this.metricsFile, from);
    // Another read got there first (a periodic one and the final one can overlap).
    if (!bytes || this.fileOffset !== from) return;
    const end = final ? bytes.length : bytes.lastIndexOf(0x0a) + 1;
    if (end <= 0) return;
    const text = bytes.subarray(0, end).toString("utf8");
    this.fileOffset = from + end;
    const parsed = parseMetricsLines(text, this.fileLine + 1);
    this.fileLine += text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
    for (const p of parsed.params) this.logParam(p.key, p.value);
    for (const m of parsed.metrics) this.logMetric(m.key, m.value, m.step, m.timestamp);
    if (parsed.problems.length) {
      const shown = parsed.problems.slice(0, MAX_REPORTED_LINES);
      const more = parsed.problems.length - shown.length;
      this.opts.log.warn(`metrics file ${METRICS_FILE_ENV}: ${parsed.problems.length} bad line${parsed.problems.length === 1 ? "" : "s"} ignored`, {
        file: this.metricsFile,
        problems: more > 0 ? [...shown, `… and ${more} more`] : shown,
      });
    }
  }

  private async finish(status: Exclude<RunStatus, "running">, extra: Partial<RunRecord>): Promise<void> {
    this.done = true;
    clearInterval(this.timer);
    const endedMs = Date.now();
    this.record = {
      ...this.record,
      ...extra,
      status,
      endedAt: new Date(endedMs).toISOString(),
      durationSeconds: Math.round(endedMs - this.startedMs) / 1000,
      params: this.params,
      metrics: this.metrics,
    };
    this.writes = this.writes.then(() => this.write()).catch((err: Error) => this.opts.log.warn("could not write the run record", { error: err.message, runId: this.opts.runId }));
    await this.writes;
  }

  private async write(): Promise<void> {
    await writeRun(this.opts.registry.store, this.record);
  }

  private async push(gatePassed: boolean, holdout: Record<string, number>): Promise<void> {
    if (!this.pushgateway) return;
    try {
      await pushTrainMetrics({ model: this.opts.spec.model, gatePassed, holdout }, this.pushgateway.url, this.pushgateway.field);
    } catch (err) {
      // The run's outcome stands; a monitoring outage must not turn a registered model into a failure.
      this.opts.log.warn("could not push the training metrics", { error: (err as Error).message });
    }
  }

  private safe(message: string): string {
    return redactSecrets(message, [this.opts.env ?? process.env, "command" in this.opts.spec.trainer ? this.opts.spec.trainer.env : {}]);
  }
}

/** What reproduces the run: the trainer's params and the split (the registered version's params). */
export function specParams(spec: TrainSpec): Record<string, string> {
  const split = { holdoutFraction: String(spec.split.holdoutFraction), seed: String(spec.split.seed), workers: String(spec.workers) };
  if ("builtin" in spec.trainer) {
    return { l2: String(spec.trainer.l2), maxIterations: String(spec.trainer.maxIterations), tolerance: String(spec.trainer.tolerance), ...split };
  }
  return { ...spec.trainer.params, ...split };
}

/** The gate's checks with their values, as {@link checkGate} evaluates them (minimum, maximum, beatConstant, mustBeat). */
export function gateChecks(
  spec: Pick<TrainSpec, "gate" | "task">,
  metrics: Readonly<Record<string, number>>,
  baseline?: Readonly<Record<string, number>>,
  constant?: Readonly<Record<string, number>>,
): RunGateCheck[] {
  const checks: RunGateCheck[] = [];
  const value = (m: string) => (Number.isFinite(metrics[m]) ? metrics[m]! : null);
  for (const [metric, bound] of Object.entries(spec.gate.minimum)) {
    if (bound === undefined) continue;
    const v = value(metric);
    checks.push({ metric, op: ">=", bound, value: v, passed: v !== null && v >= bound });
  }
  for (const [metric, bound] of Object.entries(spec.gate.maximum)) {
    if (bound === undefined) continue;
    const v = value(metric);
    checks.push({ metric, op: "<=", bound, value: v, passed: v !== null && v <= bound });
  }
  const metric = spec.gate.compareOn ?? defaultCompareOn(spec.task);
  const op = higherIsBetter(metric) ? ">" : "<";
  const beats = (v: number | null, b: number) => v !== null && (op === ">" ? v > b : v < b);
  if (spec.gate.beatConstant !== false && constant?.[metric] !== undefined) {
    checks.push({ metric, op, bound: constant[metric]!, value: value(metric), passed: beats(value(metric), constant[metric]!) });
  }
  if (spec.gate.mustBeat && baseline?.[metric] !== undefined) {
    checks.push({ metric, op, bound: baseline[metric]!, value: value(metric), passed: beats(value(metric), baseline[metric]!) });
  }
  return checks;
}

/**
 * An error message fit for a record: the values of secret-named variables (`AWS_SECRET_ACCESS_KEY`,
 * `*_TOKEN`, …) replaced, and any line that looks like a credential hidden.
 */
export function redactSecrets(message: string, envs: readonly Readonly<Record<string, string | undefined>>[]): string {
  let text = message.length > 8000 ? `${message.slice(0, 8000)}…` : message;
  for (const env of envs) {
    for (const [name, value] of Object.entries(env)) {
      if (value && value.length >= 4 && isSecretField(name)) text = text.split(value).join(`<${name}: not shown>`);
    }
  }
  return text
    .split("\n")
    .map((line) => (show(line).includes("(not shown: secret)") ? "[a line that looks like a credential, not shown]" : line))
    .join("\n");
}
