import { mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { buildApp } from "./runtime/serve/app.js";
import { Registry } from "./src/registry/index.js";
import { parseEndpointSpec } from "./src/spec/endpoint.js";
const tmp = mkdtempSync(join(tmpdir(), "inproc-"));
const registry = await Registry.open(`file://${tmp}/reg`);
await registry.register("bc", readFileSync("examples/breast-cancer/model.onnx"), { alias: "champion" });
const body = JSON.stringify({ inputs: [{ name: "input", shape: [1, 30], datatype: "FP32", data: Array.from({ length: 30 }, (_, i) => i / 7) }] });
const apps: Record<string, any> = {};
for (const [k, rate] of [["off", undefined], ["0.1", 0.1], ["1", 1], ["1-null", 1]] as const) {
  const spec = parseEndpointSpec({ name: "e", model: "bc@champion", registry: `file://${tmp}/reg`, ...(rate === undefined ? {} : { logging: { sampleRate: rate, uri: `file://${tmp}/l-${k}` } }) });
  apps[k] = await buildApp({ spec, registry, ...(k === "1-null" ? { payloadLog: { store: { put: async () => {} } as any } } : {}) });
}
const acc: Record<string, number> = { off: 0, "0.1": 0, "1": 0, "1-null": 0 };
const N = 4000, C = 32;
for (let round = 0; round < 16; round++) {
  for (const k of round % 2 ? Object.keys(apps).reverse() : Object.keys(apps)) {
    const app = apps[k];
    const t0 = process.cpuUsage();
    let next = 0;
    await Promise.all(Array.from({ length: C }, async () => { while (next++ < N) { const r = await app.inject({ method: "POST", url: "/v2/models/bc/infer", body, headers: { "content-type": "application/json" } }); if (r.status !== 200) throw new Error(r.body); } }));
    const t = process.cpuUsage(t0);
    if (round > 0) acc[k]! += (t.user + t.system) / N;
  }
}
for (const [k, v] of Object.entries(acc)) console.log(k, "cpu µs/request", (v / 15).toFixed(2));
for (const a of Object.values(apps)) await a.close();
