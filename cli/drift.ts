import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { MlopsError } from "../src/errors.js";
import { createLogger, silentLogger } from "../src/log.js";
import { durationSeconds } from "../src/spec/features.js";
import { numberFlag, parse, positionals } from "./args.js";

/** cli/spec.ts loads every spec schema: only the modes that read a spec file pay for it. */
const readSpecFile = async (path: string, field: string): Promise<unknown> => (await import("./spec.js")).readSpecFile(path, field);

const USAGE =
  "mlops drift --reference <uri|profile.json> --current <uri> --out <dir> [--columns a,b] [--method ks|chisquare|z|wasserstein|jensenshannon|psi] " +
  '[--threshold x] [--pushgateway <url>] [--push-job <name>] [--on-drift "<command>"] [--retrain-cronjob <namespace>/<name> [--retrain-cooldown <duration>]] [--on-drift-train <train-spec.yaml>]\n' +
  "       mlops drift --model <name>@<alias>|<name>:<version> --since <duration|time> [--until <duration|time>] [--registry <uri>] --payload-uri <uri> [--endpoint <name>] [--out <dir>] [same options]\n" +
  "       mlops drift --endpoint-spec <file.yaml|json> --since <duration|time> [--out <dir>] [same options]   (model, registry and logging.uri from the EndpointSpec)\n" +
  "       mlops drift profile <uri> (--out <profile.json> | --model <name>@<alias>|<name>:<version> [--registry <uri>]) [--features a,b]";

const OPTIONS = {
  reference: { type: "string" },
  current: { type: "string" },
  model: { type: "string" },
  "endpoint-spec": { type: "string" },
  endpoint: { type: "string" },
  since: { type: "string" },
  until: { type: "string" },
  registry: { type: "string" },
  "payload-uri": { type: "string" },
  out: { type: "string" },
  columns: { type: "string" },
  method: { type: "string" },
  threshold: { type: "string" },
  pushgateway: { type: "string" },
  "push-job": { type: "string" },
  "on-drift": { type: "string" },
  "retrain-cronjob": { type: "string" },
  "retrain-cooldown": { type: "string" },
  "on-drift-train": { type: "string" },
  verbose: { type: "boolean" },
} as const;

type Values = ReturnType<typeof parse<typeof OPTIONS>>["values"];

/**
 * `mlops drift`: exit 0 when the dataset did not drift, 3 when it did (2 for bad input, from main).
 * Two tables (`--reference`, `--current`), or a model's payload logs against its reference profile
 * (`--model` / `--endpoint-spec`). `mlops drift profile`: a reference profile of a table.
 */
export async function driftCommand(argv: string[], out: (s: string) => void): Promise<number> {
  if (argv[0] === "profile") return profileCommand(argv.slice(1), out);
  const { values, positionals: pos } = parse(argv, OPTIONS, USAGE);
  positionals(pos, [], USAGE);
  const byModel = values.model !== undefined || values["endpoint-spec"] !== undefined;
  const columns = values.columns?.split(",").map((c) => c.trim()).filter(Boolean);
  if (values.columns !== undefined && (!columns || columns.length === 0)) {
    throw MlopsError.of("--columns", "names no column", values.columns, "Write --columns a,b (comma-separated names).");
  }
  const { parseMethod } = await import("../runtime/drift/select.js");
  const common = {
    columns,
    method: parseMethod(values.method),
    threshold: values.threshold === undefined ? undefined : numberFlag(values.threshold, "threshold", 0.05, Number.MIN_VALUE),
    onDrift: values["on-drift"],
  };
  const retrain = values["retrain-cronjob"] === undefined ? undefined : { ...(await import("../runtime/drift/retrain.js")).parseCronJobRef(values["retrain-cronjob"]), cooldownSeconds: cooldownFlag(values["retrain-cooldown"]) };
  if (values["retrain-cooldown"] !== undefined && !retrain) throw MlopsError.of("--retrain-cooldown", "only applies with --retrain-cronjob", values["retrain-cooldown"], "Add --retrain-cronjob <namespace>/<name>, or drop it.");
  const trainSpec = values["on-drift-train"] === undefined ? undefined : await readTrainSpec(values["on-drift-train"]);
  if (byModel) return modelDrift(values, { ...common, retrain, trainSpec }, out);

  for (const flag of ["since", "until", "payload-uri", "endpoint"] as const) {
    if (values[flag] !== undefined) throw MlopsError.of(`--${flag}`, "only applies with --model or --endpoint-spec", values[flag], "Add --model <name>@<alias>, or drop it.");
  }
  const need = (flag: "reference" | "current" | "out"): string => {
    const v = values[flag];
    if (!v) throw new MlopsError(`--${flag} is required (or give --model <name>@<alias> --since <duration> to read a model's payload logs)\nusage: ${USAGE}`);
    return v;
  };
  const runtime = await import("../runtime/drift/index.js");
  const result = await runtime.runDrift({
    reference: need("reference"),
    current: need("current"),
    out: need("out"),
    ...common,
    pushgateway: values.pushgateway ? { url: values.pushgateway, job: values["push-job"] } : undefined,
  });
  printReport(result.report, result.paths, out);
  if (result.onDrift) out(`on-drift: ${JSON.stringify(result.onDrift.command)} exited ${result.onDrift.exitCode}`);
  if (result.report.dataset_drift) await afterDrift({ retrain, trainSpec, verbose: values.verbose }, out);
  return result.report.dataset_drift ? 3 : 0;
}

interface Actions {
  readonly retrain?: import("../runtime/drift/retrain.js").RetrainTarget;
  readonly trainSpec?: import("../src/spec/train.js").TrainSpec;
  readonly verbose?: boolean;
}

/** The model mode: which model, registry and payload logs, then runtime/drift/model.ts. */
async function modelDrift(values: Values, common: Pick<import("../runtime/drift/run.js").DriftOptions, "columns" | "method" | "threshold" | "onDrift"> & Actions, out: (s: string) => void): Promise<number> {
  for (const flag of ["reference", "current"] as const) {
    if (values[flag] !== undefined) throw MlopsError.of(`--${flag}`, "cannot be given with --model or --endpoint-spec", values[flag], "The reference is the model version's stored profile and the current data its payload logs; drop it, or drop --model.");
  }
  let model = values.model;
  let registry = values.registry;
  let payloadUri = values["payload-uri"];
  let endpoint = values.endpoint;
  if (values["endpoint-spec"] !== undefined) {
    const { parseEndpointSpec } = await import("../src/spec/endpoint.js");
    const spec = parseEndpointSpec(await readSpecFile(values["endpoint-spec"], "--endpoint-spec"), values["endpoint-spec"]);
    if (model !== undefined && model !== spec.model) throw MlopsError.of("--model", `differs from the EndpointSpec's model ${spec.model}`, model, "Give one of --model and --endpoint-spec.");
    model = spec.model;
    registry ??= spec.registry;
    endpoint ??= spec.name;
    if (payloadUri === undefined && !spec.logging) {
      throw MlopsError.of("--endpoint-spec", "has no logging block, so the endpoint writes no payload logs", values["endpoint-spec"], "Turn on logging: { sampleRate, uri } in the EndpointSpec (ModelEndpoint logging), or give --payload-uri.");
    }
    payloadUri ??= spec.logging?.uri;
  }
  if (values.since === undefined) throw MlopsError.of("--since", "is required with --model", undefined, 'Give the window of payload logs to compare, e.g. --since 1h (or an ISO time, "2026-05-01T12:00:00Z").');
  if (payloadUri === undefined) {
    throw MlopsError.of("--payload-uri", "is required with --model", undefined, "Give the endpoint's payload logging URI (its logging.uri, e.g. s3://acme-payloads/prod), or --endpoint-spec <file> to read it from the EndpointSpec.");
  }
  const { parseWindow } = await import("../runtime/drift/window.js");
  const window = parseWindow(values.since, values.until);
  const { runModelDrift } = await import("../runtime/drift/model.js");
  const { defaultRegistryUri } = await import("../src/registry/index.js");
  const r = await runModelDrift({
    model: model!,
    registry: registry ?? defaultRegistryUri(),
    payloadUri,
    ...(endpoint !== undefined ? { endpoint } : {}),
    window,
    out: values.out ?? `.mlops/drift/${model!.split(/[@:]/)[0]}`,
    columns: common.columns,
    method: common.method,
    threshold: common.threshold,
    onDrift: common.onDrift,
    pushgateway: values.pushgateway ? { url: values.pushgateway, job: values["push-job"] } : undefined,
    ...(common.retrain ? { retrainCronJob: common.retrain } : {}),
    ...(common.trainSpec ? { onDriftTrain: common.trainSpec } : {}),
    logger: values.verbose ? createLogger({ level: "info" }) : silentLogger,
  });
  const p = r.payload;
  const skipped = Object.entries(p.skipped).map(([k, n]) => `${n} ${k}`).join(", ");
  out(`model: ${model} = ${r.version.name}:${r.version.version}, reference: its training profile`);
  out(`current: ${p.rows} rows from ${p.records} payload records in ${p.files} files (${window.since.toISOString()} to ${window.until.toISOString()})${skipped ? `, skipped ${skipped}` : ""}`);
  printReport(r.report, r.paths, out);
  out(`recorded: ${r.record.uri} (reports copied to ${r.record.report})`);
  if (r.onDrift) out(`on-drift: ${JSON.stringify(r.onDrift.command)} exited ${r.onDrift.exitCode}`);
  if (r.retrain) out((await import("../runtime/drift/retrain.js")).retrainLine(r.retrain));
  if (r.train) out(trainLine(r.train));
  return r.report.dataset_drift ? 3 : 0;
}

/** The two-table mode's actions on drift (the model mode runs them inside runModelDrift). */
async function afterDrift(a: Actions, out: (s: string) => void): Promise<void> {
  if (a.retrain) {
    const { startRetrain, retrainLine } = await import("../runtime/drift/retrain.js");
    out(retrainLine(await startRetrain(a.retrain)));
  }
  if (a.trainSpec) {
    const { runTraining } = await import("../runtime/train/index.js");
    out(trainLine(await runTraining(a.trainSpec, { progress: "none", logger: a.verbose ? createLogger({ level: "info" }) : silentLogger })));
  }
}

function trainLine(t: import("../runtime/train/job.js").TrainResult): string {
  const auc = t.metrics.auc !== undefined ? ` (holdout auc ${t.metrics.auc.toFixed(4)})` : "";
  if (t.status === "registered" && t.version) return `retrain: trained ${t.runId}${auc}, gate passed, registered ${t.version.name}:${t.version.version}${t.alias ? ` as ${t.alias}` : ""}`;
  return `retrain: trained ${t.runId}${auc}, ${t.reason ?? t.status}; nothing registered`;
}

async function readTrainSpec(path: string) {
  const { parseTrainSpec } = await import("../src/spec/train.js");
  return parseTrainSpec(await readSpecFile(path, "--on-drift-train"), path);
}

function printReport(r: import("../runtime/drift/report.js").DriftReport, paths: { json: string; html: string }, out: (s: string) => void): void {
  const names = Object.keys(r.columns);
  const drifted = names.filter((n) => r.columns[n]!.drift);
  const q = r.data_quality;
  if (q.missing_columns.length) process.stderr.write(`warning: columns missing from the current data: ${q.missing_columns.join(", ")}\n`);
  if (q.approximate.length) process.stderr.write(`note: scored from the profile's sketch (approximate): ${q.approximate.join(", ")}\n`);
  out(`dataset drift: ${r.dataset_drift ? "yes" : "no"} (${drifted.length} of ${names.length} columns drifted, share ${r.share_drifted.toFixed(3)})`);
  const width = Math.max(...names.map((n) => n.length));
  for (const n of names) {
    const c = r.columns[n]!;
    const score = c.p_value !== null ? `p=${fmt(c.p_value)} (stat ${fmt(c.statistic)})` : fmt(c.statistic);
    out(`  ${n.padEnd(width)}  ${c.type.padEnd(11)}  ${c.test.padEnd(13)}  ${score}  threshold ${c.threshold}  ${c.drift ? "DRIFT" : "ok"}`);
  }
  out(`report: ${paths.json}`);
  out(`html:   ${paths.html}`);
}

const PROFILE_USAGE = "mlops drift profile <uri> (--out <profile.json> | --model <name>@<alias>|<name>:<version> [--registry <uri>]) [--features a,b]";

async function profileCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals: pos } = parse(argv, { out: { type: "string" }, model: { type: "string" }, registry: { type: "string" }, features: { type: "string" } }, PROFILE_USAGE);
  const [uri] = positionals(pos, ["uri"], PROFILE_USAGE);
  if (!values.out && !values.model) throw new MlopsError(`--out or --model is required\nusage: ${PROFILE_USAGE}`);
  const { buildProfile, writeAtomic } = await import("../runtime/drift/index.js");
  const features = values.features?.split(",").map((c) => c.trim()).filter(Boolean);
  let profile = await buildProfile(uri!, features ? { features } : {});
  if (features) {
    const missing = features.filter((f) => !(f in profile.columns));
    if (missing.length) throw MlopsError.of("--features", `names columns the table does not have: ${missing.join(", ")}`, values.features, `Its columns: ${Object.keys(profile.columns).join(", ")}.`);
    profile = { ...profile, columns: Object.fromEntries(features.map((f) => [f, profile.columns[f]!])) };
  }
  const summary = `${profile.rows} rows, ${Object.keys(profile.columns).length} columns`;
  if (values.out) {
    const path = resolve(values.out);
    await mkdir(dirname(path), { recursive: true });
    await writeAtomic(path, JSON.stringify(profile) + "\n");
    out(`profile: ${path} (${summary})`);
  }
  if (values.model) {
    const { Registry, defaultRegistryUri } = await import("../src/registry/index.js");
    const { putProfile } = await import("../src/registry/profiles.js");
    const registry = await Registry.open(values.registry ?? defaultRegistryUri());
    const mv = await registry.resolve(values.model);
    out(`profile: ${await putProfile(registry.store, mv.name, mv.version, profile)} (${summary}), the reference of ${mv.name}:${mv.version}`);
  }
  return 0;
}

const fmt = (x: number): string => (x === Infinity || x > 1e300 ? "inf" : x !== 0 && (Math.abs(x) < 1e-4 || Math.abs(x) >= 1e6) ? x.toExponential(3) : x.toFixed(4));

/** `--retrain-cooldown`: a duration (30m, 6h, 1d) or 0 (no cooldown); absent, the runtime's default. */
function cooldownFlag(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (text === "0") return 0;
  return durationSeconds(text, "--retrain-cooldown");
}
