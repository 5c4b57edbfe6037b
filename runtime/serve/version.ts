import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Server name in OIP server metadata (`GET /v2`). */
export const SERVER_NAME = "mlops-serve";

/**
 * This package's version, from the nearest `package.json` named `pulumi-mlops` above this file (the
 * source tree, `dist/`, or the runtime image all keep one there).
 */
export const SERVER_VERSION: string = findVersion();

function findVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "pulumi-mlops" && pkg.version) return pkg.version;
    } catch {
      // No package.json at this level: keep climbing.
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return "0.0.0";
}
