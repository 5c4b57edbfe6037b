import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXAMPLE_MODEL, mlops } from "../helpers/cli.js";

let dir: string;
let registry: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-cli-"));
  registry = `file://${dir}/registry`;
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("mlops registry", () => {
  it("register prints one JSON object with name, version, digest and uri", async () => {
    const r = await mlops(["registry", "register", "demo", "--file", EXAMPLE_MODEL, "--metric", "auc=0.97", "--param", "C=1", "--alias", "champion", "--registry", registry]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out).sort()).toEqual(["digest", "name", "uri", "version"]);
    expect(out).toMatchObject({ name: "demo", version: 1 });
    expect(out.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("list --json shows versions, metrics, params and aliases; alias moves one", async () => {
    const second = await mlops(["registry", "register", "demo", "--file", EXAMPLE_MODEL, "--registry", registry]);
    expect(JSON.parse(second.stdout).version).toBe(2);
    const moved = await mlops(["registry", "alias", "demo", "challenger", "2", "--registry", registry]);
    expect(moved.code).toBe(0);
    const listed = JSON.parse((await mlops(["registry", "list", "demo", "--json", "--registry", registry])).stdout);
    expect(listed.aliases).toEqual({ champion: 1, challenger: 2 });
    expect(listed.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    expect(listed.versions[0].metrics).toEqual({ auc: 0.97 });
    expect(listed.versions[0].params).toEqual({ C: "1" });
    const table = await mlops(["registry", "list", "demo", "--registry", registry]);
    expect(table.stdout.split("\n")[0]).toMatch(/^VERSION\s+ALIASES\s+DIGEST/);
    expect(table.stdout).toMatch(/\n1\s+champion\s+sha256:/);
  });

  it("fails when --metric is not a number, naming the flag and the value", async () => {
    const r = await mlops(["registry", "register", "demo", "--file", EXAMPLE_MODEL, "--metric", "auc=high", "--registry", registry]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--metric auc");
    expect(r.stderr).toContain('"high"');
  });

  it("fails when the file is not an ONNX model, and registers nothing", async () => {
    const r = await mlops(["registry", "register", "demo", "--file", join(import.meta.dirname, "registry.test.ts"), "--registry", registry]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ONNX/);
    const listed = JSON.parse((await mlops(["registry", "list", "demo", "--json", "--registry", registry])).stdout);
    expect(listed.versions).toHaveLength(2);
  });

  it("fails when an alias names a version that does not exist", async () => {
    const r = await mlops(["registry", "alias", "demo", "champion", "9", "--registry", registry]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/9/);
  });

  it("fails on an unknown command with the usage", async () => {
    const r = await mlops(["registry", "delete", "demo"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("mlops registry register <name>");
  });
});

describe("mlops registry promote", () => {
  it("copies a version into the next stage's registry with its lineage, and moves an alias there", async () => {
    const prod = `file://${dir}/prod-registry`;
    const r = await mlops(["registry", "promote", "demo@champion", "--from", registry, "--to", prod, "--alias", "champion"]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ name: "demo", version: 1, copied: true, alias: "champion" });
    expect(out.from).toMatch(/#demo:1$/);
    const listed = JSON.parse((await mlops(["registry", "list", "demo", "--json", "--registry", prod])).stdout);
    expect(listed.aliases).toEqual({ champion: 1 });
    expect(listed.versions[0].metrics).toEqual({ auc: 0.97 });
    expect(listed.versions[0].lineage.promotedFrom).toBe(out.from);
    const source = JSON.parse((await mlops(["registry", "list", "demo", "--json", "--registry", registry])).stdout);
    expect(listed.versions[0].digest).toBe(source.versions[0].digest);
  });

  it("does not copy the same digest twice", async () => {
    const prod = `file://${dir}/prod-registry`;
    const r = await mlops(["registry", "promote", "demo:1", "--from", registry, "--to", prod]);
    expect(JSON.parse(r.stdout)).toMatchObject({ version: 1, copied: false });
  });

  it("fails when --from and --to are the same registry", async () => {
    const r = await mlops(["registry", "promote", "demo:1", "--from", registry, "--to", registry]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--to");
  });
});
