/**
 * The one rule between the layers (DESIGN.md): src/ is shared by both sides and loads neither; the
 * runtime image never loads @pulumi/* nor the infrastructure side; components never load the runtime.
 * cli/ is the top layer and may import anything (it loads the Pulumi side lazily).
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers/cli.js";
import { importsOf, layerViolations, type LayerRule } from "./helpers/imports.js";

const PULUMI = "@pulumi/";
// The package root (index.ts, or the package by name) re-exports components/, so it counts as components/.
const ROOT_INDEX = ["index.ts"];
const SELF = "pulumi-mlops";

const RULES: readonly LayerRule[] = [
  { layer: "src", forbiddenPaths: ["runtime", "components", "cli", "stacks", "policy", ...ROOT_INDEX], forbiddenPackages: [PULUMI, SELF] },
  { layer: "runtime", forbiddenPaths: ["components", "cli", "stacks", "policy", ...ROOT_INDEX], forbiddenPackages: [PULUMI, SELF] },
  { layer: "components", forbiddenPaths: ["runtime", "cli", "stacks", "policy"], forbiddenPackages: [] },
  // The policy pack runs in the Pulumi engine's analyzer: it may read @pulumi/* and components/, never the runtime.
  { layer: "policy", forbiddenPaths: ["runtime", "cli", "stacks"], forbiddenPackages: [SELF] },
];

/** Root-relative paths of the TypeScript files under `dir`. */
function sources(dir: string): string[] {
  return (readdirSync(join(ROOT, dir), { recursive: true }) as string[])
    .map((f) => `${dir}/${f.split("\\").join("/")}`)
    .filter((f) => /\.[cm]?tsx?$/.test(f) && !f.endsWith(".d.ts") && !f.includes("/node_modules/"))
    .sort();
}

describe("layers", () => {
  for (const rule of RULES) {
    it(`${rule.layer}/ imports nothing from ${[...rule.forbiddenPaths, ...rule.forbiddenPackages.map((p) => (p.endsWith("/") ? `${p}*` : p))].join(", ")}`, () => {
      const files = sources(rule.layer);
      // A walk that found nothing would pass vacuously.
      expect(files.length).toBeGreaterThan(3);
      const violations = files.flatMap((f) => layerViolations(f, readFileSync(join(ROOT, f), "utf8"), rule));
      expect(violations, `layer violations:\n  ${violations.join("\n  ")}`).toEqual([]);
    });
  }
});

describe("importsOf", () => {
  it("reads static imports, re-exports, side-effect imports and dynamic imports with their lines", () => {
    const source = [
      'import { a } from "./a.js";',
      'import type { B } from "@pulumi/pulumi";',
      "import {",
      "  c,",
      '} from "../c.js";',
      'import "./side-effect.js";',
      'export * from "./d.js";',
      'export { e } from "./e.js";',
      'const f = await import("@pulumi/kubernetes");',
      'type G = import("./g.js").G;',
      'import h = require("./h.js");',
    ].join("\n");
    expect(importsOf(source).map((s) => `${s.line} ${s.kind} ${s.specifier}`)).toEqual([
      "1 import ./a.js",
      "2 import @pulumi/pulumi",
      "3 import ../c.js",
      "6 import ./side-effect.js",
      "7 export ./d.js",
      "8 export ./e.js",
      "9 dynamic @pulumi/kubernetes",
      "10 dynamic ./g.js",
      "11 require ./h.js",
    ]);
  });

  it("ignores modules that comments and strings only mention, and non-literal dynamic imports", () => {
    const source = [
      '// import * as pulumi from "@pulumi/pulumi";',
      '/* await import("../runtime/serve/index.js") */',
      'const doc = "import x from \\"@pulumi/aws\\"";',
      'const code = `await import("@pulumi/docker")`;',
      "const m = await import(someUrl);",
      "export const x = 1;",
    ].join("\n");
    expect(importsOf(source)).toEqual([]);
  });
});

describe("layerViolations", () => {
  const src = RULES[0]!;

  it("names the file, the line and the import that breaks the rule", () => {
    const source = ['import { MlopsError } from "../errors.js";', "", 'import * as pulumi from "@pulumi/pulumi";'].join("\n");
    expect(layerViolations("src/registry/x.ts", source, src)).toEqual([
      'src/registry/x.ts:3: import "@pulumi/pulumi" (src/ may not import @pulumi/*)',
    ]);
  });

  it("resolves relative paths to the layer they lead into", () => {
    const source = [
      'export { serve } from "../../runtime/serve/index.js";',
      'const c = await import("../../components/index.js");',
      'import { x } from "../spec/env.js";',
      'import { y } from "../../index.js";',
    ].join("\n");
    expect(layerViolations("src/registry/x.ts", source, src)).toEqual([
      'src/registry/x.ts:1: export "../../runtime/serve/index.js" (src/ may not import runtime/)',
      'src/registry/x.ts:2: dynamic "../../components/index.js" (src/ may not import components/)',
      'src/registry/x.ts:4: import "../../index.js" (src/ may not import index.ts)',
    ]);
  });

  it("applies a rule only to files of its layer", () => {
    expect(layerViolations("cli/synth.ts", 'const p = await import("@pulumi/pulumi");', src)).toEqual([]);
  });
});
