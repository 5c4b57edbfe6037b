import { ENDPOINT_DEFAULTS, endpointSpecFromEnv, parseEndpointSpec, ENDPOINT_SPEC_ENV } from "../src/spec/endpoint.js";
import { MlopsError } from "../src/errors.js";
import { parseModelRef } from "../src/spec/model-ref.js";
import { defaultRegistryUri } from "../src/registry/index.js";
import { createLogger } from "../src/log.js";
import type { EndpointFeaturesInput } from "../src/spec/endpoint-features.js";
import { intFlag, numberFlag, parse, positionals } from "./args.js";
import { readSpecFile } from "./spec.js";

const USAGE =
  "mlops serve --model <name>@<alias>|<name>:<version> [--registry <uri>] [--host 127.0.0.1] [--port 8080] [--max-batch-size N] [--max-batch-delay-ms N] [--poll-interval-s N] [--auth-token-env VAR] [--metrics-port N] [--shutdown-delay-s N] [--payload-log-uri <uri> [--payload-sample-rate R]]" +
  " [--features-spec <features.yaml> --entity <name> --features <view:feature,…> [--feature-input <input>] [--fill-missing <number>]] [--variants <variants.yaml>]";

/**
 * `mlops serve`. With `--model` the spec is built from the flags; with no flags at all (the container's
 * boot path) it is read from MLOPS_ENDPOINT_SPEC. Resolves once the server is listening; the process then
 * lives until SIGTERM/SIGINT, which drains and exits.
 */
export async function serveCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const { runFromEnv, startServer } = await import("../runtime/serve/main.js");
  if (argv.length === 0 && process.env[ENDPOINT_SPEC_ENV]) {
    endpointSpecFromEnv(); // fail fast, naming the bad field, before anything else starts
    await runFromEnv(process.env);
    return -1;
  }
  const { values, positionals: pos } = parse(
    argv,
    {
      model: { type: "string" },
      registry: { type: "string" },
      host: { type: "string" },
      port: { type: "string" },
      name: { type: "string" },
      "max-batch-size": { type: "string" },
      "max-batch-delay-ms": { type: "string" },
      "poll-interval-s": { type: "string" },
      "auth-token-env": { type: "string" },
      "log-level": { type: "string" },
      "metrics-port": { type: "string" },
      "shutdown-delay-s": { type: "string" },
      "payload-log-uri": { type: "string" },
      "payload-sample-rate": { type: "string" },
      "features-spec": { type: "string" },
      entity: { type: "string" },
      features: { type: "string" },
      "feature-input": { type: "string" },
      "fill-missing": { type: "string" },
      variants: { type: "string" },
    },
    USAGE,
  );
  positionals(pos, [], USAGE);
  if (values["payload-sample-rate"] !== undefined && values["payload-log-uri"] === undefined) {
    throw MlopsError.of("--payload-sample-rate", "needs --payload-log-uri", values["payload-sample-rate"], "Give --payload-log-uri s3://bucket/prefix (or file:///path) to say where the payload records go.");
  }
  if (!values.model) {
    throw new MlopsError(`--model is required (or set ${ENDPOINT_SPEC_ENV})\nusage: ${USAGE}`);
  }
  const tokenEnv = values["auth-token-env"];
  const token = tokenEnv ? process.env[tokenEnv] : undefined;
  if (tokenEnv && !token) {
    throw MlopsError.of("--auth-token-env", "names an unset or empty variable", tokenEnv, `Export ${tokenEnv}=<token> first.`);
  }
  const spec = parseEndpointSpec(
    {
      // Endpoint names are DNS-label-like; model names may also hold "." and "_".
      name: values.name ?? parseModelRef(values.model, "--model").name.replace(/[._]/g, "-"),
      model: values.model,
      registry: values.registry ?? defaultRegistryUri(),
      server: {
        host: values.host ?? "127.0.0.1",
        port: intFlag(values.port, "port", 8080, 0, 65535),
        ...(values["metrics-port"] !== undefined ? { metricsPort: intFlag(values["metrics-port"], "metrics-port", 9090, 0, 65535) } : {}),
        shutdownDelaySeconds: numberFlag(values["shutdown-delay-s"], "shutdown-delay-s", ENDPOINT_DEFAULTS.shutdownDelaySeconds, 0, 300),
      },
      batching: {
        maxBatchSize: intFlag(values["max-batch-size"], "max-batch-size", ENDPOINT_DEFAULTS.maxBatchSize, 1, 4096),
        maxBatchDelayMs: numberFlag(values["max-batch-delay-ms"], "max-batch-delay-ms", ENDPOINT_DEFAULTS.maxBatchDelayMs, 0, 1000),
      },
      pollIntervalSeconds: numberFlag(values["poll-interval-s"], "poll-interval-s", 2, 0.05, 3600),
      auth: { enabled: Boolean(token) },
      ...(values["log-level"] ? { logLevel: values["log-level"] } : {}),
      ...(values["payload-log-uri"] !== undefined
        ? { logging: { uri: values["payload-log-uri"], sampleRate: numberFlag(values["payload-sample-rate"], "payload-sample-rate", 1, 0, 1) } }
        : {}),
      ...(await featuresFlags(values)),
      // A canary and/or a shadow: the EndpointSpec's `variants` block (src/spec/endpoint-variants.ts), from a file.
      ...(values.variants !== undefined ? { variants: await readSpecFile(values.variants, "--variants") } : {}),
    },
    "mlops serve",
  );
  const logger = createLogger({ level: spec.logLevel });
  // Listen at once and load in the background (retrying), as in a cluster: the endpoint may start before
  // the first training run has registered its model. Failed attempts are logged with the reason.
  const server = await startServer(spec, { logger, handleSignals: true, waitForModel: false, ...(token ? { authToken: token } : {}) });
  out(JSON.stringify({ url: server.url, ...(server.metricsUrl ? { metricsUrl: server.metricsUrl } : {}), model: spec.model, registry: spec.registry }));
  return -1; // keep running: the signal handler exits
}

/**
 * Serving by entity id from flags: `--features-spec` is the FeatureStore spec `mlops features` reads (its
 * online store is opened at boot), `--entity` and `--features` (in the model's input order) the rest of the
 * EndpointSpec's `features` block, which parseEndpointSpec then checks like any other.
 */
async function featuresFlags(values: Record<string, string | boolean | undefined>): Promise<{ features?: EndpointFeaturesInput }> {
  const file = values["features-spec"];
  const rest = (["entity", "features", "feature-input", "fill-missing"] as const).filter((k) => values[k] !== undefined);
  if (typeof file !== "string") {
    if (rest.length > 0) throw MlopsError.of(`--${rest[0]}`, "needs --features-spec", values[rest[0]!], `Pass --features-spec <features.yaml> (the FeatureStore spec) too.\nusage: ${USAGE}`);
    return {};
  }
  for (const k of ["entity", "features"] as const) {
    if (typeof values[k] !== "string") throw MlopsError.of(`--${k}`, "is required with --features-spec", undefined, `usage: ${USAGE}`);
  }
  const fill = values["fill-missing"];
  return {
    features: {
      store: (await readSpecFile(file, "--features-spec")) as EndpointFeaturesInput["store"],
      entity: values.entity as string,
      features: (values.features as string).split(",").map((f) => f.trim()).filter((f) => f.length > 0),
      ...(typeof values["feature-input"] === "string" ? { input: values["feature-input"] } : {}),
      ...(typeof fill === "string" ? { missing: { fill: numberFlag(fill, "fill-missing", 0, -Number.MAX_VALUE, Number.MAX_VALUE) } } : {}),
    },
  };
}
