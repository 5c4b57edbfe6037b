/**
 * Rollout state (contract 5) on both store backends: compare-and-swap by revision (of writers that read the
 * same revision exactly one lands, even all at once), roll-forward when a writer died between claiming a
 * revision and copying it to current.json, and the history of rollbacks and promotions.
 */
import { describe, expect, it } from "vitest";
import { casRollout, historyKey, listRolloutEvents, readRollout, revisionKey, rolloutKey, writeRolloutEvent, type CanaryRollout } from "../../../src/registry/rollouts.js";
import { BACKENDS, useBackend } from "../../helpers/stores.js";

const canary = (o: Partial<CanaryRollout> = {}): CanaryRollout => ({
  ref: "fraud:4",
  version: 4,
  digest: "sha256:" + "a".repeat(64),
  stableRef: "fraud@champion",
  stableVersion: 3,
  weight: 10,
  step: 0,
  phase: "progressing",
  startedAt: "2026-12-02T00:00:00.000Z",
  stepStartedAt: "2026-12-02T00:00:00.000Z",
  ...o,
});

describe.each(BACKENDS)("rollout state on %s", (kind) => {
  const backend = useBackend(kind);

  it("has the contract's keys", () => {
    expect(rolloutKey("fraud")).toBe("models/fraud/rollouts/current.json");
    expect(historyKey("fraud", "2026-12-02T01:02:03.456Z")).toBe("models/fraud/rollouts/history/2026-12-02T01-02-03-456Z.json");
    expect(revisionKey("fraud", 12)).toBe("models/fraud/rollouts/revisions/0000000012.json");
    expect(() => rolloutKey("../x")).toThrow(/model: is not a model name/);
  });

  it("reads nothing before the first write, then the newest state", async () => {
    const { store } = backend();
    expect(await readRollout(store, "fraud")).toBeUndefined();
    const first = await casRollout(store, "fraud", 0, { canary: canary() });
    expect(first).toMatchObject({ ok: true, state: { model: "fraud", revision: 1, canary: { weight: 10 } } });
    const second = await casRollout(store, "fraud", 1, { canary: canary({ weight: 0, phase: "rolled-back" }) });
    expect(second.ok).toBe(true);
    expect(await readRollout(store, "fraud")).toMatchObject({ revision: 2, canary: { phase: "rolled-back" } });
    expect(JSON.parse((await store.get("models/fraud/rollouts/current.json"))!.toString())).toMatchObject({ revision: 2 });
  });

  it("lets exactly one of several writers of the same revision land; the others get the winner back", async () => {
    const { store } = backend();
    await casRollout(store, "fraud", 0, { canary: canary() });
    const results = await Promise.all(
      [10, 25, 50, 75, 100].map((weight) => casRollout(store, "fraud", 1, { updatedBy: `pod-${weight}`, canary: canary({ weight, step: 1 }) })),
    );
    const won = results.filter((r) => r.ok);
    expect(won).toHaveLength(1);
    const winner = (won[0] as { state: { updatedBy: string; canary: CanaryRollout } }).state;
    for (const r of results.filter((x) => !x.ok)) expect(r).toMatchObject({ ok: false, current: { revision: 2, updatedBy: winner.updatedBy } });
    expect(await readRollout(store, "fraud")).toMatchObject({ revision: 2, canary: { weight: winner.canary.weight } });
    // A writer still holding revision 1 cannot overwrite revision 2.
    expect((await casRollout(store, "fraud", 1, { canary: canary({ weight: 1 }) })).ok).toBe(false);
  });

  it("rolls forward a revision claimed by a writer that died before copying it to current.json", async () => {
    const { store } = backend();
    await casRollout(store, "fraud", 0, { canary: canary() });
    const orphan = { model: "fraud", revision: 2, updatedAt: "2026-12-02T00:01:00.000Z", canary: canary({ weight: 0, phase: "rolled-back" }) };
    await store.putIfAbsent(revisionKey("fraud", 2), JSON.stringify(orphan));
    expect(await readRollout(store, "fraud")).toMatchObject({ revision: 2, canary: { phase: "rolled-back" } });
    expect(JSON.parse((await store.get(rolloutKey("fraud")))!.toString())).toMatchObject({ revision: 2 });
    expect((await casRollout(store, "fraud", 2, { canary: canary({ weight: 0, phase: "rolled-back", reason: "again" }) })).ok).toBe(true);
  });

  it("names the object and the fix when current.json is corrupt", async () => {
    const { store } = backend();
    await store.put(rolloutKey("fraud"), "{not json");
    await expect(readRollout(store, "fraud")).rejects.toThrow(/rollouts\/current.json is not valid JSON .*Delete it to start the rollout over/);
  });

  it("rebuilds a damaged current.json from the revisions", async () => {
    const { store } = backend();
    await casRollout(store, "fraud", 0, { canary: canary() });
    await casRollout(store, "fraud", 1, { canary: canary({ weight: 25, step: 1 }) });
    await store.put(rolloutKey("fraud"), '{"model": "fraud", "revi');
    expect(await readRollout(store, "fraud")).toMatchObject({ revision: 2, canary: { weight: 25 } });
    expect(JSON.parse((await store.get(rolloutKey("fraud")))!.toString())).toMatchObject({ revision: 2 });
  });

  it("keeps every event, two in one millisecond included, oldest first", async () => {
    const { store } = backend();
    const at = "2026-12-02T01:00:00.000Z";
    const e = { model: "fraud", canaryVersion: 4, stableVersion: 3, weight: 0, reason: "r", revision: 2 } as const;
    await writeRolloutEvent(store, { ...e, at: "2026-12-02T01:00:01.000Z", kind: "promotion" });
    const u1 = await writeRolloutEvent(store, { ...e, at, kind: "rollback" });
    const u2 = await writeRolloutEvent(store, { ...e, at, kind: "start" });
    expect(u1).not.toBe(u2);
    expect((await listRolloutEvents(store, "fraud")).map((x) => x.kind).sort()).toEqual(["promotion", "rollback", "start"]);
    expect((await listRolloutEvents(store, "fraud")).at(-1)!.kind).toBe("promotion");
  });
});
