import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Registry } from "../../src/registry/index.js";
import { ROOT, mlops } from "../helpers/cli.js";

let dir: string;
let registryUri: string;
const data = pathToFileURL(join(ROOT, "examples", "breast-cancer", "data.csv")).href;

async function specFile(name: string, gate: string): Promise<string> {
  const path = join(dir, `${name}.yaml`);
  await writeFile(
    path,
    [
      `name: ${name}`,
      `registry: ${registryUri}`,
      "model: cancer",
      `dataset: { uri: "${data}", label: label }`,
      "trainer: { builtin: logistic-regression, l2: 1.0 }",
      `gate: ${gate}`,
      "",
    ].join("\n"),
  );
  return path;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-train-cli-"));
  registryUri = `file://${dir}/registry`;
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("mlops train", () => {
  it("trains, gates and registers the example model, moving challenger", async () => {
    const r = await mlops(["train", "--spec", await specFile("pass", "{ minimum: { auc: 0.95 } }")]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.status).toBe("registered");
    expect(result.metrics.auc).toBeGreaterThan(0.95);
    const registry = await Registry.open(registryUri);
    expect(await registry.aliases("cancer")).toEqual({ challenger: result.version.version });
  });

  it("exits 3 and moves no alias when the gate fails", async () => {
    const registry = await Registry.open(registryUri);
    const before = (await registry.list("cancer")).length;
    const r = await mlops(["train", "--spec", await specFile("fail", "{ minimum: { auc: 0.99999 } }")]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/gate failed: .*auc/);
    expect((await registry.list("cancer")).length).toBe(before);
  });

  it("fails naming the field when the spec is invalid", async () => {
    const path = join(dir, "bad.yaml");
    await writeFile(path, `name: bad\nregistry: ${registryUri}\nmodel: cancer\ndataset: { uri: "${data}" }\ntrainer: { builtin: logistic-regression }\n`);
    const r = await mlops(["train", "--spec", path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("dataset.label");
  });
});
