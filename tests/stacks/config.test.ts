import { describe, expect, it } from "vitest";
import { loadStageConfig } from "../../stacks/config.js";
import { MlopsError } from "../../src/errors.js";

function failure(fn: () => unknown): MlopsError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MlopsError);
    return e as MlopsError;
  }
  throw new Error("expected an MlopsError");
}

describe("loadStageConfig", () => {
  it("serves breast-cancer@champion by default", () => {
    const { config } = loadStageConfig("dev", {});
    expect(config.endpoint.model).toBe("breast-cancer@champion");
  });

  it("reads structured values stored as JSON and ignores other providers' keys", () => {
    const { stage, config } = loadStageConfig("staging", {
      "pulumi-mlops:endpoint": JSON.stringify({ model: "fraud@challenger", replicas: { min: 2, max: 5 } }),
      "aws:region": "eu-west-1",
    });
    expect(stage).toBe("staging");
    expect(config.endpoint).toMatchObject({ model: "fraud@challenger", replicas: { min: 2, max: 5 } });
  });

  it("fails when the stack is not a known stage", () => {
    const err = failure(() => loadStageConfig("qa", {}));
    expect(err.message).toContain('"qa"');
    expect(err.message).toContain("dev, staging, prod");
  });

  it("fails naming the stack, the key, the value and the fix", () => {
    const err = failure(() =>
      loadStageConfig("prod", { "pulumi-mlops:endpoint": JSON.stringify({ model: "fraud", replicas: { min: 0, max: 3 } }) }),
    );
    expect(err.message).toContain('stack "prod"');
    expect(err.problems).toHaveLength(2);
    expect(err.message).toContain("pulumi-mlops:endpoint.model");
    expect(err.message).toContain('received "fraud"');
    expect(err.message).toContain("pulumi-mlops:endpoint.replicas.min");
    expect(err.message).toContain("pulumi config set --stack prod --path 'pulumi-mlops:endpoint.replicas.min'");
  });

  it("fails when replicas.min exceeds replicas.max", () => {
    const err = failure(() => loadStageConfig("dev", { "pulumi-mlops:endpoint": JSON.stringify({ replicas: { min: 5, max: 2 } }) }));
    expect(err.message).toContain("min must not exceed max");
  });

  it("fails on an unknown key, saying how to remove it", () => {
    const err = failure(() => loadStageConfig("dev", { "pulumi-mlops:replicaz": "3" }));
    expect(err.message).toContain("pulumi-mlops:replicaz");
    expect(err.message).toContain("pulumi config rm --stack dev pulumi-mlops:replicaz");
  });
});
