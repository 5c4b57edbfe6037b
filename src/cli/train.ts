import { MlopsError } from "../errors.js";
import { createLogger } from "../log.js";
import { TRAIN_SPEC_ENV, parseTrainSpec } from "../spec/train.js";
import { parse, positionals } from "./args.js";
import { readSpecFile } from "./spec.js";

const USAGE = "mlops train --spec <file.yaml|json> [--run-id <id>]   (or MLOPS_TRAIN_SPEC in the environment)";

/** `mlops train`: runs one training job; exit 0 when the gate passed, 3 when it failed. */
export async function trainCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals: pos } = parse(argv, { spec: { type: "string" }, "run-id": { type: "string" } }, USAGE);
  positionals(pos, [], USAGE);
  let raw: unknown;
  let source: string;
  if (values.spec) {
    raw = await readSpecFile(values.spec);
    source = values.spec;
  } else if (process.env[TRAIN_SPEC_ENV]) {
    try {
      raw = JSON.parse(process.env[TRAIN_SPEC_ENV]!);
    } catch (e) {
      throw MlopsError.of(TRAIN_SPEC_ENV, `is not valid JSON (${(e as Error).message})`, process.env[TRAIN_SPEC_ENV], "Render it with renderTrainSpec().");
    }
    source = TRAIN_SPEC_ENV;
  } else {
    throw new MlopsError(`--spec is required (or set ${TRAIN_SPEC_ENV})\nusage: ${USAGE}`);
  }
  if (values["run-id"] && raw && typeof raw === "object") raw = { ...raw, runId: values["run-id"] };
  const spec = parseTrainSpec(raw, source);
  const { runTraining } = await import("../../runtime/train/index.js");
  const logger = createLogger({ fields: { job: spec.name } });
  const abort = new AbortController();
  const onSignal = () => abort.abort(new Error("terminated by signal"));
  // `on`, not `once`: a second signal must not fall through to Node's default (exit without a checkpoint).
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    const result = await runTraining(spec, { logger, signal: abort.signal, progress: process.stderr.isTTY ? "tty" : "json" });
    out(JSON.stringify(result));
    if (!result.passed) {
      process.stderr.write(`gate failed: ${result.reason ?? "see the metrics above"}; no alias moved\n`);
      return 3;
    }
    return 0;
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}
