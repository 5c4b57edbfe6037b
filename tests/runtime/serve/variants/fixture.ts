/**
 * Variant tests' shared set-up: a file:// registry with the stable model (`logistic`, version 1, alias
 * `champion`) and a challenger, an app serving them with `variants` on a real socket, and a bounded load of
 * keep-alive clients that records which version answered each request.
 */
import { Agent, request } from "node:http";
import type { EndpointSpecInput } from "../../../../src/spec/endpoint.js";
import type { EndpointVariantsInput } from "../../../../src/spec/endpoint-variants.js";
import type { Registry } from "../../../../src/registry/index.js";
import { buildApp, type ServeAppDeps } from "../../../../runtime/serve/app.js";
import { tinyOnnx } from "../../../helpers/tiny-onnx.js";
import { fixture, inferBody, rows, spec, tempRegistry } from "../helpers.js";
import { listen, type Live } from "../live.js";

export const MODEL = "logistic";

/** A challenger that every stable request fails on: its input takes 31 features, the requests send 30. */
export function mismatchedModel(): Buffer {
  return tinyOnnx({ input: "x", output: "probability", features: 31, doc: "bad canary" });
}

export interface VariantServer extends Live {
  readonly registry: Registry;
}

/**
 * Registers `logistic` v1 (alias champion) and then each of `challengers` (v2, v3, ...), and serves
 * `logistic@champion` with `variants`.
 */
export async function serveVariants(
  variants: EndpointVariantsInput,
  opts: { challengers?: Buffer[]; spec?: Partial<EndpointSpecInput>; deps?: Partial<ServeAppDeps>; before?: (r: Registry) => Promise<void> } = {},
): Promise<VariantServer> {
  const t = await tempRegistry();
  await t.registry.register(MODEL, await fixture("logistic"), { alias: "champion" });
  for (const c of opts.challengers ?? [await fixture("logistic_v2")]) await t.registry.register(MODEL, c);
  await opts.before?.(t.registry);
  const app = await buildApp({
    spec: spec(t.uri, `${MODEL}@champion`, { pollIntervalSeconds: 0.05, ...opts.spec, variants }),
    registry: t.registry,
    ...opts.deps,
  });
  const live = await listen(app, MODEL, () => t.cleanup());
  return { ...live, registry: t.registry };
}

export interface Answer {
  readonly status: number;
  /** `model_version` of a 200 answer; "" otherwise. */
  readonly version: string;
  readonly body: string;
}

/**
 * Sends `n` infer requests over `concurrency` keep-alive connections; `headers(i)` adds headers to request i.
 * Resolves with every answer, in request order.
 */
export async function load(url: string, n: number, opts: { concurrency?: number; headers?: (i: number) => Record<string, string>; rows?: number } = {}): Promise<Answer[]> {
  const concurrency = opts.concurrency ?? 8;
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const body = JSON.stringify(inferBody(rows(opts.rows ?? 1)));
  const out: Answer[] = new Array(n);
  let next = 0;
  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const req = request(url, { method: "POST", agent, headers: { "content-type": "application/json", ...(opts.headers?.(i) ?? {}) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let version = "";
          if (res.statusCode === 200) version = String((JSON.parse(text) as { model_version?: string }).model_version ?? "");
          out[i] = { status: res.statusCode ?? 0, version, body: text };
          resolve();
        });
      });
      req.on("error", reject);
      req.end(body);
    });
  const worker = async () => {
    while (next < n) await one(next++);
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return out;
}

/** Answers by version ("1": 120, "2": 40, ...) and the statuses that were not 200. */
export function tally(answers: readonly Answer[]): { byVersion: Record<string, number>; failed: Answer[] } {
  const byVersion: Record<string, number> = {};
  const failed: Answer[] = [];
  for (const a of answers) {
    if (a.status !== 200) failed.push(a);
    else byVersion[a.version] = (byVersion[a.version] ?? 0) + 1;
  }
  return { byVersion, failed };
}

export async function metricsText(base: string): Promise<string> {
  return (await fetch(`${base}/metrics`)).text();
}
