/**
 * At the file-descriptor limit. On Linux libuv sheds the connections it cannot accept by itself (it keeps
 * a spare descriptor for that), and reports an accept error to Node only when even that fails; Node then
 * emits it on the server, which ends the process unless something listens. So: an accept error on the
 * server is logged once per interval and the server carries on; and a real server under a low `ulimit -n`
 * survives bursts of connections past it and serves again once they are gone.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { connect, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { guardConnections } from "../../../runtime/serve/connections.js";
import type { Logger } from "../../../src/log.js";
import { freePort } from "../../../src/net.js";
import { fixture, sleep, tempRegistry } from "./helpers.js";

const CHILD = fileURLToPath(new URL("./child-server.ts", import.meta.url));

function recording(): { logger: Logger; lines: { level: string; msg: string; fields: Record<string, unknown> }[] } {
  const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (msg: string, fields: Record<string, unknown> = {}) => void lines.push({ level, msg, fields });
  const logger: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error"), child: () => logger };
  return { logger, lines };
}

describe("accept errors", () => {
  it("logs EMFILE on accept once per interval, counting the rest, and keeps listening", async () => {
    const server = createServer((_req, res) => res.end("ok"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { logger, lines } = recording();
    guardConnections(server, { maxConnections: 10, limits: { headersTimeoutSeconds: 10, requestTimeoutSeconds: 30 }, logger, count: () => {} });
    try {
      // What net.Server does when libuv reports a failed accept (lib/net.js onconnection).
      const emfile = () => Object.assign(new Error("accept EMFILE"), { code: "EMFILE", errno: -24, syscall: "accept" });
      for (let i = 0; i < 5; i++) server.emit("error", emfile());
      expect(lines.map((l) => [l.level, l.msg, l.fields.code])).toEqual([["error", "cannot accept connections: out of file descriptors", "EMFILE"]]);
      expect(lines[0]!.fields.hint).toMatch(/ulimit -n.*maxConnections/);
      const port = (server.address() as { port: number }).port;
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe("ok");
    } finally {
      server.close();
    }
  });
});

describe("a server under a low open-files limit", () => {
  it("survives bursts of connections past its limit and serves again once they close", async () => {
    const t = await tempRegistry();
    await t.registry.register("logistic", await fixture("logistic"), { alias: "champion" });
    const port = await freePort();
    const spec = { name: "fd", model: "logistic@champion", registry: t.uri, server: { host: "127.0.0.1", port, shutdownDelaySeconds: 0 } };
    // 128 descriptors: enough to boot (about 25 are open once listening), few enough to run out of.
    const child = spawn("bash", ["-c", `ulimit -n 128 && exec "${process.execPath}" --import tsx "${CHILD}" --env`], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, MLOPS_ENDPOINT_SPEC: JSON.stringify(spec) },
    });
    const stderr: string[] = [];
    child.stderr!.on("data", (d: Buffer) => stderr.push(d.toString()));
    const exited = new Promise<number | null>((r) => child.on("exit", r));
    const sockets: Socket[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on("data", (d: Buffer) => /"url"/.test(d.toString()) && resolve());
        child.on("exit", (code) => reject(new Error(`child exited ${code}: ${stderr.join("")}`)));
      });
      const base = `http://127.0.0.1:${port}`;
      for (let until = Date.now() + 20_000; (await fetch(`${base}/v2/health/ready`)).status !== 200; await sleep(50)) {
        if (Date.now() > until) throw new Error("never ready");
      }
      let shed = 0;
      for (let burst = 0; burst < 3; burst++) {
        for (let i = 0; i < 150; i++) {
          const s = connect(port, "127.0.0.1");
          s.on("error", () => {});
          s.on("close", () => shed++);
          sockets.push(s);
        }
        await sleep(500);
      }
      expect(child.exitCode).toBe(null);
      expect(shed).toBeGreaterThan(0); // the limit was reached
      for (const s of sockets.splice(0)) s.destroy();
      let status = 0;
      for (let until = Date.now() + 5000; status !== 200 && Date.now() < until; await sleep(50)) {
        status = await fetch(`${base}/v2/health/live`).then((r) => r.status, () => 0);
      }
      expect(status).toBe(200);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      for (const s of sockets) s.destroy();
      if (child.exitCode === null) child.kill("SIGKILL");
      await t.cleanup();
    }
  });
});
