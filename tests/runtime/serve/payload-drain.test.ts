/**
 * The payload log's last records are written when a serving process drains on SIGTERM: a child process
 * with the production signal handling (child-server.ts), a batch too large and an interval too long to
 * be written before the signal, and the records read back once the process has exited.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readPayloadLogs } from "../../../runtime/serve/payload-reader.js";
import { fixture, inferBody, rows, tempRegistry } from "./helpers.js";

const CHILD = fileURLToPath(new URL("./child-server.ts", import.meta.url));

describe("payload logging on SIGTERM", () => {
  it("writes every record still held before the process exits 0", async () => {
    const t = await tempRegistry();
    const dir = await mkdtemp(join(tmpdir(), "mlops-payloads-"));
    try {
      await t.registry.register("logistic", await fixture("logistic"), { alias: "champion" });
      const spec = {
        name: "pod-a",
        model: "logistic@champion",
        registry: t.uri,
        server: { host: "127.0.0.1", shutdownDelaySeconds: 0.2, drainSeconds: 5 },
        logging: { sampleRate: 1, uri: `file://${dir}`, batchSize: 10_000, flushIntervalSeconds: 3600 },
      };
      const child = spawn(process.execPath, ["--import", "tsx", CHILD, JSON.stringify(spec)], { stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      const url = await new Promise<string>((resolve, reject) => {
        let buf = "";
        child.stdout!.on("data", (d: Buffer) => {
          buf += d.toString();
          const m = /"url":"([^"]+)"/.exec(buf);
          if (m) resolve(m[1]!);
        });
        void exited.then((code) => reject(new Error(`child exited ${code} before listening: ${stderr}`)));
      });
      const N = 50;
      for (let i = 0; i < N; i++) {
        const r = await fetch(`${url}/v2/models/logistic/infer`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(inferBody(rows(1, 30, i + 1), { id: `q${i}` })) });
        expect(r.status).toBe(200);
        await r.arrayBuffer();
      }
      // Nothing is written yet: the batch is far from full and the interval far off.
      expect((await readPayloadLogs(`file://${dir}`)).records).toBe(0);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      const table = await readPayloadLogs(`file://${dir}`);
      expect(table.records).toBe(N);
      expect(new Set(table.inferenceIds)).toEqual(new Set(Array.from({ length: N }, (_, i) => `q${i}`)));
    } finally {
      await rm(dir, { recursive: true, force: true });
      await t.cleanup();
    }
  }, 60_000);
});
