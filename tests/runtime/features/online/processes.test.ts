import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { EmbeddedOnlineStore } from "../../../../runtime/features/online/embedded.js";
import { baseSpec } from "./helpers.js";

const WRITER = fileURLToPath(new URL("./writer-process.ts", import.meta.url));
const T0 = Date.UTC(2026, 0, 2, 3, 0, 0) * 1000;
const VERSIONS = 60;
const ROWS = 400;

describe("embedded store across processes", () => {
  it("lets a reader process see whole, ever newer snapshots while a writer process writes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mlops-online-proc-"));
    try {
      const spec = baseSpec(dir, { embedded: { path: join(dir, "online") } });
      const reader = EmbeddedOnlineStore.open(join(dir, "online"));
      const child = spawn(process.execPath, ["--import", "tsx", WRITER, dir, String(VERSIONS), String(ROWS), "1"], { stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
      let exited = false;
      const done = new Promise<number | null>((resolve) => child.on("close", (code) => ((exited = true), resolve(code))));
      const timer = setTimeout(() => child.kill("SIGKILL"), 50_000);

      const seen = new Set<number>();
      let last = 0;
      const problems: string[] = [];
      // Read the first, a middle and the last entity of each batch, one event-loop turn apart, until the writer ends.
      const keys = ["0", String(ROWS >> 1), String(ROWS - 1)];
      while (!exited) {
        const [got] = await reader.read([{ view: spec.views[0]!, features: ["spend_7d", "txn_count_7d", "tier"], keys }]);
        const ts = Array.from(got!.eventMicros);
        if (!Number.isNaN(ts[0]!)) {
          const v = ts[0]! - T0;
          for (let i = 0; i < keys.length; i++) {
            const want = [String(v), String(v), JSON.stringify(`v${v}`)];
            const have = got!.values.map((c) => c[i]);
            // One snapshot: every entity of a batch at the same version, every feature of an entity too.
            if (ts[i] !== T0 + v || JSON.stringify(have) !== JSON.stringify(want)) problems.push(`key ${keys[i]}: ts ${ts[i]! - T0}, values ${JSON.stringify(have)}, expected version ${v}`);
          }
          if (v < last) problems.push(`went back from version ${last} to ${v}`);
          last = v;
          seen.add(v);
        }
        await new Promise((r) => setImmediate(r));
      }
      clearTimeout(timer);
      expect(await done, stderr).toBe(0);
      expect(problems).toEqual([]);
      // The reads overlapped the writes: several versions seen on the way, not only the last.
      expect(seen.size).toBeGreaterThan(3);
      const [final] = await reader.read([{ view: spec.views[0]!, features: ["tier"], keys: ["0", String(ROWS - 1)] }]);
      expect(final!.values[0]).toEqual([`"v${VERSIONS}"`, `"v${VERSIONS}"`]);
      await reader.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
