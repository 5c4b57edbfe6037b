import { spawn, type ChildProcess } from "node:child_process";
import { request, Agent } from "node:http";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { freePort } from "../../../src/net.js";
import { fixture, inferBody, rows, sleep, tempRegistry } from "./helpers.js";

const CHILD = fileURLToPath(new URL("./child-server.ts", import.meta.url));

interface Outcome {
  status?: number;
  error?: string;
  afterTerm: boolean;
}

/** One POST on `agent`; resolves with the status, or the connection error. */
function post(url: string, body: string, agent: Agent, term: { sent: boolean }): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request(`${url}/v2/models/logistic/infer`, { method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode!, afterTerm: term.sent }));
      res.on("error", (e) => resolve({ error: `response: ${(e as NodeJS.ErrnoException).code ?? e.message}`, afterTerm: term.sent }));
    });
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message, afterTerm: term.sent }));
    req.end(body);
  });
}

function startChild(
  specJson: object | "--env",
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ child: ChildProcess; url: string; stdout: string[]; stderr: string[] }> {
  const arg = specJson === "--env" ? specJson : JSON.stringify(specJson);
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, arg], { stdio: ["ignore", "pipe", "pipe"], env });
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stderr!.on("data", (d: Buffer) => stderr.push(d.toString()));
  return new Promise((resolve, reject) => {
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        stdout.push(line);
        const url = (JSON.parse(line) as { url?: string }).url;
        if (url) resolve({ child, url, stdout, stderr });
      }
    });
    child.on("exit", (code) => reject(new Error(`child exited ${code} before listening: ${stderr.join("")}`)));
  });
}

describe("SIGTERM under load", () => {
  it("answers every accepted request with 200 and exits 0", async () => {
    const t = await tempRegistry();
    await t.registry.register("logistic", await fixture("logistic"), { alias: "champion" });
    const { child, url, stdout, stderr } = await startChild({
      name: "shutdown",
      model: "logistic@champion",
      registry: t.uri,
      server: { host: "127.0.0.1", drainSeconds: 10 },
      batching: { maxBatchSize: 8, maxBatchDelayMs: 5 },
    });
    const exited = new Promise<{ code: number | null; at: number }>((r) => child.on("exit", (code) => r({ code, at: Date.now() })));
    const term = { sent: false };
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const body = JSON.stringify(inferBody(rows(2)));
    try {
      // Requests caught mid-body when SIGTERM lands: accepted, so they must be answered.
      const slow = Array.from({ length: 3 }, () => {
        let finish!: () => void;
        const done = new Promise<Outcome>((resolve) => {
          const req = request(`${url}/v2/models/logistic/infer`, { method: "POST", headers: { "content-length": String(body.length) } }, (res) => {
            let text = "";
            res.on("data", (d: Buffer) => (text += d.toString()));
            res.on("end", () => resolve({ status: res.statusCode!, afterTerm: true, error: text.includes('"model_version":"1"') ? undefined : text }));
          });
          req.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message, afterTerm: term.sent }));
          req.write(body.slice(0, 100));
          finish = () => req.end(body.slice(100));
        });
        return { done, finish: () => finish() };
      });

      const outcomes: Outcome[] = [];
      const worker = async () => {
        const stopAt = Date.now() + 15_000;
        while (Date.now() < stopAt) {
          const o = await post(url, body, agent, term);
          outcomes.push(o);
          if (o.error) return; // the listener is gone: this worker is done
        }
      };
      const load = Promise.all(Array.from({ length: 8 }, worker));
      await sleep(400);
      const termAt = Date.now();
      term.sent = true;
      child.kill("SIGTERM");
      await sleep(150);
      for (const s of slow) s.finish();
      const slowOutcomes = await Promise.all(slow.map((s) => s.done));
      await load;
      const { code, at } = await exited;

      expect(code).toBe(0);
      expect(at - termAt).toBeLessThan(10_000);
      expect(slowOutcomes).toEqual(slow.map(() => ({ status: 200, afterTerm: true, error: undefined })));
      const answered = outcomes.filter((o) => o.status !== undefined);
      expect(answered.length).toBeGreaterThan(20);
      expect(answered.filter((o) => o.status !== 200)).toEqual([]);
      // Errors only where the server never took the request: a refused connect or a reset idle socket.
      expect(outcomes.filter((o) => o.error && !/^(ECONNREFUSED|ECONNRESET)$/.test(o.error))).toEqual([]);
      expect(outcomes.filter((o) => o.error && !o.afterTerm)).toEqual([]);
      // Every response the server finished reached a client: nothing accepted was lost.
      const finished = (JSON.parse(stdout.at(-1)!) as { finished: Record<string, number> }).finished;
      expect(finished).toEqual({ "200": answered.length + slowOutcomes.length });
      expect(stderr.join("")).toMatch(/"msg":"draining"/);
    } finally {
      agent.destroy();
      if (child.exitCode === null) child.kill("SIGKILL");
      await t.cleanup();
    }
  });
});

// The env path takes its port from the spec, which must be 1-65535: a port that was free a moment ago.
describe("container boot from the environment", () => {
  it("serves from MLOPS_ENDPOINT_SPEC with the token from MLOPS_AUTH_TOKEN and exits 0 on SIGTERM", async () => {
    const t = await tempRegistry();
    await t.registry.register("logistic", await fixture("logistic"), { alias: "champion" });
    const spec = { name: "boot", model: "logistic@champion", registry: t.uri, server: { host: "127.0.0.1", port: await freePort() }, auth: { enabled: true } };
    const { child, url, stderr } = await startChild("--env", { ...process.env, MLOPS_ENDPOINT_SPEC: JSON.stringify(spec), MLOPS_AUTH_TOKEN: "tok" });
    const exited = new Promise<number | null>((r) => child.on("exit", r));
    try {
      const body = JSON.stringify(inferBody(rows(1)));
      const without = await fetch(`${url}/v2/models/logistic/infer`, { method: "POST", body, headers: { "content-type": "application/json" } });
      const withToken = await fetch(`${url}/v2/models/logistic/infer`, { method: "POST", body, headers: { "content-type": "application/json", authorization: "Bearer tok" } });
      const ready = await fetch(`${url}/v2/health/ready`);
      expect([without.status, withToken.status, ready.status]).toEqual([401, 200, 200]);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      const logs = stderr.join("").trim().split("\n").map((l) => JSON.parse(l) as { msg: string; endpoint?: string });
      expect(logs.map((l) => l.msg)).toEqual(expect.arrayContaining(["model loaded", "serving", "draining", "stopped"]));
      expect(logs.every((l) => l.endpoint === "boot")).toBe(true);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await t.cleanup();
    }
  });
});

describe("SIGTERM before the model is loaded", () => {
  it("listens with ready 503 while the model is missing, then exits 0 promptly on SIGTERM", async () => {
    const t = await tempRegistry();
    const spec = { name: "early", model: "logistic@champion", registry: t.uri, server: { host: "127.0.0.1", port: await freePort(), drainSeconds: 10 } };
    const { child, url, stderr } = await startChild("--env", { ...process.env, MLOPS_ENDPOINT_SPEC: JSON.stringify(spec) });
    const exited = new Promise<{ code: number | null; at: number }>((r) => child.on("exit", (code) => r({ code, at: Date.now() })));
    try {
      const live = await fetch(`${url}/v2/health/live`);
      // Until the first attempt has failed the 503 says "in progress"; wait (bounded) for the reason.
      let ready = { status: 0, reason: "" };
      for (const until = Date.now() + 5000; ready.reason !== "not_found" && Date.now() < until; await sleep(20)) {
        const r = await fetch(`${url}/v2/health/ready`);
        ready = { status: r.status, reason: ((await r.json()) as { reason: string }).reason };
      }
      expect([live.status, ready.status, ready.reason]).toEqual([200, 503, "not_found"]);
      const termAt = Date.now();
      child.kill("SIGTERM");
      const { code, at } = await exited;
      expect(code).toBe(0);
      expect(at - termAt).toBeLessThan(2000);
      const logs = stderr.join("").trim().split("\n").map((l) => JSON.parse(l) as { msg: string; reason?: string });
      expect(logs.find((l) => l.msg === "model not loaded; will retry")?.reason).toBe("not_found");
      expect(logs.map((l) => l.msg)).toEqual(expect.arrayContaining(["serving", "draining", "stopped"]));
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await t.cleanup();
    }
  });
});
