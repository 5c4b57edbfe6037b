/**
 * A separate process that registers one model version, for the registry's cross-process tests.
 *
 *   node --import tsx tests/helpers/register-worker.ts <registry-uri> <name> <tag> [crash-before-commit]
 *
 * Opens the registry (S3 settings from the environment), prints "ready", waits for a line on stdin so a
 * test can release several workers at once, registers `tinyOnnx({ doc: tag })`, and prints the
 * ModelVersion as one JSON line. With `crash-before-commit` it SIGKILLs itself at the moment it would
 * create the version record, after the artifact blob is written: a registration killed midway.
 */
import { createInterface } from "node:readline";
import { Registry } from "../../src/registry/index.js";
import { openStore } from "../../src/store/index.js";
import type { ObjectStore } from "../../src/store/types.js";
import { tinyOnnx } from "./tiny-onnx.js";

const [uri, name, tag, mode] = process.argv.slice(2);
if (!uri || !name || !tag) {
  process.stderr.write("usage: register-worker.ts <registry-uri> <name> <tag> [crash-before-commit]\n");
  process.exit(2);
}

const store = openStore(uri);
const crashing: ObjectStore = Object.assign(Object.create(store) as ObjectStore, {
  async putIfAbsent(key: string, body: Buffer | string): Promise<boolean> {
    if (/^models\/[^/]+\/versions\//.test(key)) process.kill(process.pid, "SIGKILL");
    return store.putIfAbsent(key, body);
  },
});
const registry = new Registry(mode === "crash-before-commit" ? crashing : store);

process.stdout.write("ready\n");
const lines = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => lines.once("line", () => resolve()));
lines.close();
const mv = await registry.register(name, tinyOnnx({ doc: tag }), { params: { tag } });
process.stdout.write(JSON.stringify(mv) + "\n");
