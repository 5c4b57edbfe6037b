/**
 * `mlops serve --variants <file>`: the spec's `variants` block from a YAML file, on the command line; a
 * bad one fails at boot naming the field.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mlops, startMlops } from "../../../helpers/cli.js";
import { fixture, tempRegistry } from "../helpers.js";
import { load, MODEL, tally } from "./fixture.js";

describe("mlops serve --variants", () => {
  it("serves a canary from the file", async () => {
    const t = await tempRegistry();
    await t.registry.register(MODEL, await fixture("logistic"), { alias: "champion" });
    await t.registry.register(MODEL, await fixture("logistic_v2"));
    const file = join(t.dir, "variants.yaml");
    await writeFile(file, `canary:\n  model: ${MODEL}:2\n  weight: 100\n  bakeSeconds: 3600\n`);
    const { url, stop } = await startMlops(["serve", "--model", `${MODEL}@champion`, "--registry", t.uri, "--port", "0", "--log-level", "error", "--poll-interval-s", "0.1", "--variants", file]);
    try {
      let weight = "";
      for (let i = 0; i < 200 && !/^mlops_canary_weight_percent\{model="logistic"\} 100$/m.test(weight); i++) {
        await new Promise((r) => setTimeout(r, 50));
        weight = await (await fetch(`${url}/metrics`)).text();
      }
      expect(tally(await load(`${url}/v2/models/${MODEL}/infer`, 100))).toEqual({ byVersion: { "2": 100 }, failed: [] });
    } finally {
      await stop();
      await t.cleanup();
    }
  });

  it("fails naming the field when the file's variants are bad", async () => {
    const t = await tempRegistry();
    try {
      const file = join(t.dir, "variants.yaml");
      await writeFile(file, "canary:\n  model: other:2\n  weight: 10\n");
      const r = await mlops(["serve", "--model", `${MODEL}@champion`, "--registry", t.uri, "--port", "0", "--variants", file]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('variants.canary.model: names model "other", not the endpoint\'s model "logistic"; received "other:2"');
    } finally {
      await t.cleanup();
    }
  });
});
