/**
 * SIGTERM under keep-alive load loses no accepted request. The test plays the cluster around the pod:
 * 128 clients on keep-alive connections (an http.Agent) post to pod A (a child process with the production
 * signal handling); new connections go to A while it is in the Service's endpoints and to pod B (a second
 * server) once it is not, as kube-proxy does, while connections already open keep going to A. An endpoints
 * controller polls A's readiness every 100 ms and takes A out at its first 503 (Kubernetes takes a deleted
 * pod out at once; reading readiness here also checks that it turns false at once).
 *
 * "Accepted" means Node's HTTP parser handed the request to A's server (A counts them on its
 * `http.server.request.start` diagnostics channel). A request that was written to a connection A closed
 * before reading it, or to a listener no longer there, was not accepted; such a request would show here as a
 * client error (a reset, a refused connection). So the test asserts that no client request failed at all,
 * and that every request A accepted was answered 200 and that answer reached a client.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { Agent, request } from "node:http";
import { connect, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { startServer } from "../../../runtime/serve/main.js";
import { fixture, inferBody, rows, sleep, spec, tempRegistry } from "./helpers.js";

const CHILD = fileURLToPath(new URL("./child-server.ts", import.meta.url));
const CONNECTIONS = 128;
const SHUTDOWN_DELAY_SECONDS = 2;

function startChild(specJson: object): Promise<{ child: ChildProcess; port: number; stdout: string[]; stderr: string[] }> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, JSON.stringify(specJson)], { stdio: ["ignore", "pipe", "pipe"] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stderr!.on("data", (d: Buffer) => stderr.push(d.toString()));
  return new Promise((resolve, reject) => {
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        stdout.push(line);
        const url = (JSON.parse(line) as { url?: string }).url;
        if (url) resolve({ child, port: Number(new URL(url).port), stdout, stderr });
      }
    });
    child.on("exit", (code) => reject(new Error(`child exited ${code} before listening: ${stderr.join("")}`)));
  });
}

interface Outcome {
  /** "A" or "B" by the model version that answered (A serves version 1, B version 2); undefined on error. */
  pod?: "A" | "B";
  status?: number;
  connectionClose?: boolean;
  error?: string;
  afterTerm: boolean;
  sentAt: number;
}

describe("SIGTERM under keep-alive load", () => {
  it(`loses no accepted request across ${CONNECTIONS} keep-alive connections, readiness false at once, then exits 0`, async () => {
    const t = await tempRegistry();
    await t.registry.register("logistic", await fixture("logistic"), { alias: "champion" });
    await t.registry.register("logistic", await fixture("logistic_v2"));
    const a = await startChild({
      name: "pod-a",
      model: "logistic@champion",
      registry: t.uri,
      server: { host: "127.0.0.1", shutdownDelaySeconds: SHUTDOWN_DELAY_SECONDS, drainSeconds: 10 },
      batching: { maxBatchSize: 32, maxBatchDelayMs: 2 },
    });
    const sB = spec(t.uri, "logistic:2", { server: { host: "127.0.0.1" } });
    const b = await startServer({ ...sB, server: { ...sB.server, port: 0 } }, { registry: t.registry });
    const exited = new Promise<{ code: number | null; at: number }>((r) => a.child.on("exit", (code) => r({ code, at: Date.now() })));

    const state = { inEndpoints: true, termAt: 0, termSent: false };
    const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    // kube-proxy: a new connection goes to a pod in the endpoints; one already open stays where it is.
    (agent as unknown as { createConnection: (o: object, cb: unknown) => Socket }).createConnection = () =>
      connect(state.inEndpoints ? a.port : b.port, "127.0.0.1");
    const body = JSON.stringify(inferBody(rows(2)));
    const post = (): Promise<Outcome> =>
      new Promise((resolve) => {
        const afterTerm = state.termSent;
        const sentAt = Date.now();
        const req = request({ host: "127.0.0.1", path: "/v2/models/logistic/infer", method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => {
          let text = "";
          res.on("data", (d: Buffer) => (text += d.toString()));
          res.on("end", () => {
            const version = res.statusCode === 200 ? (JSON.parse(text) as { model_version: string }).model_version : undefined;
            resolve({ pod: version === "1" ? "A" : version === "2" ? "B" : undefined, status: res.statusCode!, connectionClose: res.headers.connection === "close", afterTerm, sentAt });
          });
          res.on("error", (e: NodeJS.ErrnoException) => resolve({ error: `response: ${e.code ?? e.message}`, afterTerm, sentAt }));
        });
        req.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message, afterTerm, sentAt }));
        req.end(body);
      });

    // The endpoints controller, on fresh connections (never the agent's).
    const probes: { status: number | string; at: number }[] = [];
    let probing = true;
    const controller = (async () => {
      while (probing) {
        const status = await fetch(`http://127.0.0.1:${a.port}/v2/health/ready`).then((r) => r.status, (e: Error & { cause?: { code?: string } }) => e.cause?.code ?? e.message);
        probes.push({ status, at: Date.now() });
        if (status !== 200) state.inEndpoints = false;
        await sleep(100);
      }
    })();

    const outcomes: Outcome[] = [];
    let running = true;
    const worker = async () => {
      // Bounded: by time, and by count per worker.
      for (let i = 0; running && i < 2000; i++) outcomes.push(await post());
    };
    try {
      const load = Promise.all(Array.from({ length: CONNECTIONS }, worker));
      await sleep(1000);
      state.termAt = Date.now();
      state.termSent = true;
      a.child.kill("SIGTERM");
      const { code, at } = await exited;
      await sleep(300);
      running = false;
      probing = false;
      await load;
      await controller;

      // No client request failed: nothing was written to a connection A closed unread, nor refused.
      expect(outcomes.filter((o) => o.error !== undefined || o.status !== 200)).toEqual([]);
      expect(code).toBe(0);
      // A kept serving for the delay, then stopped well within its drain.
      expect(at - state.termAt).toBeGreaterThanOrEqual(SHUTDOWN_DELAY_SECONDS * 1000);
      expect(at - state.termAt).toBeLessThan((SHUTDOWN_DELAY_SECONDS + 10) * 1000);
      // Readiness turned false while A still answered: a 503 before the listener closed.
      const afterTerm = probes.filter((p) => p.at >= state.termAt);
      const first503 = afterTerm.findIndex((p) => p.status === 503);
      expect(first503).toBeGreaterThanOrEqual(0);
      expect(first503).toBeLessThan(afterTerm.findIndex((p) => p.status === "ECONNREFUSED"));
      // A kept answering after it was draining, each answer with Connection: close; B took the new connections.
      const fromA = outcomes.filter((o) => o.pod === "A");
      expect(fromA.filter((o) => o.afterTerm && o.connectionClose).length).toBeGreaterThan(0);
      expect(fromA.filter((o) => !o.connectionClose && o.sentAt > afterTerm[first503]!.at)).toEqual([]);
      expect(outcomes.filter((o) => o.pod === "B").length).toBeGreaterThan(0);
      // Every request A accepted was answered 200, and each of those answers reached a client.
      const { finished, started } = JSON.parse(a.stdout.at(-1)!) as { finished: Record<string, number>; started: number };
      const probe200 = probes.filter((p) => p.status === 200).length;
      const probe503 = probes.filter((p) => p.status === 503).length;
      expect(finished).toEqual({ "200": fromA.length + probe200, "503": probe503 });
      expect(started).toBe(fromA.length + probe200 + probe503);
      expect(a.stderr.join("")).toMatch(/"msg":"draining"/);
    } finally {
      running = false;
      probing = false;
      agent.destroy();
      if (a.child.exitCode === null) a.child.kill("SIGKILL");
      await b.stop();
      await t.cleanup();
    }
  });
});
