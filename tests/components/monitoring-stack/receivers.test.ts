// Alertmanager receivers from Pulumi secrets: the rendered alertmanager.yaml is valid for amtool, routes pages to
// PagerDuty, and no credential appears in plain text in any manifest, chart value or output.
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { renderAlertmanagerConfig } from "../../../components/monitoring-stack/alertmanager.js";
import { byType, findResource, outputOf, reset, resources } from "../../helpers/pulumi-mocks.js";
import { baseArgs, fullArgs, GRAFANA_PASSWORD, isSecretAt, makeStack, PAGERDUTY_KEY, setupStackMocks, SLACK_URL, SMTP_PASSWORD, writeFiles } from "./helpers.js";

type Mod = typeof import("../../../components/monitoring-stack/index.js");
let mod: Mod;
let n = 0;
const SECRETS = [SLACK_URL, PAGERDUTY_KEY, SMTP_PASSWORD, GRAFANA_PASSWORD];

beforeAll(async () => {
  if (spawnSync("amtool", ["--version"]).status !== 0) throw new Error("amtool is missing: apt-get install -y prometheus-alertmanager (Debian's package brings amtool)");
  await setupStackMocks("dev");
  mod = await import("../../../components/monitoring-stack/index.js");
});
beforeEach(() => reset());

const amSecret = () => findResource("kubernetes:core/v1:Secret", { metadata: { name: (v: string) => v.endsWith("-alertmanager-config") } });
const configOf = () => YAML.parse(amSecret().inputs.stringData["alertmanager.yaml"]);

/** The receivers amtool routes an alert with `labels` to, under `config`. */
function routesOf(config: string, labels: Record<string, string>): string[] {
  const dir = writeFiles({ "alertmanager.yaml": config });
  const args = ["config", "routes", "test", `--config.file=${join(dir, "alertmanager.yaml")}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)];
  return execFileSync("amtool", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim().split(",").sort();
}

/** `amtool check-config` on a config; returns its exit status and output. */
function amtoolCheck(config: string): { status: number; output: string } {
  const dir = writeFiles({ "alertmanager.yaml": config });
  try {
    return { status: 0, output: execFileSync("amtool", ["check-config", join(dir, "alertmanager.yaml")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }) };
  } catch (e) {
    const err = e as { status?: number; stdout?: string; stderr?: string };
    return { status: err.status ?? 1, output: `${err.stdout ?? ""}${err.stderr ?? ""}` };
  }
}

describe("Alertmanager receivers", () => {
  test("the rendered alertmanager.yaml passes amtool check-config", async () => {
    await makeStack(mod, `rcv${++n}`, fullArgs());
    const r = amtoolCheck(amSecret().inputs.stringData["alertmanager.yaml"]);
    expect(r.output).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  test("amtool does fail on a broken config (the check can fail)", () => {
    expect(amtoolCheck("route:\n  receiver: nowhere\nreceivers: []\n").status).not.toBe(0);
  });

  test("amtool routes pages to PagerDuty and to Slack and email, everything else to Slack and email, Watchdog nowhere", async () => {
    await makeStack(mod, `rcv${++n}`, fullArgs());
    const yaml = amSecret().inputs.stringData["alertmanager.yaml"];
    expect(routesOf(yaml, { alertname: "MlopsAvailabilityBudgetBurn", severity: "page" })).toEqual(["mlops-notify", "mlops-page"]);
    expect(routesOf(yaml, { alertname: "MlopsAvailabilityBudgetBurn", severity: "ticket" })).toEqual(["mlops-notify"]);
    expect(routesOf(yaml, { alertname: "KubePodCrashLooping", severity: "warning" })).toEqual(["mlops-notify"]);
    expect(routesOf(yaml, { alertname: "Watchdog", severity: "none" })).toEqual(["null"]);
  });

  test("each receiver carries its credential", async () => {
    await makeStack(mod, `rcv${++n}`, fullArgs());
    const c = configOf();
    const byName = Object.fromEntries(c.receivers.map((r: any) => [r.name, r]));
    expect(byName["mlops-page"].pagerduty_configs[0].routing_key).toBe(PAGERDUTY_KEY);
    expect(byName["mlops-notify"].slack_configs[0]).toMatchObject({ api_url: SLACK_URL, channel: "#ml-alerts", send_resolved: true });
    expect(byName["mlops-notify"].email_configs[0]).toMatchObject({ to: "ml@example.com", smarthost: "smtp.example.com:587", auth_username: "alerts", auth_password: SMTP_PASSWORD, require_tls: true });
  });

  test("the chart's Alertmanager reads the Secret as its config; the chart's values hold no credential", async () => {
    const name = `rcv${++n}`;
    await makeStack(mod, name, fullArgs());
    const release = findResource("kubernetes:helm.sh/v3:Release");
    expect(release.inputs.values.alertmanager).toEqual({ alertmanagerSpec: { useExistingSecret: true, configSecret: `mlops-dev-${name}-alertmanager-config` } });
    expect(amSecret().inputs.metadata.namespace).toBe(`mlops-dev-${name}-prometheus`);
  });

  test("no credential in plain text in any resource: only inside Secrets, at values marked secret", async () => {
    await makeStack(mod, `rcv${++n}`, fullArgs());
    for (const r of resources()) {
      const text = JSON.stringify(r.inputs);
      for (const s of SECRETS) {
        if (!text.includes(s)) continue;
        expect([r.type, s.slice(0, 6)]).toEqual(["kubernetes:core/v1:Secret", s.slice(0, 6)]);
        const path = Object.keys(r.inputs.stringData).find((k) => String(r.inputs.stringData[k]).includes(s))!;
        expect([r.name, path, isSecretAt(r, `/stringData/${path}`)]).toEqual([r.name, path, true]);
      }
    }
    expect(byType("kubernetes:core/v1:Secret").map((r) => r.name).sort()).toEqual([expect.stringMatching(/-alertmanager$/), expect.stringMatching(/-grafana-admin$/)]);
  });

  test("no credential in any output of the stack", async () => {
    const stack = await makeStack(mod, `rcv${++n}`, fullArgs());
    const outputs = await Promise.all([stack.pushgatewayUrl, stack.namespace, stack.prometheusNamespace, stack.prometheusUrl!].map((o) => outputOf(o)));
    for (const s of SECRETS) expect(JSON.stringify(outputs)).not.toContain(s);
  });

  test("credentials given in plain are still stored as secrets", async () => {
    await makeStack(mod, `rcv${++n}`, baseArgs({ receivers: { slack: { webhookUrl: SLACK_URL } } }));
    expect(isSecretAt(amSecret(), "/stringData/alertmanager.yaml")).toBe(true);
  });

  test("with PagerDuty only, pages go to it and nothing else goes anywhere", () => {
    const yaml = renderAlertmanagerConfig({ pagerduty: { routingKey: "k" } }, { pagerdutyRoutingKey: "k" });
    expect(amtoolCheck(yaml).status).toBe(0);
    expect(routesOf(yaml, { alertname: "MlopsModelNotReady", severity: "page" })).toEqual(["mlops-page"]);
    expect(routesOf(yaml, { alertname: "MlopsModelNotReady", severity: "warning" })).toEqual(["null"]);
  });

  test("a page inhibits the ticket of the same burn", () => {
    const c = YAML.parse(renderAlertmanagerConfig({ slack: { webhookUrl: "https://x" } }, { slackWebhookUrl: "https://hooks.example.com/x" }));
    expect(c.inhibit_rules).toEqual([{ source_matchers: ['severity="page"'], target_matchers: ['severity="ticket"'], equal: ["alertname", "mlops_stack", "mlops_endpoint"] }]);
  });

  test("on an existing operator, writes the config into the Secret its Alertmanager reads", async () => {
    await makeStack(mod, `rcv${++n}`, baseArgs({ prometheus: { existing: { namespace: "monitoring", alertmanagerConfigSecret: "alertmanager-main" } }, receivers: { slack: { webhookUrl: pulumi.secret(SLACK_URL) } } }));
    const s = findResource("kubernetes:core/v1:Secret", { metadata: { name: "alertmanager-main" } });
    expect(s.inputs.metadata.namespace).toBe("monitoring");
    expect(isSecretAt(s, "/stringData/alertmanager.yaml")).toBe(true);
  });
});
