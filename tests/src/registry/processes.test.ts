import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Registry } from "../../../src/registry/index.js";
import type { ModelVersion } from "../../../src/registry/types.js";
import { BACKENDS, useBackend } from "../../helpers/stores.js";
import { tinyOnnx } from "../../helpers/tiny-onnx.js";

const WORKER = fileURLToPath(new URL("../../helpers/register-worker.ts", import.meta.url));
const WORKERS = 6;

interface Worker {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  /** Resolves with everything the worker printed, and how it ended. */
  readonly done: Promise<{ stdout: string; stderr: string; code: number | null; signal: NodeJS.Signals | null }>;
}

function startWorker(uri: string, env: Record<string, string>, tag: string, mode?: string): Worker {
  const child = spawn(process.execPath, ["--import", "tsx", WORKER, uri, "fraud", tag, ...(mode ? [mode] : [])], {
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.startsWith("ready\n")) markReady();
  });
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<Awaited<Worker["done"]>>((resolve) =>
    child.on("close", (code, signal) => {
      markReady(); // a worker that died early must not hang the barrier
      resolve({ stdout, stderr, code, signal });
    }),
  );
  const timer = setTimeout(() => child.kill("SIGKILL"), 45_000);
  void done.then(() => clearTimeout(timer));
  return { child, ready, done };
}

/** Starts workers, releases them together once all have loaded, and waits for them to end. */
async function runTogether(workers: Worker[]): Promise<Array<Awaited<Worker["done"]>>> {
  await Promise.all(workers.map((w) => w.ready));
  for (const w of workers) w.child.stdin!.end("go\n");
  return Promise.all(workers.map((w) => w.done));
}

function versionOf(out: { stdout: string; stderr: string }): ModelVersion {
  const line = out.stdout.split("\n").find((l) => l.startsWith("{"));
  if (!line) throw new Error(`worker printed no version; stderr:\n${out.stderr}`);
  return JSON.parse(line) as ModelVersion;
}

describe.each(BACKENDS)("Registry across processes on %s", (kind) => {
  const backend = useBackend(kind);

  it(`gives ${WORKERS} processes registering at once versions 1..${WORKERS}, each with its own artifact`, async () => {
    const { uri, env, store } = backend();
    const tags = Array.from({ length: WORKERS }, (_, i) => `worker-${i}`);
    const results = await runTogether(tags.map((tag) => startWorker(uri, env, tag)));
    const registered = results.map(versionOf);
    const registry = new Registry(store);
    const listed = await registry.list("fraud");
    expect(listed.map((v) => v.version)).toEqual(Array.from({ length: WORKERS }, (_, i) => i + 1));
    // Nothing lost or swapped: each version holds the bytes of the worker that got that number.
    for (const mv of registered) {
      const tag = mv.params.tag!;
      const expected = createHash("sha256").update(tinyOnnx({ doc: tag })).digest("hex");
      expect([tag, (await registry.get("fraud", mv.version)).digest]).toEqual([tag, `sha256:${expected}`]);
      expect((await registry.readArtifact(mv)).equals(tinyOnnx({ doc: tag }))).toBe(true);
    }
  });

  it("leaves no visible version when a registration is killed before its commit", async () => {
    const { uri, env, store } = backend();
    const registry = new Registry(store);
    await registry.register("fraud", tinyOnnx({ doc: "first" }));
    const [killed] = await runTogether([startWorker(uri, env, "killed", "crash-before-commit")]);
    expect(killed!.signal).toBe("SIGKILL");
    // Its blob was written (an unreferenced orphan is allowed) but no version record.
    const orphan = createHash("sha256").update(tinyOnnx({ doc: "killed" })).digest("hex");
    expect([await store.exists(`blobs/sha256/${orphan}`), (await registry.list("fraud")).map((v) => v.version)]).toEqual([
      true,
      [1],
    ]);
  });

  it("gives the next registration after a killed one the next number", async () => {
    const { uri, env, store } = backend();
    const registry = new Registry(store);
    await registry.register("fraud", tinyOnnx({ doc: "first" }));
    await runTogether([startWorker(uri, env, "killed", "crash-before-commit")]);
    const [next] = await runTogether([startWorker(uri, env, "after")]);
    expect(versionOf(next!).version).toBe(2);
  });
});
