/**
 * Every runtime process's `/metrics`, as scraped over HTTP, passes `promtool check metrics` (Debian's
 * prometheus package): `mlops serve` (with payload logging on, after traffic, so every family has
 * samples) and the feature server. The default process and Node.js metrics keep their standard names
 * (`process_*`, `nodejs_*`); everything else is this project's and carries `mlops_`.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startFeatureServer } from "../../../runtime/features/server-listen.js";
import { startServer } from "../../../runtime/serve/main.js";
import { baseSpec } from "../features/online/helpers.js";
import { fixture, inferBody, rows, spec, tempRegistry } from "./helpers.js";

/** promtool's verdict on an exposition text: its exit code and what it printed. */
function promtoolCheck(text: string): { code: number | null; output: string } {
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  if (r.error) throw new Error(`promtool is not installed (apt-get install -y prometheus): ${r.error.message}`);
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

const families = (text: string): string[] => [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);

function expectStandardNames(text: string): void {
  const names = families(text);
  expect(names.filter((n) => !/^(mlops_|process_|nodejs_)/.test(n))).toEqual([]);
  expect(names).toContain("process_cpu_seconds_total");
  expect(names).toContain("process_resident_memory_bytes");
  expect(names).toContain("nodejs_eventloop_lag_seconds");
  expect(names).toContain("nodejs_heap_size_used_bytes");
  expect(names.filter((n) => /^mlops_(process|nodejs)_/.test(n))).toEqual([]);
}

describe("promtool check metrics", () => {
  it("passes on mlops serve's /metrics, with payload logging on and after traffic", async () => {
    const t = await tempRegistry();
    const dir = await mkdtemp(join(tmpdir(), "mlops-payloads-"));
    await t.registry.register("logistic", await fixture("logistic"), { alias: "champion" });
    const s = spec(t.uri, "logistic@champion", { server: { host: "127.0.0.1", port: 0 }, logging: { sampleRate: 1, uri: `file://${dir}`, flushIntervalSeconds: 0.05 } });
    const server = await startServer(s, { registry: t.registry });
    try {
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`${server.url}/v2/models/logistic/infer`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(inferBody(rows(2))) });
        expect(r.status).toBe(200);
      }
      await new Promise((r) => setTimeout(r, 200)); // a flush observed in the histogram
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(promtoolCheck(text)).toEqual({ code: 0, output: "" });
      expectStandardNames(text);
      expect(families(text)).toEqual(expect.arrayContaining(["mlops_payload_records_written_total", "mlops_payload_flush_duration_seconds", "mlops_requests_total"]));
    } finally {
      await server.stop();
      await t.cleanup();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("passes on the feature server's /metrics", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mlops-features-"));
    const server = await startFeatureServer(baseSpec(dir, { embedded: { path: join(dir, "online") } }), { port: 0 });
    try {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(promtoolCheck(text)).toEqual({ code: 0, output: "" });
      expectStandardNames(text);
    } finally {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
