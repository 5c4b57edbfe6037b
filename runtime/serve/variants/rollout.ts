/**
 * The canary's rollout, as every replica runs it: follow the state in the registry
 * (`models/<name>/rollouts/current.json`, src/registry/rollouts.ts), apply its weight to the router, and
 * judge each bake period; a decision (next step, rollback, promotion, wait) is written by compare-and-swap,
 * so when several replicas judge the same period exactly one decision lands and the others follow it.
 *
 * - A canary version with no state yet (or the state of an older rollout) starts a rollout at the first
 *   weight. A rolled-back canary stays at 0 across restarts: the same version is not tried again; a new
 *   version (an alias canary that moved) starts a new rollout.
 * - Failure (as soon as the canary has `analysis.minRequests` requests in the period, without waiting for
 *   its end): weight 0, phase `rolled-back`, a `rollback` event in history with the numbers judged.
 * - Success at the end of a bake period: the next step's weight; after the last, `promote` moves the stable
 *   alias to the canary's version (phase `promoted`; the canary keeps its weight on each replica until that
 *   replica's stable holder serves the new version, then 0), or `wait` holds it at its last weight until
 *   `mlops promote` (or anything else) moves the alias to it, still judged each bake period (a failure then
 *   rolls it back too).
 * - Pods of two specs at once (a Deployment's rolling update): a rollout of a newer canary version that is
 *   still in progress is never overridden by an older one; the older pods send their canary nothing.
 * - Too few canary requests at the end of a period: the period goes on (counted `inconclusive`), never a pass.
 * - A replica sends its canary nothing until it has read (or written) the state: a registry it cannot read
 *   or write (no access, unreachable) leaves the canary without traffic, never without judgement.
 */
import { hostname } from "node:os";
import type { Logger } from "../../../src/log.js";
import { casRollout, readRollout, writeRolloutEvent, type CanaryRollout, type RolloutEvent, type RolloutState } from "../../../src/registry/rollouts.js";
import { canaryWeights, type CanarySpec } from "../../../src/spec/endpoint-variants.js";
import type { ModelRef } from "../../../src/spec/model-ref.js";
import { formatModelRef } from "../../../src/spec/model-ref.js";
import type { ObjectStore } from "../../../src/store/types.js";
import type { ModelHolder } from "../holder.js";
import { judge, type AnalysisSource, type Verdict } from "./analysis.js";
import { CANARY_PHASES, type VariantMetrics } from "./metrics.js";
import type { VariantRouter } from "./router.js";

/** What the rollout needs of the registry: its object store (the state) and moving an alias (promotion). */
export interface RolloutBackend {
  readonly store: ObjectStore;
  setAlias(name: string, alias: string, version: number): Promise<void>;
}

export interface RolloutOptions {
  readonly backend: RolloutBackend;
  readonly stableRef: ModelRef;
  readonly stable: ModelHolder;
  readonly canary: ModelHolder;
  readonly spec: CanarySpec;
  readonly router: VariantRouter;
  readonly source: AnalysisSource;
  readonly metrics: VariantMetrics;
  readonly logger: Logger;
  /** How often the state is re-read (the endpoint's pollIntervalSeconds). */
  readonly pollSeconds: number;
  /** @default os.hostname() */
  readonly who?: string;
}

export class RolloutRunner {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private running: Promise<void> | undefined;
  /** The step this replica is judging, and when it began observing it. */
  private period: { key: string; startedAt: number; inconclusiveCounted: boolean } | undefined;
  private readonly weights: number[];
  private readonly tickMs: number;
  private readonly who: string;
  private readonly promotedGraceMs: number;
  /** The newest state read or written. */
  state: RolloutState | undefined;

  constructor(private readonly o: RolloutOptions) {
    this.weights = canaryWeights(o.spec);
    this.tickMs = Math.max(50, Math.min(o.pollSeconds, o.spec.bakeSeconds / 4) * 1000);
    this.who = o.who ?? hostname();
    this.promotedGraceMs = Math.max(30_000, 3 * o.pollSeconds * 1000);
  }

  start(): void {
    this.schedule(0);
  }

  /** One round now (tests); resolves once it is done. */
  tick(): Promise<void> {
    return (this.running ??= this.round().finally(() => (this.running = undefined)));
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      void this.tick().catch((e: unknown) => this.o.logger.warn("canary rollout: could not read or write its state; will retry", { error: (e as Error).message })).finally(() => this.schedule(this.tickMs));
    }, ms);
    this.timer.unref();
  }

  private get name(): string {
    return this.o.stableRef.name;
  }

  private async round(): Promise<void> {
    const canary = this.o.canary.serving?.model.mv;
    const stable = this.o.stable.serving?.model.mv;
    this.o.router.publishWeight();
    if (!canary || !stable || this.closed) return;
    const state = await readRollout(this.o.backend.store, this.name);
    const c = state?.canary;
    if (!c || c.version !== canary.version || c.digest !== canary.digest) {
      // Nothing to roll out when stable already is the canary; and a rollout of a newer version still in
      // progress (pods of the next spec, during a Deployment's rolling update) is not overridden: this pod
      // sends its own canary nothing until that one is done.
      const newerInProgress = c !== undefined && c.version > canary.version && (c.phase === "progressing" || c.phase === "waiting");
      if (stable.version === canary.version || newerInProgress) {
        this.apply(state, undefined);
        return;
      }
      const now = new Date().toISOString();
      const fresh: CanaryRollout = {
        ref: this.o.spec.model,
        version: canary.version,
        digest: canary.digest,
        stableRef: formatModelRef(this.o.stableRef),
        stableVersion: stable.version,
        weight: this.weights[0]!,
        step: 0,
        phase: "progressing",
        reason: `rollout of ${canary.name}:${canary.version} started at ${this.weights[0]}%`,
        startedAt: now,
        stepStartedAt: now,
      };
      await this.write(state, fresh, "start", undefined);
      return;
    }
    this.apply(state, c);
    if (c.phase === "waiting" && stable.version === c.version) {
      await this.write(state, { ...c, phase: "promoted", reason: `${formatModelRef(this.o.stableRef)} now points at the canary's version ${c.version}` }, "promotion", undefined);
    } else if (c.phase === "progressing" || c.phase === "waiting") {
      await this.analyze(state!, c);
    }
  }

  /** Applies a state's weight and phase to this replica. */
  private apply(state: RolloutState | undefined, c: CanaryRollout | undefined): void {
    this.state = state;
    const stable = this.o.stable.serving?.model.mv;
    let weight = 0;
    if (c?.phase === "progressing" || c?.phase === "waiting") weight = c.weight;
    // Promoted: the canary keeps its share here until this replica's stable holder has followed the alias
    // (for a few poll intervals at most: an alias moved elsewhere since is not the canary's to answer for).
    else if (c?.phase === "promoted" && stable?.version !== c.version && Date.now() - Date.parse(state!.updatedAt) < this.promotedGraceMs) weight = c.weight;
    this.o.router.weight = weight;
    for (const phase of CANARY_PHASES) this.o.metrics.phase.set({ model: this.name, phase }, c?.phase === phase ? 1 : 0);
  }

  private async analyze(state: RolloutState, c: CanaryRollout): Promise<void> {
    const key = `${c.version}:${c.step}:${c.stepStartedAt}`;
    if (this.period?.key !== key) {
      await this.o.source.begin();
      this.period = { key, startedAt: Date.now(), inconclusiveCounted: false };
      return;
    }
    const verdict = judge(await this.o.source.read(this.period.startedAt), this.o.spec.analysis);
    const baked = Date.now() - this.period.startedAt >= this.o.spec.bakeSeconds * 1000;
    const count = (result: Verdict["result"]) => this.o.metrics.analyses.inc({ model: this.name, result });
    if (verdict.result === "fail") {
      count("fail");
      this.o.logger.warn("canary failed its analysis; rolled back (weight 0)", { model: this.name, canary: c.version, stable: c.stableVersion, reason: verdict.reason });
      await this.write(state, { ...c, weight: 0, phase: "rolled-back", reason: verdict.reason }, "rollback", verdict);
      return;
    }
    if (!baked) return;
    if (c.phase === "waiting") {
      // Still judged while it waits for mlops promote, one bake period at a time: a failure rolls it back.
      await this.o.source.begin();
      this.period = { key, startedAt: Date.now(), inconclusiveCounted: false };
      return;
    }
    if (verdict.result === "inconclusive") {
      if (!this.period.inconclusiveCounted) {
        count("inconclusive");
        this.o.logger.info("canary analysis inconclusive; the bake period goes on", { model: this.name, canary: c.version, reason: verdict.reason });
      }
      this.period.inconclusiveCounted = true;
      return;
    }
    count("pass");
    const next = c.step + 1;
    const now = new Date().toISOString();
    if (next < this.weights.length) {
      const w = this.weights[next]!;
      await this.write(state, { ...c, step: next, weight: w, stepStartedAt: now, reason: `passed at ${c.weight}% (${verdict.reason}); now ${w}%` }, "step", verdict);
      return;
    }
    if (this.o.spec.onSuccess === "wait" || this.o.stableRef.alias === undefined) {
      await this.write(state, { ...c, phase: "waiting", reason: `passed every step (${verdict.reason}); waiting for mlops promote` }, "waiting", verdict);
      return;
    }
    const alias = this.o.stableRef.alias;
    const landed = await this.write(state, { ...c, phase: "promoted", reason: `passed every step (${verdict.reason}); ${this.name}@${alias} moved to version ${c.version}` }, "promotion", verdict);
    // Only the replica whose decision landed moves the alias.
    if (landed) {
      await this.o.backend.setAlias(this.name, alias, c.version);
      this.o.logger.info("canary promoted", { model: this.name, alias, version: c.version });
    }
  }

  /** Compare-and-swap of the next state; on a conflict the newest state is followed instead. True when this write landed. */
  private async write(state: RolloutState | undefined, canary: CanaryRollout, kind: RolloutEvent["kind"], verdict: Verdict | undefined): Promise<boolean> {
    const store = this.o.backend.store;
    const r = await casRollout(store, this.name, state?.revision ?? 0, { updatedBy: this.who, canary });
    if (!r.ok) {
      this.apply(r.current, r.current?.canary);
      return false;
    }
    await writeRolloutEvent(store, {
      at: r.state.updatedAt,
      model: this.name,
      kind,
      canaryVersion: canary.version,
      stableVersion: canary.stableVersion,
      weight: canary.weight,
      reason: canary.reason ?? kind,
      revision: r.state.revision,
      by: this.who,
      ...(verdict ? { analysis: verdict.numbers } : {}),
    });
    this.apply(r.state, canary);
    return true;
  }
}

