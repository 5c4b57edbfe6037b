import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mlops } from "../helpers/cli.js";

describe("mlops spec", () => {
  it("schema train prints a JSON Schema that requires the dataset and the trainer", async () => {
    const r = await mlops(["spec", "schema", "train"]);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout);
    expect(schema.type).toBe("object");
    expect(schema.required).toEqual(expect.arrayContaining(["name", "registry", "model", "dataset", "trainer"]));
    expect(schema.additionalProperties).toBe(false);
  });

  it("schema train describes the dataset as a file or a saved training set, each with its label", async () => {
    const schema = JSON.parse((await mlops(["spec", "schema", "train"])).stdout);
    const shapes = schema.properties.dataset.anyOf as Array<{ required: string[]; properties: Record<string, { type: string }>; additionalProperties: boolean }>;
    expect(shapes.map((s) => s.required)).toEqual([
      ["uri", "label"],
      ["trainingSet", "featureRegistry", "label"],
    ]);
    for (const s of shapes) {
      expect(s.properties.label!.type).toBe("string");
      expect(s.additionalProperties).toBe(false);
    }
  });

  it("schema endpoint describes the batching settings with their defaults", async () => {
    const schema = JSON.parse((await mlops(["spec", "schema", "endpoint"])).stdout);
    expect(schema.properties.batching.properties.maxBatchSize.default).toBe(32);
  });

  it("validate prints the spec with defaults, and fails naming the bad field in a YAML file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mlops-spec-"));
    try {
      const good = join(dir, "train.yaml");
      await writeFile(good, "name: fraud\nregistry: file:///tmp/r\nmodel: fraud\ndataset: { uri: 'file:///d.csv', label: y }\ntrainer: { builtin: logistic-regression }\n");
      const ok = await mlops(["spec", "validate", "train", good]);
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout).split.holdoutFraction).toBe(0.2);
      const bad = join(dir, "bad.yaml");
      await writeFile(bad, "name: fraud\nregistry: file:///tmp/r\nmodel: fraud\ndataset: { uri: 'file:///d.csv', label: y }\ntrainer: { builtin: logistic-regression }\nsplit: { holdoutFraction: 1.5 }\n");
      const r = await mlops(["spec", "validate", "train", bad]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("split.holdoutFraction");
      expect(r.stderr).toContain("1.5");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("fails when the kind is unknown", async () => {
    const r = await mlops(["spec", "schema", "feature"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"feature"');
    expect(r.stderr).toContain('"train", "endpoint" or "features"');
  });
});
