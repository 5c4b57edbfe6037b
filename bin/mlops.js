#!/usr/bin/env node
// The `mlops` command. A published package runs the compiled CLI from dist/; a checkout (and the tests)
// run the TypeScript sources through tsx, so there is no build step between an edit and a run.
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const compiled = join(root, "dist", "src", "cli", "main.js");
if (existsSync(compiled) && !existsSync(join(root, "src", "cli", "main.ts"))) {
  await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(pathToFileURL(join(root, "src", "cli", "main.ts")).href);
}
