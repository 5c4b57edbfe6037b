/**
 * Where this package is installed, found from this file's own location: the source checkout, the
 * compiled `dist/` inside it, `node_modules/pulumi-mlops`, or the runtime image (`/app`) all keep the
 * package's `package.json` above it. One walk up the tree, done once per process.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package's name in its package.json; a package.json with another name (a user's project) is passed by. */
export const PACKAGE_NAME = "pulumi-mlops";

let found: { readonly root: string; readonly version: string } | undefined;

function locate(from: string): { root: string; version: string } {
  let dir = dirname(from);
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown; version?: unknown };
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === "string") return { root: dir, version: pkg.version };
    } catch {
      // No (readable) package.json at this level: keep climbing.
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`the ${PACKAGE_NAME} package.json was not found above ${from}`);
    dir = up;
  }
}

/** The package root: the folder of this package's package.json. */
export function packageRoot(): string {
  found ??= locate(fileURLToPath(import.meta.url));
  return found.root;
}

/** The package's version, from its package.json. */
export function packageVersion(): string {
  found ??= locate(fileURLToPath(import.meta.url));
  return found.version;
}
