import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Registry } from "../../../src/registry/index.js";
import { listRolloutEvents, type RolloutEvent } from "../../../src/registry/rollouts.js";
import type { ObjectStore } from "../../../src/store/index.js";
import { parseEndpointSpec, type EndpointSpec, type EndpointSpecInput } from "../../../src/spec/endpoint.js";
import { buildApp, type InjectResponse, type ServeApp } from "../../../runtime/serve/app.js";

export const MODELS_DIR = fileURLToPath(new URL("../../fixtures/models/", import.meta.url));

export function fixture(name: "logistic" | "logistic_v2" | "multitype" | "fixed"): Promise<Buffer> {
  return readFile(join(MODELS_DIR, `${name}.onnx`));
}

/** A real file:// registry in a temp folder; `cleanup` removes it. */
export async function tempRegistry(): Promise<{ registry: Registry; uri: string; dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "mlops-serve-"));
  const uri = `file://${dir}`;
  const registry = await Registry.open(uri);
  return { registry, uri, dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function spec(uri: string, model: string, overrides: Partial<EndpointSpecInput> = {}): EndpointSpec {
  return parseEndpointSpec({ name: "test", model, registry: uri, ...overrides });
}

/** Registers `fixtureName` as `name` with alias `champion`, and builds an app serving `ref`. */
export async function appFor(
  fixtureName: Parameters<typeof fixture>[0],
  opts: { name?: string; ref?: string; spec?: Partial<EndpointSpecInput>; authToken?: string } = {},
): Promise<{ app: ServeApp; registry: Registry; uri: string; cleanup(): Promise<void> }> {
  const t = await tempRegistry();
  const name = opts.name ?? fixtureName.replace("_", "-");
  await t.registry.register(name, await fixture(fixtureName), { alias: "champion" });
  const app = await buildApp({
    spec: spec(t.uri, opts.ref ?? `${name}@champion`, opts.spec),
    registry: t.registry,
    ...(opts.authToken ? { authToken: opts.authToken } : {}),
  });
  return {
    app,
    registry: t.registry,
    uri: t.uri,
    cleanup: async () => {
      await app.close();
      await t.cleanup();
    },
  };
}

/** Deterministic feature rows (no Math.random: failures must reproduce). */
export function rows(n: number, width = 30, seed = 1): number[][] {
  const out: number[][] = [];
  let s = seed;
  for (let i = 0; i < n; i++) {
    const row: number[] = [];
    for (let j = 0; j < width; j++) {
      s = (s * 1103515245 + 12345) % 2147483648;
      row.push(Math.round(((s / 2147483648) * 4 - 2) * 1000) / 1000);
    }
    out.push(row);
  }
  return out;
}

export function inferBody(data: number[][], extra: Record<string, unknown> = {}): object {
  return { inputs: [{ name: "x", datatype: "FP32", shape: [data.length, data[0]!.length], data }], ...extra };
}

/** POSTs an infer request for `model` (optionally a version) and returns the response. */
export function infer(app: ServeApp, model: string, body: string | object, version?: string): Promise<InjectResponse> {
  const url = version === undefined ? `/v2/models/${model}/infer` : `/v2/models/${model}/versions/${version}/infer`;
  return app.inject({ method: "POST", url, body, headers: { "content-type": "application/json" } });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 20 ms until it holds; throws after `ms`. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("timed out waiting");
    await sleep(20);
  }
}

/**
 * A model's rollout events once the newest is of `kind`. A rollout commits its state before it writes the
 * event (runtime/serve/variants/rollout.ts), so a test that saw the phase change waits for the event too.
 */
export async function eventsUntil(store: ObjectStore, model: string, kind: RolloutEvent["kind"], ms = 10_000): Promise<RolloutEvent[]> {
  let events: RolloutEvent[] = [];
  await waitFor(async () => (events = await listRolloutEvents(store, model)).at(-1)?.kind === kind, ms);
  return events;
}

/** Value of one Prometheus sample from the exposition text, or undefined. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const [, k, v] of (m[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have[k!] = v!;
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
  }
  return undefined;
}
