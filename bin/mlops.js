#!/usr/bin/env node
// The `mlops` command. An installed package (under node_modules) runs the compiled CLI from dist/; a
// checkout (and the tests) runs the TypeScript sources through tsx, so no build sits between an edit and
// a run, and a stale dist/ from `npm pack` is never picked up.
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const compiled = join(root, "dist", "cli", "main.js");
const installed = root.split(/[\\/]/).includes("node_modules");
if (existsSync(compiled) && (installed || !existsSync(join(root, "cli", "main.ts")))) {
  await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(pathToFileURL(join(root, "cli", "main.ts")).href);
}
