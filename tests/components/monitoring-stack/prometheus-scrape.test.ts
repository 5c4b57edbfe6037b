// A real Prometheus (Debian's) scrapes two real `mlops serve` processes' /metrics, with the target labels the
// stack's ServiceMonitors stamp, and evaluates the PrometheusRule the stack emits: the recording rules produce
// the series the dashboards read, and an alert (a model that cannot load) fires on what the runtime reports.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startServer, type RunningServer } from "../../../runtime/serve/main.js";
import { reset } from "../../helpers/pulumi-mocks.js";
import { fixture, inferBody, rows, sleep, spec, tempRegistry } from "../../runtime/serve/helpers.js";
import { baseArgs, makeStack, ruleFile, setupStackMocks, writeFiles } from "./helpers.js";

type Mod = typeof import("../../../components/monitoring-stack/index.js");
const S = "mlops-dev-scrape";

let servers: RunningServer[] = [];
let prometheus: ChildProcess | undefined;
let promUrl = "";
let cleanupRegistry: (() => Promise<void>) | undefined;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

/** Polls `check` every 300 ms (each poll queries Prometheus) until it holds; throws after `ms`. */
async function waitFor(check: () => Promise<boolean>, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > until) throw new Error("timed out waiting for Prometheus");
    await sleep(300);
  }
}

async function query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await r.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] }; error?: string };
  if (body.status !== "success") throw new Error(`query ${expr}: ${body.error}`);
  return body.data.result;
}

beforeAll(async () => {
  if (spawnSync("prometheus", ["--version"]).status !== 0) throw new Error("prometheus is missing: apt-get install -y prometheus");
  // The rules, exactly as the stack emits them for endpoints "fraud" and "churn".
  await setupStackMocks("dev");
  const mod: Mod = await import("../../../components/monitoring-stack/index.js");
  reset();
  await makeStack(mod, "scrape", baseArgs({
    endpoints: [
      { name: "fraud", namespace: "ns", serviceName: "fraud", slo: { latency: { thresholdSeconds: 5 } } },
      { name: "churn", namespace: "ns", serviceName: "churn" },
    ],
  }));
  const rules = ruleFile();

  // fraud serves a registered model; churn's model is not in the registry, so every load attempt fails.
  const reg = await tempRegistry();
  cleanupRegistry = reg.cleanup;
  await reg.registry.register("fraud", await fixture("logistic"), { alias: "champion" });
  const host = { server: { host: "127.0.0.1", port: 0 } };
  servers.push(await startServer(spec(reg.uri, "fraud@champion", { name: "fraud", ...host }), { registry: reg.registry }));
  servers.push(
    await startServer(spec(reg.uri, "churn@champion", { name: "churn", ...host }), { registry: reg.registry, waitForModel: false, loadRetry: { initialDelayMs: 200, maxDelayMs: 500 } }),
  );

  const target = (s: RunningServer, endpoint: string) => ({ targets: [new URL(s.url).host], labels: { mlops_stack: S, mlops_endpoint: endpoint, namespace: "ns", pod: `${endpoint}-0` } });
  const config = {
    global: { scrape_interval: "1s", evaluation_interval: "1s" },
    rule_files: ["rules.yaml"],
    scrape_configs: [{ job_name: "serve", metrics_path: "/metrics", static_configs: [target(servers[0]!, "fraud"), target(servers[1]!, "churn")] }],
  };
  const dir = writeFiles({ "rules.yaml": rules, "prometheus.yml": config });
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn("prometheus", [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: "ignore" });
  await waitFor(async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.status === 200, 30_000);
});

afterAll(async () => {
  prometheus?.kill("SIGTERM");
  for (const s of servers) await s.stop();
  servers = [];
  await cleanupRegistry?.();
});

describe("a real Prometheus on real mlops serve", () => {
  test("scrapes both endpoints", async () => {
    await waitFor(async () => (await query(`up{mlops_stack="${S}"} == 1`)).length === 2, 30_000);
  });

  test("records the request rate, the error ratio (0, not missing) and the latency quantiles the dashboards read", async () => {
    const send = async () => {
      for (let i = 0; i < 5; i++) {
        await fetch(`${servers[0]!.url}/v2/models/fraud/infer`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(inferBody(rows(2))) });
      }
    };
    const own = `{mlops_stack="${S}", mlops_endpoint="fraud"}`;
    await waitFor(async () => {
      await send();
      const rate = await query(`mlops_endpoint:mlops_requests:rate5m${own}`);
      return rate.length === 1 && Number(rate[0]!.value[1]) > 0;
    }, 40_000);
    await waitFor(async () => (await query(`mlops_endpoint:mlops_request_duration_seconds:p99_rate5m${own}`)).length === 1, 20_000);
    const errors = await query(`mlops_endpoint:mlops_requests_errors:ratio_rate5m${own}`);
    expect(errors.map((r) => Number(r.value[1]))).toEqual([0]);
    const slow = await query(`mlops_endpoint:mlops_requests_slow:ratio_rate5m${own}`);
    expect(slow.map((r) => Number(r.value[1]))).toEqual([0]);
  });

  test("fires MlopsModelLoadFailures for the endpoint whose model is not in the registry, and only for it", async () => {
    let firing: { labels: Record<string, string>; state: string }[] = [];
    await waitFor(async () => {
      const r = (await (await fetch(`${promUrl}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
      firing = r.data.alerts.filter((a) => a.labels.alertname === "MlopsModelLoadFailures" && a.state === "firing");
      return firing.length > 0;
    }, 40_000);
    expect(firing.map((a) => [a.labels.mlops_endpoint, a.labels.model, a.labels.reason, a.labels.severity])).toEqual([["churn", "churn", "not_found", "warning"]]);
  });
});
