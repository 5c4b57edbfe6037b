/**
 * Reads the module imports of TypeScript sources with the TypeScript parser (so comments, strings and
 * template literals that merely mention a module are not imports) and checks them against the layer
 * rules of DESIGN.md.
 */
import * as path from "node:path";
import ts from "typescript";

/** One module specifier a source file loads. */
export interface ImportSite {
  /** As written: `"../src/errors.js"`, `"@pulumi/pulumi"`. */
  readonly specifier: string;
  /** 1-based line of the statement or call. */
  readonly line: number;
  /** `import`/`export … from` statements, `import("…")` calls (and `import("…")` types), `import x = require("…")`. */
  readonly kind: "import" | "export" | "dynamic" | "require";
}

/**
 * Every module `source` imports: static `import … from "x"` and `import "x"`, `export … from "x"`,
 * dynamic `import("x")` with a literal argument, `import("x")` in type positions and `import x = require("x")`.
 * Type-only imports count: a layer that names another layer's types depends on it.
 */
export function importsOf(source: string, fileName = "module.ts"): ImportSite[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: ImportSite[] = [];
  const add = (node: ts.Node, spec: ts.Node | undefined, kind: ImportSite["kind"]) => {
    if (!spec || !ts.isStringLiteralLike(spec)) return; // import(someVariable): not resolvable statically
    out.push({ specifier: spec.text, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, kind });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) add(node, node.moduleSpecifier, "import");
    else if (ts.isExportDeclaration(node)) add(node, node.moduleSpecifier, "export");
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression, "require");
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node, node.arguments[0], "dynamic");
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal, "dynamic");
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** What one layer (a top-level folder) may not import. */
export interface LayerRule {
  /** The folder the rule applies to, relative to the repository root: `"src"`. */
  readonly layer: string;
  /** Top-level folders (or root files, e.g. `"index.ts"`) whose modules it may not import. */
  readonly forbiddenPaths: readonly string[];
  /** Package name prefixes it may not import: `"@pulumi/"`. */
  readonly forbiddenPackages: readonly string[];
}

/** Where an import leads: a file of this repository (root-relative, `/`-separated) or a package. */
export type ImportTarget = { readonly file: string } | { readonly package: string };

/** Resolves `specifier` as imported by `file` (root-relative, `/`-separated). */
export function importTarget(file: string, specifier: string): ImportTarget {
  if (specifier.startsWith("./") || specifier.startsWith("../") || specifier === "." || specifier === "..") {
    return { file: path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)) };
  }
  const parts = specifier.split("/");
  return { package: specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]! };
}

/**
 * The imports of `file` (root-relative) that break `rule`, each as `<file>:<line>: <kind> "<specifier>" (<why>)`.
 * Files outside `rule.layer` have none.
 */
export function layerViolations(file: string, source: string, rule: LayerRule): string[] {
  if (!file.startsWith(`${rule.layer}/`)) return [];
  const out: string[] = [];
  for (const site of importsOf(source, file)) {
    const target = importTarget(file, site.specifier);
    let why: string | undefined;
    if ("file" in target) {
      const top = target.file.split("/")[0]!;
      const hit = rule.forbiddenPaths.find((p) => p === top || p === target.file.replace(/\.js$/, ".ts"));
      if (target.file.startsWith("..")) why = "outside the repository";
      else if (hit) why = `${rule.layer}/ may not import ${hit}${hit.includes(".") ? "" : "/"}`;
    } else {
      const hit = rule.forbiddenPackages.find((p) => target.package === p || target.package.startsWith(p));
      if (hit) why = `${rule.layer}/ may not import ${hit}${hit.endsWith("/") ? "*" : ""}`;
    }
    if (why) out.push(`${file}:${site.line}: ${site.kind} ${JSON.stringify(site.specifier)} (${why})`);
  }
  return out;
}
