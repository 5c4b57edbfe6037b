import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MlopsError } from "../../../src/errors.js";
import { writeDriftResult } from "../../../src/registry/drift-results.js";
import { getProfile } from "../../../src/registry/profiles.js";
import { actorFromEnv, createRelease, listAudits, promoteRelease, readRelease, type ReleaseRecord } from "../../../src/release/index.js";
import { readRun, writeRun } from "../../../src/runs/store.js";
import { tinyOnnx } from "../../helpers/tiny-onnx.js";
import { fakeStackDriver } from "./fake-stack.js";
import { IMAGE, IMAGE_2, PROFILE, RUN_ID, runRecord, stages, type Stages } from "./fixture.js";

let s: Stages;
let rel: ReleaseRecord;
const actor = { user: "alice" };
beforeEach(async () => {
  s = await stages();
  // An older version in prod first, so the copy's number differs from the source's.
  await s.prod.register("fraud", tinyOnnx({ doc: "older" }), { alias: "champion" });
  rel = (await createRelease(s.staging, "fraud", { model: "fraud@challenger", image: IMAGE, endpoint: s.endpoint })).record;
});
afterEach(() => s.close());

const keys = async () => (await s.prod.store.list("")).sort();

describe("promoteRelease", () => {
  it("copies the model version, profile, run record and release into the target, moves the alias and audits it", async () => {
    const r = await promoteRelease(s.staging, s.prod, "fraud", { actor, now: () => new Date("2026-12-02T01:00:00.000Z") });
    expect(r.outcome).toBe("promoted");
    expect(r.targetVersion).toBe(2);
    const copied = await s.prod.get("fraud", 2);
    expect(copied.digest).toBe(s.version.digest);
    expect((await s.prod.aliases("fraud")).champion).toBe(2);
    expect(await getProfile(s.prod.store, "fraud", 2)).toEqual(PROFILE);
    expect((await readRun(s.prod.store, "fraud", RUN_ID))?.gate?.passed).toBe(true);
    // The release record arrives as it was: same digest, same creation time.
    expect(await readRelease(s.prod.store, "fraud", rel.digest)).toEqual(rel);
    expect(r.steps.map((x) => `${x.what} ${x.action}`)).toEqual(["model copied", "profile copied", "run copied", "release copied", "alias moved"]);

    const [audit, ...more] = await listAudits(s.prod.store);
    expect(more).toEqual([]);
    expect(audit).toMatchObject({
      kind: "PromotionAudit",
      at: "2026-12-02T01:00:00.000Z",
      actor: { user: "alice" },
      outcome: "promoted",
      release: { name: "fraud", digest: rel.digest },
      from: s.staging.uri,
      to: s.prod.uri,
      alias: "champion",
      targetVersion: 2,
    });
    expect(audit!.checks.map((c) => [c.name, c.passed])).toEqual([["gate", true], ["no-drift", true]]);
    expect(r.audit).toMatch(new RegExp(`audit/promotions/2026-12-02T01-00-00-000Z-fraud-${rel.digest.slice(7, 19)}\\.json$`));
  });

  it("is idempotent: a second run changes nothing and records a no-op audit", async () => {
    await promoteRelease(s.staging, s.prod, "fraud", { actor });
    const before = await keys();
    const aliasBytes = await s.prod.store.get("models/fraud/aliases/champion.json");
    const r = await promoteRelease(s.staging, s.prod, "fraud", { actor });
    expect(r.outcome).toBe("no-op");
    expect(r.steps.every((x) => x.action === "present" || x.action === "unchanged")).toBe(true);
    const after = await keys();
    // Only the new audit record was written; the alias record was not even rewritten.
    expect(after.filter((k) => !before.includes(k))).toEqual([expect.stringMatching(/^audit\/promotions\//)]);
    expect((await s.prod.store.get("models/fraud/aliases/champion.json"))!.equals(aliasBytes!)).toBe(true);
    expect((await listAudits(s.prod.store)).map((a) => a.outcome)).toEqual(["promoted", "no-op"]);
    expect((await s.prod.list("fraud")).length).toBe(2);
  });

  it("refuses when a required check fails, naming it and its value, copies nothing and audits the refusal", async () => {
    await writeDriftResult(s.staging.store, { at: "2026-12-01T05:00:00.000Z", model: "fraud", version: 1, dataset_drift: true, share_drifted: 0.75, drifted: ["x0"], report: "file:///r" });
    const before = await keys();
    const r = await promoteRelease(s.staging, s.prod, "fraud", { actor });
    expect(r.outcome).toBe("refused");
    expect(r.failed).toEqual([expect.objectContaining({ name: "no-drift", passed: false, value: 0.75 })]);
    expect((await keys()).filter((k) => !before.includes(k))).toEqual([expect.stringMatching(/^audit\/promotions\//)]);
    expect((await s.prod.aliases("fraud")).champion).toBe(1);
    expect((await listAudits(s.prod.store))[0]).toMatchObject({ outcome: "refused", steps: [] });
  });

  it("refuses a release whose run failed its gate", async () => {
    await writeRun(s.staging.store, runRecord({ status: "gate-failed", gate: { passed: false, checks: [{ metric: "auc", op: ">=", bound: 0.99, value: 0.95, passed: false }] } }));
    const failing = (await createRelease(s.staging, "fraud", { model: "fraud:1" })).record;
    const r = await promoteRelease(s.staging, s.prod, `fraud@${failing.digest}`, { actor });
    expect(r.failed.map((c) => c.name)).toEqual(["gate"]);
    expect(r.failed[0]!.detail).toContain("auc 0.95 >= 0.99");
  });

  it("checks only what is required (none: promotes a release without a gate)", async () => {
    await writeRun(s.staging.store, runRecord({ gate: undefined }));
    const ungated = (await createRelease(s.staging, "fraud", { model: "fraud:1" })).record;
    expect((await promoteRelease(s.staging, s.prod, `fraud@${ungated.digest}`, { actor })).outcome).toBe("refused");
    const r = await promoteRelease(s.staging, s.prod, `fraud@${ungated.digest}`, { actor, require: [] });
    expect(r.outcome).toBe("promoted");
    expect(r.checks).toEqual([]);
  });

  it("with dryRun checks and plans, and writes nothing", async () => {
    const before = await keys();
    const r = await promoteRelease(s.staging, s.prod, "fraud", { actor, dryRun: true, stack: { driver: fakeStackDriver(), target: { workDir: "stacks", stack: "prod" } } });
    expect(r.outcome).toBe("dry-run");
    expect(r.audit).toBeUndefined();
    expect(r.steps.map((x) => `${x.what} ${x.action}`)).toEqual(["model would-copy", "profile would-copy", "run would-copy", "release would-copy", "stack would-update", "alias would-move"]);
    expect(await keys()).toEqual(before);
  });

  it("fails when source and target are the same registry", async () => {
    await expect(promoteRelease(s.staging, s.staging, "fraud")).rejects.toThrow(/--to: is the same registry as --from/);
  });

  it("fails when the source's reference profile changed since the release was made, copying nothing", async () => {
    await s.staging.store.put("models/fraud/profiles/0000000001.json", "{}\n");
    const before = await keys();
    await expect(promoteRelease(s.staging, s.prod, "fraud", { actor })).rejects.toThrow(/reference profile of fraud:1 .* has changed since release fraud@sha256:/);
    expect(await keys()).toEqual(before);
  });
});

describe("promoteRelease with a stack (Automation API boundary)", () => {
  const target = { workDir: "stacks", stack: "prod" };

  it("sets the stack's image config, previews and updates, before moving the alias", async () => {
    const driver = fakeStackDriver({ "pulumi-mlops:image": IMAGE_2 });
    const r = await promoteRelease(s.staging, s.prod, "fraud", { actor, stack: { driver, target } });
    expect(driver.calls).toEqual(["select stacks:prod", "getConfig pulumi-mlops:image", `setConfig pulumi-mlops:image=${IMAGE}`, "preview", "up"]);
    expect(r.stack).toMatchObject({ action: "updated", config: [{ key: "pulumi-mlops:image", from: IMAGE_2, to: IMAGE }], up: { result: "succeeded" } });
    expect(r.steps.map((x) => x.what)).toEqual(["model", "profile", "run", "release", "stack", "alias"]);
    expect((await listAudits(s.prod.store))[0]!.stack?.action).toBe("updated");
  });

  it("runs no update when the stack already has the release's image (idempotent)", async () => {
    const driver = fakeStackDriver();
    await promoteRelease(s.staging, s.prod, "fraud", { actor, stack: { driver, target, imageConfigKey: "mlops:imageDigest" } });
    driver.calls.length = 0;
    const r = await promoteRelease(s.staging, s.prod, "fraud", { actor, stack: { driver, target, imageConfigKey: "mlops:imageDigest" } });
    expect(driver.calls).toEqual(["select stacks:prod", "getConfig mlops:imageDigest"]);
    expect(r.outcome).toBe("no-op");
  });

  it("does not start the engine for a release without an image", async () => {
    const plain = (await createRelease(s.staging, "fraud", { model: "fraud:1" })).record;
    const driver = fakeStackDriver();
    const r = await promoteRelease(s.staging, s.prod, `fraud@${plain.digest}`, { actor, stack: { driver, target } });
    expect(driver.calls).toEqual([]);
    expect(r.stack?.action).toBe("unchanged");
  });

  it("fails before copying anything when the stack cannot be selected", async () => {
    const driver = fakeStackDriver();
    driver.selectError = new MlopsError("--stack: cannot select stack \"prod\"");
    const before = await keys();
    await expect(promoteRelease(s.staging, s.prod, "fraud", { actor, stack: { driver, target } })).rejects.toThrow(/cannot select stack "prod"/);
    expect((await keys()).filter((k) => !before.includes(k))).toEqual([expect.stringMatching(/^audit\/promotions\//)]);
    expect((await listAudits(s.prod.store))[0]).toMatchObject({ outcome: "failed", steps: [] });
  });

  it("fails when the update fails, leaving the alias where it was and auditing the failure", async () => {
    const driver = fakeStackDriver();
    driver.upResult = "failed";
    await expect(promoteRelease(s.staging, s.prod, "fraud", { actor, stack: { driver, target } })).rejects.toThrow(/pulumi up of stack prod \(stacks\) ended "failed"; the alias was not moved/);
    expect((await s.prod.aliases("fraud")).champion).toBe(1);
    expect((await listAudits(s.prod.store))[0]).toMatchObject({ outcome: "failed", error: expect.stringContaining("ended \"failed\"") });
  });
});

describe("audit records", () => {
  it("never replace one another, and list in the order written, within one millisecond too", async () => {
    const at = "2026-12-02T01:00:00.000Z";
    const now = () => new Date(at);
    await promoteRelease(s.staging, s.prod, "fraud", { actor, now });
    await promoteRelease(s.staging, s.prod, "fraud", { actor, now });
    await promoteRelease(s.staging, s.prod, "fraud", { actor, now });
    expect((await s.prod.store.list("audit/promotions/")).length).toBe(3);
    expect((await listAudits(s.prod.store)).map((a) => a.outcome)).toEqual(["promoted", "no-op", "no-op"]);
    const keys = await s.prod.store.list("audit/promotions/");
    expect(keys.map((k) => k.replace(/^.*-fraud-[0-9a-f]{12}/, ""))).toEqual(["-2.json", "-3.json", ".json"]);
  });

  it("name the CI actor when a CI system runs the promotion, else the user", () => {
    expect(actorFromEnv({ GITHUB_ACTIONS: "true", GITHUB_ACTOR: "octocat", GITHUB_REPOSITORY: "acme/ml", GITHUB_RUN_ID: "42", USER: "runner" })).toEqual({ user: "octocat", ci: "github", run: "https://github.com/acme/ml/actions/runs/42" });
    expect(actorFromEnv({ GITLAB_CI: "true", GITLAB_USER_LOGIN: "alice", CI_JOB_URL: "https://gitlab.com/j/1" })).toEqual({ user: "alice", ci: "gitlab", run: "https://gitlab.com/j/1" });
    expect(actorFromEnv({ CIRCLECI: "true", CIRCLE_USERNAME: "bob" })).toEqual({ user: "bob", ci: "circleci" });
    expect(actorFromEnv({ JENKINS_URL: "https://ci", BUILD_USER_ID: "carol", BUILD_URL: "https://ci/job/1" })).toEqual({ user: "carol", ci: "jenkins", run: "https://ci/job/1" });
    expect(actorFromEnv({ USER: "dave" })).toEqual({ user: "dave" });
  });
});
