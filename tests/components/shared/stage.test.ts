// The one place a stack name is read as a stage, and the defaults that follow from it.
import { describe, expect, test } from "vitest";
import { STAGE_DEFAULTS, stageTier } from "../../../components/shared/stage.js";

describe("stageTier", () => {
  test.each(["prod", "production", "prod-eu", "prod_2"])("reads %s as prod", (stage) => {
    expect(stageTier(stage)).toBe("prod");
  });

  test.each(["dev", "development", "test", "local", "dev-alice"])("reads %s as dev", (stage) => {
    expect(stageTier(stage)).toBe("dev");
  });

  test.each(["staging", "qa", "preprod", "producer", "devops"])("reads any other name (%s) as staging", (stage) => {
    expect(stageTier(stage)).toBe("staging");
  });
});

describe("STAGE_DEFAULTS", () => {
  test("protects stateful resources in prod only", () => {
    expect(STAGE_DEFAULTS.prod.protect).toBe(true);
    expect(STAGE_DEFAULTS.staging.protect).toBe(false);
    expect(STAGE_DEFAULTS.dev.protect).toBe(false);
  });

  test("grows serving capacity towards prod", () => {
    expect(STAGE_DEFAULTS.dev.replicas).toEqual({ min: 1, max: 2 });
    expect(STAGE_DEFAULTS.staging.replicas).toEqual({ min: 2, max: 4 });
    expect(STAGE_DEFAULTS.prod.replicas).toEqual({ min: 3, max: 20 });
  });
});
