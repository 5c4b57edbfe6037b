// `mlops ci init` writes files from the project's layout: it must not load the Pulumi SDK. The stage tier it
// reads stack names with lives in src/stage.ts (pure); components/shared/stage.ts re-exports the same function.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import * as componentsStage from "../../components/shared/stage.js";
import * as srcStage from "../../src/stage.js";
import { ROOT } from "../helpers/cli.js";
import { importsOf, importTarget } from "../helpers/imports.js";

/** Every package `entry` (root-relative) loads when it is imported: static imports and re-exports, followed through this repository's files. */
function packagesLoadedBy(entry: string): Map<string, string> {
  const packages = new Map<string, string>();
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(join(ROOT, file), "utf8");
    for (const site of importsOf(source, file)) {
      if (site.kind === "dynamic") continue; // loaded lazily, by another command
      const line = source.split("\n")[site.line - 1] ?? "";
      if (/^\s*(import|export)\s+type\s/.test(line)) continue; // erased at compile time
      const target = importTarget(file, site.specifier);
      if ("package" in target) {
        if (!packages.has(target.package)) packages.set(target.package, `${file}:${site.line}`);
        continue;
      }
      const ts = target.file.replace(/\.js$/, ".ts");
      queue.push(existsSync(join(ROOT, ts)) ? ts : target.file);
    }
  }
  return packages;
}

describe("mlops ci init", () => {
  test("loads no @pulumi/* package", () => {
    const pulumi = [...packagesLoadedBy("cli/ci-init.ts")].filter(([p]) => p.startsWith("@pulumi/")).map(([p, at]) => `${p} (from ${at})`);
    expect(pulumi).toEqual([]);
  });

  test("reads stage tiers with the same function the components use", () => {
    expect(componentsStage.stageTier).toBe(srcStage.stageTier);
    expect(["prod", "production", "prod-eu", "dev", "test", "local-x", "staging", "qa", "preprod"].map(srcStage.stageTier)).toEqual(["prod", "prod", "prod", "dev", "dev", "dev", "staging", "staging", "staging"]);
  });
});
