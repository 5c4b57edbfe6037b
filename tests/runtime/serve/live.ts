/**
 * A served fixture model on a real socket (127.0.0.1, a free port), for the tests that speak HTTP as a
 * client would: binary bodies, compressed answers, requests in parallel.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { EndpointSpecInput } from "../../../src/spec/endpoint.js";
import { buildApp, type ServeApp } from "../../../runtime/serve/app.js";
import { MODELS_DIR, spec, tempRegistry } from "./helpers.js";

export interface Live {
  readonly app: ServeApp;
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  /** The model's infer URL. */
  readonly inferUrl: string;
  close(): Promise<void>;
}

/** Registers tests/fixtures/models/`fixture`.onnx as `name`, serves it, and listens. */
export async function serveFixture(fixture: string, opts: { name?: string; spec?: Partial<EndpointSpecInput> } = {}): Promise<Live> {
  const t = await tempRegistry();
  const name = opts.name ?? fixture.replace(/_/g, "-");
  await t.registry.register(name, await readFile(join(MODELS_DIR, `${fixture}.onnx`)), { alias: "champion" });
  const app = await buildApp({ spec: spec(t.uri, `${name}@champion`, opts.spec), registry: t.registry });
  return listen(app, name, () => t.cleanup());
}

/** Puts a built app on a free 127.0.0.1 port; `close` stops the socket, the app, then runs `after`. */
export async function listen(app: ServeApp, model: string, after?: () => Promise<void>): Promise<Live> {
  const server: Server = createServer(app.handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    app,
    base,
    inferUrl: `${base}/v2/models/${model}/infer`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.close();
      await after?.();
    },
  };
}
