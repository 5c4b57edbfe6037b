/**
 * `mlops drift --model <name>@<alias> --since <window>`: what an endpoint was asked in that window
 * (its payload logs' inputs, runtime/serve/payload-reader.ts) against the reference profile of the
 * version the alias points to (saved by the training job, src/registry/profiles.ts), through the same
 * comparison as two tables (run.ts's compareTables). Then, in this order: report.json and report.html
 * (in `out`, and copied to `models/<name>/drift-reports/<stamp>/` in the registry), the run's record in the registry (src/registry/drift-results.ts), the metrics pushed under
 * `{job, model}`, and on dataset drift the actions asked for (a command, a retrain Job in the cluster, a
 * training run here). The record and the metrics are written before any action, so a retrain that fails
 * still leaves the result seen.
 */
import { resolve } from "node:path";
import { MlopsError } from "../../src/errors.js";
import type { Logger } from "../../src/log.js";
import { writeDriftResult, type DriftResult as DriftRecord } from "../../src/registry/drift-results.js";
import { Registry, type ModelVersion } from "../../src/registry/index.js";
import { getProfile, profileKey } from "../../src/registry/profiles.js";
import { parseModelRef } from "../../src/spec/model-ref.js";
import type { TrainSpec } from "../../src/spec/train.js";
import { openStore } from "../../src/store/index.js";
import { onnxFeatureNames, readPayloadLogs, type PayloadTable } from "../serve/payload-reader.js";
import type { TrainResult } from "../train/job.js";
import { arraysTable } from "./memory.js";
import { parseProfile, profileTable, type Profile } from "./profile.js";
import { pushDriftMetrics } from "./push.js";
import { writeReports, type DriftReport } from "./report.js";
import { startRetrain, type KubeAccess, type RetrainOutcome, type RetrainTarget } from "./retrain.js";
import { compareTables, runOnDrift, type DriftOptions } from "./run.js";
import type { Window } from "./window.js";

export interface ModelDriftOptions extends Pick<DriftOptions, "columns" | "method" | "threshold" | "parallel" | "onDrift" | "cwd"> {
  /** `<name>@<alias>` or `<name>:<version>`. */
  readonly model: string;
  /** The registry URI (or one open). */
  readonly registry: string | Registry;
  /** The endpoint's payload logging URI (`logging.uri`). */
  readonly payloadUri: string;
  /** Only this endpoint's logs (`<uri>/<model>/<endpoint>/…`). @default - every endpoint of the model */
  readonly endpoint?: string;
  readonly window: Window;
  readonly out: string;
  readonly pushgateway?: { readonly url: string; readonly job?: string };
  /** On dataset drift: create a Job from this CronJob's template through the Kubernetes API. */
  readonly retrainCronJob?: RetrainTarget & { readonly access?: KubeAccess };
  /** On dataset drift: run this training spec here (its gate decides what is registered). */
  readonly onDriftTrain?: TrainSpec;
  readonly logger?: Logger;
}

export interface ModelDriftResult {
  readonly report: DriftReport;
  readonly paths: { readonly json: string; readonly html: string };
  /** The compared version. */
  readonly version: ModelVersion;
  readonly alias?: string;
  readonly payload: { readonly uri: string; readonly files: number; readonly records: number; readonly rows: number; readonly skipped: PayloadTable["skipped"] };
  /** The registry record written (contract 2) and its URI; `report` is the reports' folder in the registry. */
  readonly record: DriftRecord & { readonly uri: string };
  readonly onDrift?: { readonly command: string; readonly exitCode: number };
  /** The retrain Job created, or why none was (one still running, or the cooldown). */
  readonly retrain?: RetrainOutcome;
  readonly train?: TrainResult;
  readonly seconds: number;
}

export async function runModelDrift(opts: ModelDriftOptions): Promise<ModelDriftResult> {
  const started = performance.now();
  const cwd = opts.cwd ?? process.cwd();
  const ref = parseModelRef(opts.model, "--model");
  const registry = typeof opts.registry === "string" ? new Registry(openStore(opts.registry, { cwd })) : opts.registry;
  const version = await registry.resolve(ref);
  const profile = await storedProfile(registry, version, opts.model);
  const columns = profile.features ?? onnxFeatureNames(await registry.readArtifact(version));
  const { since, until } = opts.window;
  const payload = await readPayloadLogs(opts.payloadUri, {
    since,
    until,
    model: version.name,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(columns ? { columns } : {}),
    store: openStore(opts.payloadUri, { cwd }),
  });
  if (payload.rows.length === 0) throw noRows(payload, opts, version.name);
  const label = `${opts.payloadUri} (${version.name}${opts.endpoint ? `/${opts.endpoint}` : ""}, ${since.toISOString()} to ${until.toISOString()})`;
  const cur = arraysTable(payload.columnArrays(), label);
  const refTable = profileTable(profile, registry.store.uriOf(profileKey(version.name, version.version)));
  const { report, plots } = await compareTables(refTable, cur, "profile", opts);
  const outDir = resolve(cwd, opts.out);
  const paths = await writeReports(outDir, report, plots);

  const drifted = Object.keys(report.columns).filter((n) => report.columns[n]!.drift);
  const at = new Date().toISOString();
  // The reports go to the registry too: in a pod, the output folder goes with the pod.
  const reportUri = await uploadReports(registry, version.name, at, paths);
  const record: DriftRecord = {
    at,
    model: version.name,
    version: version.version,
    ...(ref.alias !== undefined ? { alias: ref.alias } : {}),
    dataset_drift: report.dataset_drift,
    share_drifted: report.share_drifted,
    drifted,
    report: reportUri,
  };
  const recordUri = await writeDriftResult(registry.store, record);
  const pushed = opts.pushgateway
    ? await pushDriftMetrics(report, { url: opts.pushgateway.url, job: opts.pushgateway.job, groupings: { model: version.name } }).then(() => undefined, (err: unknown) => err)
    : undefined;

  let onDrift: ModelDriftResult["onDrift"];
  let retrain: RetrainOutcome | undefined;
  let train: TrainResult | undefined;
  if (report.dataset_drift) {
    if (opts.onDrift) onDrift = { command: opts.onDrift, exitCode: await runOnDrift(opts.onDrift, paths, report.share_drifted, cwd) };
    if (opts.retrainCronJob) retrain = await startRetrain(opts.retrainCronJob, opts.retrainCronJob.access);
    if (opts.onDriftTrain) {
      const { runTraining } = await import("../train/job.js");
      train = await runTraining(opts.onDriftTrain, { cwd, progress: "none", ...(opts.logger ? { logger: opts.logger } : {}) });
    }
  }
  if (pushed !== undefined) throw pushed;
  return {
    report,
    paths,
    version,
    ...(ref.alias !== undefined ? { alias: ref.alias } : {}),
    payload: { uri: opts.payloadUri, files: payload.files, records: payload.records, rows: payload.rows.length, skipped: payload.skipped },
    record: { ...record, uri: recordUri },
    ...(onDrift ? { onDrift } : {}),
    ...(retrain ? { retrain } : {}),
    ...(train ? { train } : {}),
    seconds: (performance.now() - started) / 1000,
  };
}

/** `models/<name>/drift-reports/<stamp>/report.{json,html}`; returns the folder's URI. */
async function uploadReports(registry: Registry, name: string, at: string, paths: { json: string; html: string }): Promise<string> {
  const dir = `models/${name}/drift-reports/${at.replace(/[:.]/g, "-")}`;
  await registry.store.putFile(`${dir}/report.json`, paths.json);
  await registry.store.putFile(`${dir}/report.html`, paths.html);
  return registry.store.uriOf(dir);
}

async function storedProfile(registry: Registry, version: ModelVersion, given: string): Promise<Profile> {
  const key = profileKey(version.name, version.version);
  const raw = await getProfile(registry.store, version.name, version.version);
  if (raw === undefined) {
    throw new MlopsError(
      `--model: ${given} is ${version.name}:${version.version}, which has no reference profile (${registry.store.uriOf(key)}). ` +
        `Versions registered by mlops train get one. For this one, write it from its training data: ` +
        `mlops drift profile <training data> --model ${version.name}:${version.version} --registry ${registry.uri}; or compare two tables with --reference <training data> --current <data>.`,
    );
  }
  return parseProfile(raw, registry.store.uriOf(key));
}

function noRows(p: PayloadTable, opts: ModelDriftOptions, model: string): MlopsError {
  const window = `${opts.window.since.toISOString()} to ${opts.window.until.toISOString()} (${opts.window.label})`;
  const where = `${opts.payloadUri}/${model}/${opts.endpoint ? `${opts.endpoint}/` : ""}`;
  if (p.records === 0) {
    return new MlopsError(
      `no payload records of model ${model} under ${where} from ${window}. ` +
        "Check that the endpoint logs payloads there (logging.uri is that URI and logging.sampleRate > 0) and had requests in the window, or widen --since.",
    );
  }
  const reasons = Object.entries(p.skipped).map(([k, n]) => `${n} ${k}`).join(", ");
  return new MlopsError(
    `${p.records} payload records of model ${model} under ${where} from ${window}, none usable (skipped: ${reasons}). ` +
      `The drift reads each request's first input as rows of ${p.columns.length || "the model's"} features; check that the logs hold this model's [N, d] numeric inputs.`,
  );
}
