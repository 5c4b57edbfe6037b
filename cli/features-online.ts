/**
 * `mlops features materialize | get | serve`: the online side of the feature store (runtime/features/).
 */
import { MlopsError } from "../src/errors.js";
import { createLogger } from "../src/log.js";
import { FEATURE_DEFAULTS, FEATURE_SPEC_ENV, parseFeatureStoreSpec, type FeatureStoreSpec } from "../src/spec/features.js";
import { intFlag, parse, positionals } from "./args.js";
import { readSpecFile } from "./spec.js";

const USAGE = {
  materialize: "mlops features materialize --spec <features.yaml> (--start <iso> --end <iso> | --incremental [--end <iso>])",
  get: "mlops features get --spec <features.yaml> --entity <key>=<value>… --features <view:feature,…> [--full-feature-names]",
  serve: "mlops features serve --spec <features.yaml> [--host 127.0.0.1] [--port 6566]",
} as const;

export async function onlineCommand(sub: string, argv: string[], out: (s: string) => void): Promise<number> {
  switch (sub) {
    case "materialize":
      return materializeCommand(argv, out);
    case "get":
      return getCommand(argv, out);
    case "serve":
      return serveCommand(argv, out);
    default:
      throw new MlopsError(`unknown features command ${JSON.stringify(sub)}`);
  }
}

/** `--spec <file>`, else (the container's boot path, as the FeatureStore component runs it) MLOPS_FEATURE_SPEC. */
async function loadSpec(file: string | undefined, usage: string): Promise<FeatureStoreSpec> {
  if (file) return parseFeatureStoreSpec(await readSpecFile(file), file);
  const text = process.env[FEATURE_SPEC_ENV];
  if (!text) throw new MlopsError(`--spec is required (or set ${FEATURE_SPEC_ENV})\nusage: ${usage}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw MlopsError.of(FEATURE_SPEC_ENV, `is not valid JSON (${(e as Error).message})`, text.slice(0, 60), "Set it to the FeatureStore spec as JSON, or pass --spec <file>.");
  }
  return parseFeatureStoreSpec(json, FEATURE_SPEC_ENV);
}

/** An ISO 8601 time flag (no offset means UTC). */
function timeFlag(value: string | undefined, flag: string): Date | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?))?(Z|[+-]\d{2}:?\d{2})?$/i.exec(value.trim());
  const ms = m ? Date.parse(`${m[1]}T${m[2] ?? "00:00:00"}${m[2]?.length === 5 ? ":00" : ""}${m[3] ?? "Z"}`) : NaN;
  if (Number.isNaN(ms)) throw MlopsError.of(`--${flag}`, "is not an ISO 8601 time", value, 'Pass e.g. "2026-01-02", "2026-01-02T03:04:05Z" or "2026-01-02T03:04:05+02:00" (no offset means UTC).');
  return new Date(ms);
}

async function materializeCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const usage = USAGE.materialize;
  const { values, positionals: pos } = parse(argv, { spec: { type: "string" }, start: { type: "string" }, end: { type: "string" }, incremental: { type: "boolean" } }, usage);
  positionals(pos, [], usage);
  const spec = await loadSpec(values.spec, usage);
  const start = timeFlag(values.start, "start");
  const end = timeFlag(values.end, "end");
  if (!values.incremental && (!start || !end)) throw new MlopsError(`pass --start and --end, or --incremental\nusage: ${usage}`);
  const { materialize } = await import("../runtime/features/materialize.js");
  const summaries = await materialize(spec, {
    ...(start ? { start } : {}),
    ...(end ? { end } : {}),
    incremental: Boolean(values.incremental),
    progress: (line) => process.stderr.write(line + "\n"),
  });
  for (const s of summaries) out(JSON.stringify(s));
  return 0;
}

/** `--entity customer_id=1 --entity customer_id=2`: one column per key, one value per flag. */
function entityColumns(pairs: readonly string[] | undefined, usage: string): Record<string, string[]> {
  if (!pairs || pairs.length === 0) throw new MlopsError(`--entity is required\nusage: ${usage}`);
  const columns: Record<string, string[]> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw MlopsError.of("--entity", "is not a key=value pair", pair, "Write --entity customer_id=1001 (repeat it for more rows).");
    (columns[pair.slice(0, eq)] ??= []).push(pair.slice(eq + 1));
  }
  return columns;
}

async function getCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const usage = USAGE.get;
  const { values, positionals: pos } = parse(
    argv,
    { spec: { type: "string" }, entity: { type: "string", multiple: true }, features: { type: "string" }, "full-feature-names": { type: "boolean" } },
    usage,
  );
  positionals(pos, [], usage);
  const spec = await loadSpec(values.spec, usage);
  if (!values.features) throw new MlopsError(`--features is required\nusage: ${usage}`);
  const features = values.features.split(",").map((s) => s.trim()).filter(Boolean);
  const entities = entityColumns(values.entity, usage);
  const [{ openOnlineStore }, { answerOnlineFeatures }, { PlanCache, RequestError }] = await Promise.all([
    import("../runtime/features/online/index.js"),
    import("../runtime/features/server.js"),
    import("../runtime/features/online/request.js"),
  ]);
  const store = await openOnlineStore(spec);
  try {
    // The body the server would receive; flag names stand in for the JSON fields in errors.
    const body = { features, entities, full_feature_names: Boolean(values["full-feature-names"]) };
    out(await answerOnlineFeatures(store, new PlanCache(spec), body));
  } catch (e) {
    if (e instanceof RequestError) throw new MlopsError(e.message.replace(/^features\b/, "--features").replace(/^entities\./, "--entity "));
    throw e;
  } finally {
    await store.close();
  }
  return 0;
}

async function serveCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const usage = USAGE.serve;
  const { values, positionals: pos } = parse(argv, { spec: { type: "string" }, host: { type: "string" }, port: { type: "string" }, "log-level": { type: "string" } }, usage);
  positionals(pos, [], usage);
  const spec = await loadSpec(values.spec, usage);
  const level = values["log-level"] ?? "info";
  if (!["debug", "info", "warn", "error"].includes(level)) throw MlopsError.of("--log-level", "is not a log level", level, "Use debug, info, warn or error.");
  const logger = createLogger({ level: level as "info" });
  const { startFeatureServer } = await import("../runtime/features/server-listen.js");
  const server = await startFeatureServer(spec, {
    host: values.host ?? "127.0.0.1",
    port: intFlag(values.port, "port", FEATURE_DEFAULTS.servePort, 0, 65535),
    logger,
    handleSignals: true,
  });
  out(JSON.stringify({ url: server.url, store: spec.name, online: "redis" in spec.online ? "redis" : "embedded" }));
  return -1; // keep running: the signal handler exits
}
