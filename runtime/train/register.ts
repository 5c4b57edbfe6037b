/**
 * The end of a training run: score the trained model on the holdout (and the `mustBeat` holder on the
 * same rows), apply the gate, and on a pass register the version with its lineage and move the alias.
 */
import { ifNotFound } from "../../src/errors.js";
import type { ModelVersion, Registry } from "../../src/registry/index.js";
import { JOB_ENV } from "../../src/spec/env.js";
import type { TrainSpec } from "../../src/spec/train.js";
import type { TrainerOutput } from "./builtin.js";
import type { Dataset } from "./dataset.js";
import { scoreModel } from "./evaluate.js";
import { checkGate, constantMetrics, defaultCompareOn } from "./gate.js";
import type { RunContext, TrainResult } from "./job.js";
import { codeRevisionOf } from "./revision.js";

/** What the trainer produced, for {@link gateAndRegister}. */
export interface Trained {
  readonly data: Dataset;
  readonly output: TrainerOutput;
  /** The first step the trainer reported after its checkpoint was restored. */
  readonly resumedFromStep?: number;
}

/**
 * Scores, gates and (on a pass) registers one trained model. A failed gate resolves with status
 * `gate-failed` and registers nothing; a runId already registered resolves with that version.
 */
export async function gateAndRegister(ctx: RunContext, trained: Trained): Promise<TrainResult> {
  const { spec, registry, runId, log } = ctx;
  const { data, output, resumedFromStep } = trained;
  const scored = await scoreModel(output.model, data.holdout, spec.task);
  const metrics: Record<string, number> = { ...scored };
  for (const [k, v] of Object.entries(output.trainerMetrics)) metrics[`trainer_${k}`] = v;
  log.info("model scored on the holdout", scored);

  let baseline: TrainResult["baseline"];
  if (spec.gate.mustBeat) {
    const holder = await resolveAlias(registry, spec.model, spec.gate.mustBeat);
    if (!holder) {
      log.info(`no ${spec.model}@${spec.gate.mustBeat} yet: mustBeat passes (first model)`, { alias: spec.gate.mustBeat });
    } else {
      let theirs: Record<string, number>;
      try {
        theirs = await scoreModel(await registry.readArtifact(holder), data.holdout, spec.task);
      } catch (err) {
        const reason = `gate.mustBeat: ${spec.model}@${spec.gate.mustBeat} (version ${holder.version}) cannot be scored on this holdout (${(err as Error).message})`;
        log.warn("gate failed", { reason });
        return { runId, status: "gate-failed", reason, metrics, resumedFromStep };
      }
      baseline = { alias: spec.gate.mustBeat, version: holder.version, metrics: theirs };
      log.info(`${spec.gate.mustBeat} scored on the same holdout`, { version: holder.version, ...theirs });
    }
  }

  const constant = constantMetrics(data.train.y, data.holdout.y, spec.task);
  const decision = checkGate({ task: spec.task, gate: spec.gate, metrics, baseline, constant });
  if (!decision.passed) {
    const reason = `gate failed: ${decision.failures.join("; ")}`;
    log.warn("gate failed; nothing registered, no alias moved", { reason });
    return { runId, status: "gate-failed", reason, metrics, baseline, resumedFromStep };
  }

  // Registered once per runId, even when two attempts of the same run race to this point.
  const again = await findRun(registry, spec.model, runId);
  if (again) return { runId, status: "registered", metrics: { ...again.metrics }, baseline, version: again, resumedFromStep };

  const parentVersion = (await resolveAlias(registry, spec.model, spec.alias))?.version;
  // The run record read it at start; without one (a worker-less path), read it here.
  const codeRevision = spec.lineage.codeRevision ?? ctx.run?.codeRevision ?? (await codeRevisionOf(spec, ctx.cwd));
  const imageDigest = spec.lineage.imageDigest ?? process.env[JOB_ENV.imageDigest];
  const version = await registry.register(spec.model, output.model, {
    metrics: Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v))),
    params: registeredParams(spec),
    lineage: {
      datasetUri: data.uri,
      datasetDigest: data.digest,
      ...(data.trainingSet ? { trainingSet: data.trainingSet } : {}),
      trainer: "builtin" in spec.trainer ? `builtin:${spec.trainer.builtin}` : spec.trainer.command.join(" "),
      runId,
      ...(codeRevision ? { codeRevision } : {}),
      ...(imageDigest ? { imageDigest } : {}),
      ...(parentVersion !== undefined ? { parentVersion } : {}),
    },
    alias: spec.alias,
  });
  log.info("model registered", { model: spec.model, version: version.version, alias: spec.alias, ...(parentVersion !== undefined ? { parentVersion } : {}), compareOn: spec.gate.mustBeat ? (spec.gate.compareOn ?? defaultCompareOn(spec.task)) : undefined });
  return { runId, status: "registered", metrics, baseline, version, alias: spec.alias, resumedFromStep };
}

/** The version registered by `runId`, if any. */
export async function findRun(registry: Registry, model: string, runId: string): Promise<ModelVersion | undefined> {
  return (await registry.list(model).catch(ifNotFound(undefined)))?.find((v) => v.lineage.runId === runId);
}

/** What reproduces the run: the trainer's params and the split. */
function registeredParams(spec: TrainSpec): Record<string, string> {
  const split = { holdoutFraction: String(spec.split.holdoutFraction), seed: String(spec.split.seed), workers: String(spec.workers) };
  if ("builtin" in spec.trainer) {
    return { l2: String(spec.trainer.l2), maxIterations: String(spec.trainer.maxIterations), tolerance: String(spec.trainer.tolerance), ...split };
  }
  return { ...spec.trainer.params, ...split };
}

function resolveAlias(registry: Registry, model: string, alias: string): Promise<ModelVersion | undefined> {
  // A model or alias that does not exist yet is an answer here (first run, first model), not an error.
  return registry.resolve(`${model}@${alias}`).catch(ifNotFound(undefined));
}
