/**
 * A version lives as long as a request routed to it: one whose body is still uploading when the alias
 * moves finishes on the old version (with 200), which is freed only after that.
 */
import { request } from "node:http";
import { describe, expect, it } from "vitest";
import { startServer } from "../../../runtime/serve/main.js";
import { fixture, inferBody, rows, spec, tempRegistry, waitFor } from "./helpers.js";

describe("a request uploading while the alias moves", () => {
  it("is answered 200 by the version it was routed to, not 'Session already disposed'", async () => {
    const t = await tempRegistry();
    await t.registry.register("logistic", await fixture("logistic"), { alias: "champion" });
    await t.registry.register("logistic", await fixture("logistic_v2"));
    const s = spec(t.uri, "logistic@champion", { server: { host: "127.0.0.1" }, pollIntervalSeconds: 0.05 });
    const server = await startServer({ ...s, server: { ...s.server, port: 0 } }, { registry: t.registry });
    try {
      const body = JSON.stringify(inferBody(rows(2)));
      let write!: (rest: string) => void;
      const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request(
          `${server.url}/v2/models/logistic/infer`,
          { method: "POST", headers: { "content-type": "application/json", "content-length": String(body.length) } },
          (res) => {
            let text = "";
            res.on("data", (d: Buffer) => (text += d.toString()));
            res.on("end", () => resolve({ status: res.statusCode!, text }));
          },
        );
        req.on("error", reject);
        req.write(body.slice(0, body.length / 2));
        write = (rest) => req.end(rest);
      });
      // The request is routed (to version 1) once its headers are in: give the server a moment to read them.
      await new Promise((r) => setTimeout(r, 100));
      await t.registry.setAlias("logistic", "champion", 2);
      // Version 2 is served (so version 1 has been retired) while the first request is still uploading.
      await waitFor(async () => ((await (await fetch(`${server.url}/v2/models/logistic`)).json()) as { versions: string[] }).versions[0] === "2");
      write(body.slice(body.length / 2));
      const r = await answered;
      expect(r.text).not.toMatch(/disposed/);
      expect(r.status).toBe(200);
      expect((JSON.parse(r.text) as { model_version: string }).model_version).toBe("1");
      // And new requests go to version 2.
      const next = await fetch(`${server.url}/v2/models/logistic/infer`, { method: "POST", headers: { "content-type": "application/json" }, body });
      expect(((await next.json()) as { model_version: string }).model_version).toBe("2");
    } finally {
      await server.stop();
      await t.cleanup();
    }
  });
});
