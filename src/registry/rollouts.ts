/**
 * Rollout state (contract 5): what every replica of an endpoint with a canary follows, beside the model in
 * the registry's object store, the way aliases are.
 *
 * - `models/<name>/rollouts/current.json`: the state pods poll ({@link RolloutState}): the canary's version,
 *   its current weight and step, and its phase (`progressing`, `waiting`, `promoted`, `rolled-back`).
 * - `models/<name>/rollouts/revisions/<revision, 10 digits>.json`: every state ever written, one object per
 *   revision, created with `putIfAbsent`. This is the compare-and-swap: a writer that read revision n claims
 *   n + 1; of two replicas judging the same bake period, exactly one claim succeeds, the other gets a
 *   conflict back and re-reads. `current.json` is a copy of the newest revision, written after the claim;
 *   a writer that died between the two is repaired by the next reader ({@link readRollout} rolls forward).
 * - `models/<name>/rollouts/history/<ISO stamp>.json`: one record per rollback or promotion (and start),
 *   {@link RolloutEvent}; the stamp with `:` and `.` made key-safe, as the drift results are.
 *
 * The store offers atomic create (`putIfAbsent`) and atomic replace (`put`), not conditional replace;
 * the revision objects turn the first into a compare-and-swap that holds on S3 and on a local folder alike.
 */
import { MlopsError } from "../errors.js";
import { MODEL_NAME_PATTERN } from "../spec/model-ref.js";
import type { ObjectStore } from "../store/types.js";

export type CanaryPhase = "progressing" | "waiting" | "promoted" | "rolled-back";

/** One canary rollout, identified by the canary's version (and digest). */
export interface CanaryRollout {
  /** The reference the spec named (`fraud:4`, `fraud@challenger`). */
  readonly ref: string;
  readonly version: number;
  readonly digest: string;
  /** The stable reference and the version it resolved to when the rollout started. */
  readonly stableRef: string;
  readonly stableVersion: number;
  /** The share of infer requests (percent) the canary gets now; 0 once rolled back or promoted. */
  readonly weight: number;
  /** Index into the spec's weights (`weight`, then `steps`). */
  readonly step: number;
  readonly phase: CanaryPhase;
  /** Why the phase is what it is (the failed check, "promoted to fraud@champion", ...). */
  readonly reason?: string;
  readonly startedAt: string;
  /** When the current step began: its bake period ends `bakeSeconds` later. */
  readonly stepStartedAt: string;
}

export interface RolloutState {
  readonly model: string;
  /** 1 for the first state written, +1 per change. */
  readonly revision: number;
  readonly updatedAt: string;
  /** Who wrote it (a pod's hostname). */
  readonly updatedBy?: string;
  readonly canary?: CanaryRollout;
}

/** What a rollback, a promotion or a start looked like, for `history/`. */
export interface RolloutEvent {
  readonly at: string;
  readonly model: string;
  readonly kind: "start" | "step" | "rollback" | "promotion" | "waiting";
  readonly canaryVersion: number;
  readonly stableVersion: number;
  readonly weight: number;
  readonly reason: string;
  readonly revision: number;
  /** The numbers judged (requests, error ratios, p99s of both variants). */
  readonly analysis?: unknown;
  readonly by?: string;
}

function dir(name: string): string {
  if (!MODEL_NAME_PATTERN.test(name)) {
    throw MlopsError.of("model", "is not a model name", name, 'Use lowercase letters, digits, ".", "_" and "-" (e.g. "fraud").');
  }
  return `models/${name}/rollouts`;
}

export function rolloutKey(name: string): string {
  return `${dir(name)}/current.json`;
}

export function revisionKey(name: string, revision: number): string {
  return `${dir(name)}/revisions/${String(revision).padStart(10, "0")}.json`;
}

export function historyKey(name: string, at: string): string {
  return `${dir(name)}/history/${at.replace(/[:.]/g, "-")}.json`;
}

const json = (v: unknown): string => JSON.stringify(v, null, 2) + "\n";

function parseState(bytes: Buffer, uri: string): RolloutState {
  let v: RolloutState;
  try {
    v = JSON.parse(bytes.toString("utf8")) as RolloutState;
  } catch (e) {
    throw new MlopsError(`Rollout state ${uri} is not valid JSON (${(e as Error).message}). Delete it to start the rollout over.`);
  }
  if (typeof v?.revision !== "number" || typeof v.model !== "string") {
    throw new MlopsError(`Rollout state ${uri} has no revision or model. Delete it to start the rollout over.`);
  }
  return v;
}

/**
 * The newest rollout state of `name`, or undefined when none was ever written. Reads `current.json`, then
 * checks that no newer revision was claimed (a writer that died before copying it), and rolls forward.
 */
export async function readRollout(store: ObjectStore, name: string): Promise<RolloutState | undefined> {
  const bytes = await store.get(rolloutKey(name));
  let state: RolloutState | undefined;
  let damaged = false;
  try {
    state = bytes ? parseState(bytes, store.uriOf(rolloutKey(name))) : undefined;
  } catch (e) {
    // The revisions are the truth and current.json a copy: a torn or damaged copy is rebuilt from them.
    state = await newestRevision(store, name);
    if (!state) throw e;
    damaged = true;
  }
  const copied = state?.revision;
  for (;;) {
    const next = (state?.revision ?? 0) + 1;
    const claimed = await store.get(revisionKey(name, next));
    if (!claimed) break;
    state = parseState(claimed, store.uriOf(revisionKey(name, next)));
  }
  if (state && (damaged || state.revision !== copied)) await store.put(rolloutKey(name), json(state));
  return state;
}

async function newestRevision(store: ObjectStore, name: string): Promise<RolloutState | undefined> {
  const keys = await store.list(`${dir(name)}/revisions/`);
  const last = keys.filter((k) => k.endsWith(".json")).at(-1);
  const bytes = last ? await store.get(last) : undefined;
  return bytes ? parseState(bytes, store.uriOf(last!)) : undefined;
}

export type CasResult = { readonly ok: true; readonly state: RolloutState } | { readonly ok: false; readonly current: RolloutState | undefined };

/**
 * Compare-and-swap: writes `next` (its revision set to `expected`'s + 1) only if the newest state is still
 * revision `expectedRevision` (0: none written yet). On a conflict nothing is written and the newest state
 * comes back, for the caller to re-read and decide again.
 */
export async function casRollout(
  store: ObjectStore,
  name: string,
  expectedRevision: number,
  next: Omit<RolloutState, "revision" | "updatedAt" | "model">,
): Promise<CasResult> {
  const state: RolloutState = { model: name, ...next, revision: expectedRevision + 1, updatedAt: new Date().toISOString() };
  if (!(await store.putIfAbsent(revisionKey(name, state.revision), json(state)))) {
    return { ok: false, current: await readRollout(store, name) };
  }
  await store.put(rolloutKey(name), json(state));
  return { ok: true, state };
}

/** Records a rollback, promotion or start under `history/`; returns its URI. */
export async function writeRolloutEvent(store: ObjectStore, e: RolloutEvent): Promise<string> {
  let key = historyKey(e.model, e.at);
  // Two events in one millisecond (a step and a promotion): the second gets a suffix, never overwrites.
  for (let i = 1; !(await store.putIfAbsent(key, json(e))); i++) key = historyKey(e.model, `${e.at}-${i}`);
  return store.uriOf(key);
}

/** Every recorded event of `name`, oldest first. */
export async function listRolloutEvents(store: ObjectStore, name: string): Promise<RolloutEvent[]> {
  const keys = await store.list(`${dir(name)}/history/`);
  const out: RolloutEvent[] = [];
  for (const k of keys) {
    const b = await store.get(k);
    if (b) out.push(JSON.parse(b.toString("utf8")) as RolloutEvent);
  }
  return out.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}
