/**
 * The part of MLflow's tracking REST API (2.0) a training script uses, answered from memory for one
 * `mlops train` run: experiments (get, get-by-name, create; "0" is the default experiment, as on a real
 * server), runs (create, update, get) and logging (log-metric, log-parameter, log-batch, set-tag). The
 * request and response shapes are MLflow's (mlflow/protos/service.proto, its REST docs); errors are
 * `{"error_code": …, "message": …}` with MLflow's codes and HTTP statuses. Whatever any run logs goes
 * to the sink: one `mlops train` run is one run record, however many MLflow runs the script opens.
 */
import { randomBytes } from "node:crypto";
import { RECORD_LIMITS, limitMessage, pathProblem, shown } from "./limits.js";

/** Where logged values go: the run record being built. A thrown {@link MlflowApiError} answers the request. */
export interface TrackingSink {
  logMetric(key: string, value: number, step: number, timestamp: number): void;
  logParam(key: string, value: string): void;
}

/** An MLflow API error: the HTTP status, MLflow's error code and a message. */
export class MlflowApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** One answer: HTTP status and JSON body. */
export interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
}

// MLflow's own limits (mlflow/utils/validation.py).
const MAX_KEY_LENGTH = 250;
const MAX_PARAM_VALUE_LENGTH = 6000;
const MAX_TAG_VALUE_LENGTH = 8000;
const MAX_BATCH = { metrics: 1000, params: 100, tags: 100, total: 1000 };
/** Names MLflow accepts for metrics, params and tags: letters, digits, "_", "-", ".", " " and "/". */
const NAME = /^[/\w.\- ]+$/;
const STATUSES = new Set(["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]);

const invalid = (message: string) => new MlflowApiError(400, "INVALID_PARAMETER_VALUE", message);
const missing = (field: string) => invalid(`Missing value for required parameter '${field}'. See the API docs for more information about request parameters.`);

interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: "active";
  creation_time: number;
  last_update_time: number;
  tags: { key: string; value: string }[];
}

interface RunState {
  info: {
    run_id: string;
    run_uuid: string;
    run_name: string;
    experiment_id: string;
    user_id: string;
    status: string;
    start_time: number;
    end_time?: number;
    artifact_uri: string;
    lifecycle_stage: "active";
  };
  params: Map<string, string>;
  tags: Map<string, string>;
  /** The latest point of each metric (what `runs/get` returns, as MLflow does). */
  metrics: Map<string, { key: string; value: number | string; timestamp: number; step: number }>;
}

export interface TrackingApiOptions {
  /** A `file://` folder the runs' `artifact_uri` points into (a script's `log_artifact` writes there). */
  readonly artifactRoot: string;
  /** The name a run gets when the script gives none. */
  readonly defaultRunName: string;
}

/** The in-memory tracking service behind the HTTP server. */
export class TrackingApi {
  private readonly experiments = new Map<string, Experiment>();
  private readonly runs = new Map<string, RunState>();
  private nextExperiment = 1;
  /** What the record holds so far, across every MLflow run (RECORD_LIMITS bounds it). */
  private readonly metricKeys = new Set<string>();
  private readonly paramKeys = new Set<string>();
  private points = 0;

  constructor(
    private readonly sink: TrackingSink,
    private readonly opts: TrackingApiOptions,
  ) {
    this.addExperiment("0", "Default");
  }

  /** Answers one request: `path` after `/api/2.0/mlflow/`, the query (GET) or JSON body (POST). */
  handle(method: string, path: string, input: Record<string, unknown>): ApiAnswer {
    const route = ROUTES[path];
    if (!route) throw new MlflowApiError(404, "ENDPOINT_NOT_FOUND", `No API endpoint ${shown(path)}: this server answers ${Object.keys(ROUTES).join(", ")}.`);
    if (route.method !== method) throw new MlflowApiError(405, "BAD_REQUEST", `${path} takes ${route.method}, not ${method}.`);
    return { status: 200, body: route.run(this, input) };
  }

  getExperiment(input: Record<string, unknown>) {
    const id = str(input, "experiment_id", true)!;
    const exp = this.experiments.get(id);
    if (!exp) throw new MlflowApiError(404, "RESOURCE_DOES_NOT_EXIST", `Could not find experiment with ID ${id}`);
    return { experiment: exp };
  }

  getExperimentByName(input: Record<string, unknown>) {
    const name = str(input, "experiment_name", true)!;
    const exp = [...this.experiments.values()].find((e) => e.name === name);
    if (!exp) throw new MlflowApiError(404, "RESOURCE_DOES_NOT_EXIST", `Could not find experiment with name '${name}'`);
    return { experiment: exp };
  }

  createExperiment(input: Record<string, unknown>) {
    const name = str(input, "name", true)!;
    if (name === "") throw invalid("Invalid experiment name: ''. Give a non-empty name.");
    if ([...this.experiments.values()].some((e) => e.name === name)) {
      throw new MlflowApiError(400, "RESOURCE_ALREADY_EXISTS", `Experiment '${name}' already exists.`);
    }
    this.bound("experiments", this.experiments.size + 1, RECORD_LIMITS.experiments);
    const id = String(this.nextExperiment++);
    const exp = this.addExperiment(id, name, str(input, "artifact_location"));
    exp.tags = keyValues(input, "tags", MAX_TAG_VALUE_LENGTH);
    return { experiment_id: id };
  }

  createRun(input: Record<string, unknown>) {
    const experimentId = str(input, "experiment_id") ?? "0";
    const exp = this.experiments.get(experimentId);
    if (!exp) throw new MlflowApiError(404, "RESOURCE_DOES_NOT_EXIST", `Could not find experiment with ID ${experimentId}`);
    const tags = keyValues(input, "tags", MAX_TAG_VALUE_LENGTH);
    this.bound("MLflow runs", this.runs.size + 1, RECORD_LIMITS.runs);
    this.bound("tags per MLflow run", tags.length + 1, RECORD_LIMITS.tags);
    const runName = str(input, "run_name") || tags.find((t) => t.key === "mlflow.runName")?.value || this.opts.defaultRunName;
    const id = randomBytes(16).toString("hex");
    const run: RunState = {
      info: {
        run_id: id,
        run_uuid: id,
        run_name: runName,
        experiment_id: experimentId,
        user_id: str(input, "user_id") ?? "",
        status: "RUNNING",
        start_time: int(input, "start_time") ?? Date.now(),
        artifact_uri: `${exp.artifact_location}/${id}/artifacts`,
        lifecycle_stage: "active",
      },
      params: new Map(),
      tags: new Map(tags.map((t) => [t.key, t.value])),
      metrics: new Map(),
    };
    run.tags.set("mlflow.runName", runName);
    this.runs.set(id, run);
    return { run: view(run) };
  }

  updateRun(input: Record<string, unknown>) {
    const run = this.run(input);
    const status = str(input, "status");
    if (status !== undefined) {
      if (!STATUSES.has(status)) throw invalid(`Invalid value ${shown(status)} for parameter 'status': use one of ${[...STATUSES].join(", ")}.`);
      run.info.status = status;
    }
    const end = int(input, "end_time");
    if (end !== undefined) run.info.end_time = end;
    const name = str(input, "run_name");
    if (name) {
      run.info.run_name = name;
      run.tags.set("mlflow.runName", name);
    }
    return { run_info: { ...run.info } };
  }

  getRun(input: Record<string, unknown>) {
    return { run: view(this.run(input)) };
  }

  logMetric(input: Record<string, unknown>) {
    const run = this.run(input);
    const m = metricOf(input, "");
    this.checkRecord([m.key], [], run, 0);
    this.record(run, m);
    return {};
  }

  logParameter(input: Record<string, unknown>) {
    const run = this.run(input);
    const key = str(input, "key", true)!;
    const value = str(input, "value", true)!;
    this.checkParam(run, key, value);
    this.checkRecord([], [key], run, 0);
    this.param(run, key, value);
    return {};
  }

  setTag(input: Record<string, unknown>) {
    const run = this.run(input);
    const [tag] = checkKeyValues([{ key: input.key, value: input.value }], "", MAX_TAG_VALUE_LENGTH);
    this.checkRecord([], [], run, run.tags.has(tag!.key) ? 0 : 1);
    run.tags.set(tag!.key, tag!.value);
    return {};
  }

  logBatch(input: Record<string, unknown>) {
    const run = this.run(input);
    const metrics = list(input, "metrics");
    const params = keyValues(input, "params", MAX_PARAM_VALUE_LENGTH);
    const tags = keyValues(input, "tags", MAX_TAG_VALUE_LENGTH);
    for (const [field, items, max] of [["metrics", metrics, MAX_BATCH.metrics], ["params", params, MAX_BATCH.params], ["tags", tags, MAX_BATCH.tags]] as const) {
      if (items.length > max) throw invalid(`A batch logging request can contain at most ${max} ${field}. Got ${items.length} ${field}. Please split up ${field} across multiple requests and try again.`);
    }
    const total = metrics.length + params.length + tags.length;
    if (total > MAX_BATCH.total) throw invalid(`A batch logging request can contain at most ${MAX_BATCH.total} metrics, params and tags in total. Got ${total}. Please split up the request and try again.`);
    // Validate every metric before logging any, so a bad batch logs nothing (as MLflow).
    const parsed = metrics.map((m, i) => metricOf(m, `metrics[${i}].`));
    for (const p of params) this.checkParam(run, p.key, p.value);
    this.checkRecord(parsed.map((m) => m.key), params.map((p) => p.key), run, tags.filter((t) => !run.tags.has(t.key)).length);
    for (const m of parsed) this.record(run, m);
    for (const p of params) this.param(run, p.key, p.value);
    for (const t of tags) run.tags.set(t.key, t.value);
    return {};
  }

  private addExperiment(id: string, name: string, location?: string): Experiment {
    const now = Date.now();
    const exp: Experiment = {
      experiment_id: id,
      name,
      artifact_location: location || `${this.opts.artifactRoot.replace(/\/+$/, "")}/${id}`,
      lifecycle_stage: "active",
      creation_time: now,
      last_update_time: now,
      tags: [],
    };
    this.experiments.set(id, exp);
    return exp;
  }

  private run(input: Record<string, unknown>): RunState {
    const id = str(input, "run_id") || str(input, "run_uuid");
    if (!id) throw missing("run_id");
    const run = this.runs.get(id);
    if (!run) throw new MlflowApiError(404, "RESOURCE_DOES_NOT_EXIST", `Run with id=${id} not found`);
    return run;
  }

  /** Refuses a request that would take the record past {@link RECORD_LIMITS}; counts its points when it fits. */
  private checkRecord(metricKeys: string[], paramKeys: string[], run: RunState, newTags: number): void {
    const keys = new Set([...this.metricKeys, ...metricKeys]).size;
    this.bound("distinct metric keys", keys, RECORD_LIMITS.metricKeys);
    this.bound("metric points", this.points + metricKeys.length, RECORD_LIMITS.metricPoints);
    this.bound("params", new Set([...this.paramKeys, ...paramKeys]).size, RECORD_LIMITS.params);
    this.bound("tags per MLflow run", run.tags.size + newTags, RECORD_LIMITS.tags);
    for (const k of metricKeys) this.metricKeys.add(k);
    for (const k of paramKeys) this.paramKeys.add(k);
    this.points += metricKeys.length;
  }

  private bound(what: string, got: number, limit: number): void {
    if (got > limit) throw new MlflowApiError(400, "RESOURCE_LIMIT_EXCEEDED", limitMessage(what, limit, got));
  }

  private record(run: RunState, m: { key: string; value: number; raw: number | string; timestamp: number; step: number }): void {
    const prev = run.metrics.get(m.key);
    // runs/get shows the latest step's value (ties: the latest timestamp), as MLflow's latest_metrics.
    if (!prev || m.step > prev.step || (m.step === prev.step && m.timestamp >= prev.timestamp)) {
      run.metrics.set(m.key, { key: m.key, value: m.raw, timestamp: m.timestamp, step: m.step });
    }
    if (Number.isFinite(m.value)) this.sink.logMetric(m.key, m.value, m.step, m.timestamp);
  }

  private checkParam(run: RunState, key: string, value: string): void {
    checkKeyValues([{ key, value }], "", MAX_PARAM_VALUE_LENGTH);
    const old = run.params.get(key);
    if (old !== undefined && old !== value) {
      throw invalid(`Changing param values is not allowed. Param with key='${key}' was already logged with value='${old}' for run ID='${run.info.run_id}'. Attempted logging new value '${value}'.`);
    }
  }

  private param(run: RunState, key: string, value: string): void {
    this.checkParam(run, key, value);
    this.sink.logParam(key, value);
    run.params.set(key, value);
  }
}

type Handler = (api: TrackingApi, input: Record<string, unknown>) => unknown;
const ROUTES: Record<string, { method: "GET" | "POST"; run: Handler }> = {
  "experiments/get": { method: "GET", run: (a, i) => a.getExperiment(i) },
  "experiments/get-by-name": { method: "GET", run: (a, i) => a.getExperimentByName(i) },
  "experiments/create": { method: "POST", run: (a, i) => a.createExperiment(i) },
  "runs/create": { method: "POST", run: (a, i) => a.createRun(i) },
  "runs/update": { method: "POST", run: (a, i) => a.updateRun(i) },
  "runs/get": { method: "GET", run: (a, i) => a.getRun(i) },
  "runs/log-metric": { method: "POST", run: (a, i) => a.logMetric(i) },
  "runs/log-parameter": { method: "POST", run: (a, i) => a.logParameter(i) },
  "runs/log-batch": { method: "POST", run: (a, i) => a.logBatch(i) },
  "runs/set-tag": { method: "POST", run: (a, i) => a.setTag(i) },
};

function view(run: RunState) {
  return {
    info: { ...run.info },
    data: {
      metrics: [...run.metrics.values()],
      params: [...run.params].map(([key, value]) => ({ key, value })),
      tags: [...run.tags].map(([key, value]) => ({ key, value })),
    },
    inputs: {},
  };
}

/** A string field; protobuf JSON also carries numbers for string ids (`"experiment_id": 0`). */
function str(input: Record<string, unknown>, field: string, required = false): string | undefined {
  const v = input[field];
  if (v === undefined || v === null) {
    if (required) throw missing(field);
    return undefined;
  }
  if (typeof v === "string") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  throw invalid(`Invalid value ${shown(v)} for parameter '${field}' supplied: it must be a string.`);
}

/** An int64 field: a JSON number or, as protobuf JSON writes int64, a decimal string. */
function int(input: Record<string, unknown>, field: string, required = false, prefix = ""): number | undefined {
  const v = input[field];
  if (v === undefined || v === null) {
    if (required) throw missing(prefix + field);
    return undefined;
  }
  const n = typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n)) throw invalid(`Invalid value ${shown(v)} for parameter '${prefix}${field}' supplied: it must be an integer (int64).`);
  return n;
}

/** A double field: a number or protobuf JSON's "NaN", "Infinity", "-Infinity". */
function double(input: Record<string, unknown>, field: string, prefix: string): { value: number; raw: number | string } {
  const v = input[field];
  if (v === undefined || v === null) throw missing(prefix + field);
  if (typeof v === "number") return { value: v, raw: v };
  if (v === "NaN") return { value: NaN, raw: v };
  if (v === "Infinity" || v === "-Infinity") return { value: v === "Infinity" ? Infinity : -Infinity, raw: v };
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return { value: Number(v), raw: Number(v) };
  throw invalid(`Invalid value ${shown(v)} for parameter '${prefix}${field}' supplied: it must be a number.`);
}

function metricOf(input: unknown, prefix: string) {
  if (!input || typeof input !== "object" || Array.isArray(input)) throw invalid(`Invalid value for parameter '${prefix.replace(/\.$/, "")}': each metric must be an object {key, value, timestamp, step}.`);
  const m = input as Record<string, unknown>;
  const key = str(m, "key", true)!;
  checkName(key, `${prefix}key`);
  const { value, raw } = double(m, "value", prefix);
  const timestamp = int(m, "timestamp", true, prefix)!;
  const step = int(m, "step", false, prefix) ?? 0;
  return { key, value, raw, timestamp, step };
}

function list(input: Record<string, unknown>, field: string): unknown[] {
  const v = input[field];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid(`Invalid value ${shown(v)} for parameter '${field}' supplied: it must be a list.`);
  return v;
}

function keyValues(input: Record<string, unknown>, field: string, maxValue: number): { key: string; value: string }[] {
  return checkKeyValues(list(input, field), `${field}`, maxValue);
}

function checkKeyValues(items: unknown[], field: string, maxValue: number): { key: string; value: string }[] {
  return items.map((item, i) => {
    const at = field ? `${field}[${i}].` : "";
    if (!item || typeof item !== "object") throw invalid(`Invalid value for parameter '${field}[${i}]': it must be an object {key, value}.`);
    const o = item as Record<string, unknown>;
    const key = str(o, "key", true)!;
    checkName(key, `${at}key`);
    const value = str(o, "value") ?? "";
    if (value.length > maxValue) throw invalid(`'${at}value' exceeds the maximum length of ${maxValue} characters (got ${value.length}).`);
    return { key, value };
  });
}

function checkName(key: string, field: string): void {
  if (key.length > MAX_KEY_LENGTH) throw invalid(`'${field}' exceeds the maximum length of ${MAX_KEY_LENGTH} characters (got ${key.length}).`);
  if (!NAME.test(key) || key.split("/").some((p) => p === "..")) {
    throw invalid(`Invalid value ${shown(key)} for parameter '${field}': names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), and slashes (/).`);
  }
  const why = pathProblem(key);
  if (why) throw invalid(`Invalid value ${shown(key)} for parameter '${field}': names may be treated as files, so must not resolve to other names as paths, and ${why}.`);
}
