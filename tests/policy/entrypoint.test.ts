/**
 * The shipped entry point under Pulumi's own loader: the pack's folder as the published package lays it out
 * (policy/package.json and PulumiPolicy.yaml beside dist/policy/, compiled from policy/ by tsc), started by
 * @pulumi/pulumi's run-policy-pack as the engine's analyzer plugin starts it, answers the engine's calls.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { POLICIES, POLICY_PACK_NAME } from "../../policy/policies.js";
import { ROOT } from "../helpers/cli.js";
import { startPack, type RunningPack } from "./analyzer.js";

let dir: string;
let pack: RunningPack;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mlops-policy-pack-"));
  // The package root: ESM, its dependencies, the compiled pack and the pack's folder.
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "pulumi-mlops", type: "module" }));
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  mkdirSync(join(dir, "policy"));
  for (const f of ["package.json", "PulumiPolicy.yaml"]) cpSync(join(ROOT, "policy", f), join(dir, "policy", f));
  const tsconfig = join(dir, "tsconfig.json");
  writeFileSync(tsconfig, JSON.stringify({
    extends: join(ROOT, "tsconfig.json"),
    compilerOptions: { noEmit: false, outDir: join(dir, "dist"), rootDir: ROOT, declaration: false, sourceMap: false, typeRoots: [join(ROOT, "node_modules/@types")] },
    include: [join(ROOT, "policy")],
    exclude: [],
  }));
  execFileSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", tsconfig], { stdio: "pipe" });
  // run-policy-pack <engine address> <program>: the engine's analyzer plugin runs exactly this in the pack's folder.
  pack = await startPack([join(ROOT, "node_modules/@pulumi/pulumi/cmd/run-policy-pack"), "127.0.0.1:1", "."], join(dir, "policy"));
}, 180_000);
afterAll(() => {
  pack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("loads through package.json's main and serves every policy", async () => {
  expect(await pack.info()).toMatchObject({ name: POLICY_PACK_NAME, policies: POLICIES.map((p) => p.name) });
});

test("judges a resource", async () => {
  const found = await pack.analyze("aws:eks/cluster:Cluster", "urn:pulumi:prod::shop::aws:eks/cluster:Cluster::ml", { vpcConfig: { endpointPublicAccess: true } });
  expect(found.map((d) => d.policy)).toEqual(["cluster-endpoint-not-public-in-prod"]);
});
