/**
 * Metrics to a real Pushgateway (Debian's prometheus-pushgateway, started here on a free 127.0.0.1
 * port): what a drift run pushes arrives under the drift job with the report's values, a later run
 * replaces the group, the names pass `promtool check metrics`, and an unreachable gateway is a clear error.
 * Needs `apt-get install -y prometheus-pushgateway prometheus`.
 */
import { execFile } from "node:child_process";
import { access, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MlopsError } from "../../../src/errors.js";
import { freePort } from "../../../src/net.js";
import { driftRegistry, runDrift } from "../../../runtime/drift/index.js";
import { startPushgateway, type TestPushgateway } from "../../helpers/pushgateway.js";
import { generate } from "./oracle.js";

let dir: string;
let gateway: TestPushgateway;
let url: string;
let tables: { reference: string; current: string };

/** The gateway's exposition, as sample lines "name{labels} value" of the mlops_drift_ metrics. */
async function pushed(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const { series, value } of await gateway.lines("mlops_drift_")) {
    // Label order in the exposition is the gateway's; keep instance/job out for readable keys.
    out.set(series.replace(/,?(instance|job)="[^"]*"/g, "").replace("{,", "{").replace("{}", ""), value);
  }
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-drift-push-"));
  await mkdir(join(dir, "data"));
  tables = await generate("small", join(dir, "data"));
  gateway = await startPushgateway();
  url = gateway.url;
}, 120_000);
afterAll(async () => {
  gateway?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("pushing drift metrics", () => {
  it("the Pushgateway receives the dataset verdict, the share and each column's statistic and verdict", async () => {
    const r = await runDrift({ ...tables, out: join(dir, "out1"), pushgateway: { url, groupings: { model: "fraud" } } });
    const m = await pushed();
    expect(m.get('mlops_drift_dataset_drift{model="fraud"}')).toBe(r.report.dataset_drift ? 1 : 0);
    expect(m.get('mlops_drift_share_drifted{model="fraud"}')).toBeCloseTo(r.report.share_drifted, 12);
    expect(m.get('mlops_drift_columns_tested{model="fraud"}')).toBe(Object.keys(r.report.columns).length);
    for (const [column, c] of Object.entries(r.report.columns)) {
      const stat = [...m.entries()].find(([k]) => k.startsWith("mlops_drift_column_statistic{") && k.includes(`column="${column}"`) && k.includes(`test="${c.test}"`));
      expect(stat, column).toBeDefined();
      expect(stat![1]).toBeCloseTo(Math.min(c.statistic, Number.MAX_VALUE), 6);
      const drift = [...m.entries()].find(([k]) => k.startsWith("mlops_drift_column_drift{") && k.includes(`column="${column}"`));
      expect(drift?.[1], column).toBe(c.drift ? 1 : 0);
    }
    const ts = [...m.entries()].find(([k]) => k.startsWith("mlops_drift_last_run_timestamp_seconds"));
    expect(Math.abs(ts![1] - Date.now() / 1000)).toBeLessThan(600);
  });

  it("a later run replaces the group: a column no longer tested does not linger", async () => {
    await runDrift({ ...tables, out: join(dir, "out2"), pushgateway: { url, groupings: { model: "fraud" } } });
    await runDrift({ ...tables, out: join(dir, "out3"), columns: ["num_shift"], pushgateway: { url, groupings: { model: "fraud" } } });
    const columns = new Set([...(await pushed()).keys()].filter((k) => k.startsWith("mlops_drift_column_drift")).map((k) => /column="([^"]+)"/.exec(k)![1]));
    expect([...columns]).toEqual(["num_shift"]);
  });

  it("the metric names and help pass promtool check metrics", async () => {
    const registry = driftRegistry({ dataset_drift: true, share_drifted: 0.5, columns: { a: { test: "ks", statistic: 0.3, p_value: 0.01, threshold: 0.05, drift: true, type: "numerical" } } }, 1_700_000_000);
    const text = await registry.metrics();
    const child = execFile("promtool", ["check", "metrics"]);
    child.stdin!.end(text);
    const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
      let out = "";
      child.stdout!.on("data", (d) => (out += d));
      child.stderr!.on("data", (d) => (out += d));
      child.on("close", (code) => resolve({ code, out }));
    });
    expect(result, result.out).toEqual({ code: 0, out: "" });
  });

  it("fails clearly when the Pushgateway cannot be reached, after running the on-drift command", async () => {
    const port = await freePort();
    const marker = join(dir, "ran.txt");
    const err = await runDrift({ ...tables, out: join(dir, "out4"), pushgateway: { url: `http://127.0.0.1:${port}` }, onDrift: `touch '${marker}'` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlopsError);
    expect((err as Error).message).toMatch(/--pushgateway: did not accept the drift metrics .*Check that the Pushgateway is up/);
    await expect(access(marker)).resolves.toBeUndefined();
  });
});

