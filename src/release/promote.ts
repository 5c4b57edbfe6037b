import { MlopsError, NotFoundError, ifNotFound } from "../errors.js";
import { sha256 } from "../features/registry.js";
import { promoteVersion } from "../registry/promote.js";
import { profileKey } from "../registry/profiles.js";
import type { Registry } from "../registry/registry.js";
import type { ModelVersion } from "../registry/types.js";
import { runKey } from "../runs/store.js";
import type { ObjectStore } from "../store/types.js";
import { actorFromEnv, writeAudit, type Actor, type PromotionAudit, type PromotionStep } from "./audit.js";
import { driftCheck, gateCheck, sloCheck, type CheckName, type CheckResult, type SloOptions } from "./checks.js";
import { DEFAULT_IMAGE_CONFIG_KEY, applyStackPlan, planStack, stackConfigOf, type StackDriver, type StackRollout, type StackTarget } from "./rollout.js";
import { copyRelease, releaseKey, resolveRelease } from "./store.js";
import type { ReleaseRecord } from "./types.js";

/** The alias a promotion moves in the target when none is given: what the prod endpoints follow. */
export const DEFAULT_PROMOTE_ALIAS = "champion";
/** The checks demanded when none are named (`slo` joins them when an SLO query is given). */
export const DEFAULT_REQUIRE: readonly CheckName[] = ["gate", "no-drift"];

export interface PromoteReleaseOptions {
  /** @default "champion" */
  readonly alias?: string;
  /** @default ["gate", "no-drift"], plus "slo" when {@link slo} is given */
  readonly require?: readonly CheckName[];
  readonly slo?: SloOptions;
  /** Check and plan, write nothing (no copy, no alias, no stack config, no audit). */
  readonly dryRun?: boolean;
  /** A stack whose config carries what only a deployment rolls out (the image), updated through {@link StackDriver}. */
  readonly stack?: { readonly driver: StackDriver; readonly target: StackTarget; readonly imageConfigKey?: string };
  /** @default actorFromEnv() */
  readonly actor?: Actor;
  readonly now?: () => Date;
}

/** What {@link promoteRelease} did; the audit record holds the same. */
export interface PromotionOutcome extends Omit<PromotionAudit, "kind" | "outcome"> {
  readonly outcome: PromotionAudit["outcome"] | "dry-run";
  /** The audit record's URI (none in a dry run). */
  readonly audit?: string;
  /** The checks that failed, when refused. */
  readonly failed: readonly CheckResult[];
}

/**
 * Promotes a release from one stage's registry into the next one's: checks what the target demands, then
 * copies what the release references (model version, reference profile, run record, the release record
 * itself), rolls out the stack config when one is given, and moves the target alias last, so endpoints
 * following it never see a model whose image or baseline is not there yet. Every attempt is audited in the
 * target (refusals and no-ops too). Idempotent: what is already there is found by digest and left alone.
 *
 * @param ref a release reference in `source` (see {@link resolveRelease})
 */
export async function promoteRelease(source: Registry, target: Registry, ref: string, opts: PromoteReleaseOptions = {}): Promise<PromotionOutcome> {
  if (source.uri === target.uri) {
    throw MlopsError.of("--to", "is the same registry as --from", target.uri, "Promote into the next stage's registry (e.g. --to s3://models-prod).");
  }
  const now = opts.now ?? (() => new Date());
  const alias = opts.alias ?? DEFAULT_PROMOTE_ALIAS;
  const record = await resolveRelease(source.store, ref);
  const rel = record.release;
  const srcVersion = await versionByDigest(source, rel.model.name, rel.model.digest, rel.model.version);
  if (!srcVersion) {
    throw new NotFoundError(`Release ${rel.name}@${record.digest.slice(0, 19)} references ${rel.model.name} ${rel.model.digest}, which ${source.uri} does not hold. Promote the release from the registry it was created in or promoted into.`);
  }

  const base = {
    at: now().toISOString(),
    actor: opts.actor ?? actorFromEnv(),
    release: { name: rel.name, digest: record.digest },
    from: source.uri,
    to: target.uri,
    alias,
  };
  const checks = await runChecks(source, record, srcVersion, opts);
  const failed = checks.filter((c) => !c.passed);
  if (failed.length > 0) {
    const audit: PromotionAudit = { kind: "PromotionAudit", ...base, outcome: "refused", checks, steps: [] };
    const uri = opts.dryRun ? undefined : await writeAudit(target.store, audit);
    return { ...base, outcome: opts.dryRun ? "dry-run" : "refused", checks, steps: [], failed, ...(uri ? { audit: uri } : {}) };
  }

  const dry = opts.dryRun === true;
  const steps: PromotionStep[] = [];
  let targetVersion: number | undefined;
  const failedAudit = async (err: unknown) => {
    // What was copied stays (copying again is idempotent); the attempt is on record, the alias unmoved.
    if (!dry) await writeAudit(target.store, { kind: "PromotionAudit", ...base, outcome: "failed", checks, steps, error: String((err as Error)?.message ?? err), ...(targetVersion !== undefined ? { targetVersion } : {}) });
    return err;
  };
  // Everything is read and checked before anything is written: a release that cannot be promoted whole
  // leaves the target untouched.
  const profile = rel.profile ? await releasedProfile(source, srcVersion, record) : undefined;
  const runBytes = rel.run?.recorded ? await source.store.get(runKey(rel.model.name, rel.run.runId)) : undefined;
  const run = runBytes && rel.run ? { key: runKey(rel.model.name, rel.run.runId), bytes: runBytes } : undefined;
  // The stack is selected and read first too: one that cannot be reached stops here.
  const plan = opts.stack
    ? await planStack(opts.stack.driver, opts.stack.target, stackConfigOf(rel, opts.stack.imageConfigKey ?? DEFAULT_IMAGE_CONFIG_KEY)).catch(async (err: unknown) => {
        throw await failedAudit(err);
      })
    : undefined;
  // 1. The model version, found in the target by digest or copied (the target numbers it).
  const existing = await versionByDigest(target, rel.model.name, rel.model.digest);
  targetVersion = existing?.version;
  if (existing) steps.push({ what: "model", action: "present", detail: `${rel.model.name}:${existing.version} holds ${rel.model.digest}` });
  else if (dry) steps.push({ what: "model", action: "would-copy", detail: `${rel.model.name}:${srcVersion.version} → next version of ${target.uri}` });
  else {
    const { promoted } = await promoteVersion(source, target, { name: srcVersion.name, version: srcVersion.version });
    targetVersion = promoted.version;
    steps.push({ what: "model", action: "copied", detail: `${rel.model.name}:${srcVersion.version} → ${rel.model.name}:${promoted.version}` });
  }
  // 2. The drift reference profile, beside the target's version.
  if (profile) steps.push(await copyObject(target.store, targetVersion === undefined ? undefined : profileKey(rel.model.name, targetVersion), profile, "profile", dry));
  // 3. The run record, under the same key (run ids are unique across stages).
  if (run) steps.push(await copyObject(target.store, run.key, run.bytes, "run", dry));
  // 4. The release record, as it is (same bytes, same createdAt).
  if (await target.store.exists(releaseKey(rel.name, record.digest))) steps.push({ what: "release", action: "present", detail: record.digest });
  else if (dry) steps.push({ what: "release", action: "would-copy", detail: record.digest });
  else {
    await copyRelease(target.store, record);
    steps.push({ what: "release", action: "copied", detail: record.digest });
  }
  // 5. What only a deployment rolls out, before the alias makes the endpoints load the model.
  let stack: StackRollout | undefined;
  if (plan) {
    stack = await applyStackPlan(plan, { dryRun: dry }).catch(async (err: unknown) => {
      throw await failedAudit(err);
    });
    const keys = stack.config.map((c) => `${c.key}=${c.to}`).join(", ");
    steps.push({ what: "stack", action: stack.action === "planned" ? "would-update" : stack.action, detail: `${stack.stack}${keys ? `: ${keys}` : ""}` });
  }
  // 6. The alias, last.
  const current = await target.aliases(rel.model.name).catch(ifNotFound({} as Record<string, number>));
  if (targetVersion !== undefined && current[alias] === targetVersion) steps.push({ what: "alias", action: "unchanged", detail: `${rel.model.name}@${alias} → ${targetVersion}` });
  else if (dry) steps.push({ what: "alias", action: "would-move", detail: `${rel.model.name}@${alias}: ${current[alias] ?? "unset"} → ${targetVersion ?? "the copied version"}` });
  else {
    await target.setAlias(rel.model.name, alias, targetVersion!);
    steps.push({ what: "alias", action: "moved", detail: `${rel.model.name}@${alias}: ${current[alias] ?? "unset"} → ${targetVersion}` });
  }

  const changed = steps.some((s) => !["present", "unchanged"].includes(s.action));
  const outcome = dry ? "dry-run" : changed ? "promoted" : "no-op";
  const result = { ...base, checks, steps, failed, ...(targetVersion !== undefined ? { targetVersion } : {}), ...(stack ? { stack } : {}) };
  if (dry) return { ...result, outcome };
  const { failed: _none, ...audited } = result;
  const uri = await writeAudit(target.store, { kind: "PromotionAudit", ...audited, outcome: outcome as "promoted" | "no-op" });
  return { ...result, outcome, audit: uri };
}

async function runChecks(source: Registry, record: ReleaseRecord, version: ModelVersion, opts: PromoteReleaseOptions): Promise<CheckResult[]> {
  const require = opts.require ?? [...DEFAULT_REQUIRE, ...(opts.slo ? (["slo"] as const) : [])];
  const out: CheckResult[] = [];
  for (const name of require) {
    if (name === "gate") out.push(gateCheck(record.release, version));
    else if (name === "no-drift") out.push(await driftCheck(source, version));
    else if (name === "slo") {
      if (!opts.slo) throw MlopsError.of("--require", "names slo without an SLO query", "slo", "Give --slo-query <promql> --slo-min <x> --prometheus <url> (and --window), or drop slo from --require.");
      out.push(await sloCheck(opts.slo));
    }
  }
  return out;
}

/** The source's profile bytes of the released version, checked against the digest the release recorded. */
async function releasedProfile(source: Registry, version: ModelVersion, record: ReleaseRecord): Promise<Buffer> {
  const bytes = await source.store.get(profileKey(version.name, version.version));
  const released = record.release.profile!.digest;
  if (!bytes || sha256(bytes) !== released) {
    const what = bytes ? `has changed since release ${record.release.name}@${record.digest.slice(0, 19)} was made (digest ${sha256(bytes)}, released ${released})` : "is missing";
    throw new MlopsError(
      `The reference profile of ${version.name}:${version.version} in ${source.uri} ${what}; the release cannot be promoted with the baseline it was validated with. Create a new release (mlops release create).`,
    );
  }
  return bytes;
}

/** The version of `name` in `registry` holding `digest` (the hinted version first, as it usually is). */
async function versionByDigest(registry: Registry, name: string, digest: string, hint?: number): Promise<ModelVersion | undefined> {
  if (hint !== undefined) {
    const v = await registry.get(name, hint).catch(ifNotFound(undefined));
    if (v?.digest === digest) return v;
  }
  const all = await registry.list(name).catch(ifNotFound([] as ModelVersion[]));
  return all.find((v) => v.digest === digest);
}

/** Puts `bytes` at `key` unless the same bytes are there already. */
async function copyObject(store: ObjectStore, key: string | undefined, bytes: Buffer, what: PromotionStep["what"], dry: boolean): Promise<PromotionStep> {
  const existing = key === undefined ? undefined : await store.get(key);
  if (existing && existing.equals(bytes)) return { what, action: "present", detail: store.uriOf(key!) };
  if (dry) return { what, action: "would-copy", detail: key ? store.uriOf(key) : "beside the copied version" };
  await store.put(key!, bytes);
  return { what, action: "copied", detail: store.uriOf(key!) };
}
