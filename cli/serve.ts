import { ENDPOINT_DEFAULTS, endpointSpecFromEnv, parseEndpointSpec, ENDPOINT_SPEC_ENV } from "../src/spec/endpoint.js";
import { MlopsError } from "../src/errors.js";
import { parseModelRef } from "../src/spec/model-ref.js";
import { defaultRegistryUri } from "../src/registry/index.js";
import { createLogger } from "../src/log.js";
import { intFlag, numberFlag, parse, positionals } from "./args.js";

const USAGE =
  "mlops serve --model <name>@<alias>|<name>:<version> [--registry <uri>] [--host 127.0.0.1] [--port 8080] [--max-batch-size N] [--max-batch-delay-ms N] [--poll-interval-s N] [--auth-token-env VAR] [--metrics-port N] [--shutdown-delay-s N]";

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
    },
    USAGE,
  );
  positionals(pos, [], USAGE);
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
