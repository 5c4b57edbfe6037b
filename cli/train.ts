import { constants } from "node:os";
import { MlopsError } from "../src/errors.js";
import { createLogger } from "../src/log.js";
import { TRAIN_SPEC_ENV, parseTrainSpec } from "../src/spec/train.js";
import { parse, positionals } from "./args.js";
import { readSpecFile } from "./spec.js";

const USAGE = "mlops train --spec <file.yaml|json> [--run-id <id>] [--pushgateway <url>]   (or MLOPS_TRAIN_SPEC in the environment; MLOPS_PUSHGATEWAY)";

/** `mlops train`: runs one training job; exit 0 when the gate passed, 3 when it failed, 128 + signal (143) when stopped. */
export async function trainCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals: pos } = parse(argv, { spec: { type: "string" }, "run-id": { type: "string" }, pushgateway: { type: "string" } }, USAGE);
  positionals(pos, [], USAGE);
  const progress = process.stderr.isTTY ? "tty" : "json";
  const runtime = await import("../runtime/train/index.js");
  let run: (signal: AbortSignal) => Promise<Awaited<ReturnType<typeof runtime.runTraining>>>;
  if (values.spec) {
    let raw = await readSpecFile(values.spec);
    if (values["run-id"] && raw && typeof raw === "object") raw = { ...raw, runId: values["run-id"] };
    const spec = parseTrainSpec(raw, values.spec);
    const logger = createLogger({ fields: { job: spec.name } });
    run = (signal) => runtime.runTraining(spec, { logger, signal, progress, ...(values.pushgateway ? { pushgateway: values.pushgateway } : {}) });
  } else if (process.env[TRAIN_SPEC_ENV]) {
    // The container's boot path: the spec, the run id and (Indexed Jobs) the rank come from the pod env.
    const env = values["run-id"] ? { ...process.env, MLOPS_RUN_ID: values["run-id"] } : process.env;
    run = (signal) => runtime.trainFromEnv(env, { logger: createLogger(), signal, progress, ...(values.pushgateway ? { pushgateway: values.pushgateway } : {}) });
  } else {
    throw new MlopsError(`--spec is required (or set ${TRAIN_SPEC_ENV})\nusage: ${USAGE}`);
  }
  const abort = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    stoppedBy ??= signal;
    abort.abort(new Error(`terminated by ${signal}`));
  };
  // `on`, not `once`: a second signal must not fall through to Node's default (exit without a checkpoint).
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    const result = await run(abort.signal);
    out(JSON.stringify(result));
    if (result.status === "gate-failed") {
      process.stderr.write(`gate failed: ${result.reason ?? "see the metrics above"}; no alias moved\n`);
      return 3;
    }
    return 0;
  } catch (err) {
    // Stopped by a signal, checkpoint kept: exit as a process killed by it would (143 for SIGTERM).
    if (!(err instanceof runtime.TrainingAbortedError)) throw err;
    process.stderr.write(`stopped: ${err.message}\n`);
    return 128 + (constants.signals[stoppedBy ?? "SIGTERM"] ?? 15);
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}
