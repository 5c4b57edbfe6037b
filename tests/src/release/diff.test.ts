import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { assembleRelease, diffReleases, isDeployedChange, parseStackTarget, rolloutStack, stackConfigOf } from "../../../src/release/index.js";
import { fakeStackDriver } from "./fake-stack.js";
import { IMAGE, IMAGE_2, stages, type Stages } from "./fixture.js";

let s: Stages;
beforeEach(async () => {
  s = await stages();
});
afterEach(() => s.close());

describe("diffReleases", () => {
  it("lists each leaf that differs, with both values, and marks what only a deployment rolls out", async () => {
    const a = await assembleRelease(s.staging, "fraud", { model: "fraud:1", image: IMAGE, endpoint: s.endpoint });
    const b = await assembleRelease(s.staging, "fraud", { model: "fraud:1", image: IMAGE_2, endpoint: { ...s.endpoint, batching: { maxBatchSize: 8 } } });
    const changes = diffReleases(a, b);
    expect(changes.map((c) => c.path)).toEqual(["image.digest", "image.ref", "serving.batching.maxBatchSize"]);
    expect(changes[2]).toEqual({ path: "serving.batching.maxBatchSize", a: 32, b: 8 });
    expect(changes.every(isDeployedChange)).toBe(true);
  });

  it("reports a part only one side has, and nothing for equal releases", async () => {
    const a = await assembleRelease(s.staging, "fraud", { model: "fraud:1" });
    const b = await assembleRelease(s.staging, "fraud", { model: "fraud:1", image: IMAGE });
    expect(diffReleases(a, a)).toEqual([]);
    expect(diffReleases(a, b)).toEqual([
      { path: "image.digest", b: `sha256:${"a".repeat(64)}` },
      { path: "image.ref", b: IMAGE },
    ]);
    const c = { ...a, model: { ...a.model, version: 2 } };
    const [change] = diffReleases(a, c);
    expect(change).toEqual({ path: "model.version", a: 1, b: 2 });
    expect(isDeployedChange(change!)).toBe(false);
  });
});

describe("stack rollout", () => {
  it("parses <dir>:<stack>, organization-qualified stacks included", () => {
    expect(parseStackTarget("stacks:prod")).toEqual({ workDir: "stacks", stack: "prod" });
    expect(parseStackTarget("/repo/infra:acme/mlops/prod")).toEqual({ workDir: "/repo/infra", stack: "acme/mlops/prod" });
  });

  it("fails when --stack is not <dir>:<stack>", () => {
    expect(() => parseStackTarget("prod")).toThrow(/--stack: is not <program dir>:<stack>; received "prod". Write e.g. --stack stacks:prod/);
    expect(() => parseStackTarget("stacks:")).toThrow(/--stack/);
  });

  it("sets the release's image under the config key the reference stack reads", async () => {
    const body = await assembleRelease(s.staging, "fraud", { model: "fraud:1", image: IMAGE });
    expect(stackConfigOf(body)).toEqual({ "pulumi-mlops:image": IMAGE });
    expect(stackConfigOf(body, "mlops:imageDigest")).toEqual({ "mlops:imageDigest": IMAGE });
  });

  it("in a dry run reads the config and plans, without setting, previewing or updating", async () => {
    const driver = fakeStackDriver({ "pulumi-mlops:image": IMAGE_2 });
    const r = await rolloutStack(driver, { workDir: "stacks", stack: "prod" }, { "pulumi-mlops:image": IMAGE }, { dryRun: true });
    expect(r).toMatchObject({ action: "planned", config: [{ key: "pulumi-mlops:image", from: IMAGE_2, to: IMAGE }] });
    expect(driver.calls).toEqual(["select stacks:prod", "getConfig pulumi-mlops:image"]);
    expect(driver.config.get("pulumi-mlops:image")).toBe(IMAGE_2);
  });
});
