// Bad MonitoringStack args fail before anything is created, each problem naming the field, the value and the fix.
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { mlopsFailure } from "../../helpers/errors.js";
import { reset, resources } from "../../helpers/pulumi-mocks.js";
import { baseArgs, fraudEndpoint, setupStackMocks } from "./helpers.js";

type Mod = typeof import("../../../components/monitoring-stack/index.js");
type Args = import("../../../components/monitoring-stack/index.js").MonitoringStackArgs;
let mod: Mod;

beforeAll(async () => {
  await setupStackMocks("dev");
  mod = await import("../../../components/monitoring-stack/index.js");
});
beforeEach(() => reset());

const fails = (over: Partial<Args> | Record<string, unknown>) => mlopsFailure(() => new mod.MonitoringStack("bad", { ...baseArgs(), ...over } as Args));

describe("new MonitoringStack fails when", () => {
  test("both chart and existing are given", () => {
    expect(fails({ prometheus: { chart: {}, existing: { namespace: "monitoring" } } }).message).toMatch(/prometheus: gives both chart and existing.*Give one/);
  });

  test("chart values turn a selector switch back on: the release-label trap", () => {
    const e = fails({ prometheus: { chart: { values: { prometheus: { prometheusSpec: { serviceMonitorSelectorNilUsesHelmValues: true } } } } } });
    expect(e.message).toMatch(/args\.prometheus\.chart\.values\.prometheus\.prometheusSpec\.serviceMonitorSelectorNilUsesHelmValues: would make Prometheus select only objects labelled with the release name; received true\. Remove it/);
  });

  test("chart values narrow the rule selector, or re-enable the chart's CRDs", () => {
    const e = fails({ prometheus: { chart: { values: { crds: { enabled: true }, prometheus: { prometheusSpec: { ruleSelector: { matchLabels: { team: "x" } } } } } } } });
    expect(e.problems).toHaveLength(2);
    expect(e.message).toMatch(/prometheusSpec\.ruleSelector: would narrow/);
    expect(e.message).toMatch(/crds\.enabled: would have Helm install the CRDs/);
  });

  test("the chart version is a range, not a pin", () => {
    expect(fails({ prometheus: { chart: { version: "^88.0.0" } } }).message).toMatch(/prometheus\.chart\.version: must be an exact chart version such as "88\.5\.3".*received "\^88\.0\.0"/);
  });

  test("the chart version changes without the operator version its CRDs must match", () => {
    expect(fails({ prometheus: { chart: { version: "89.0.0" } } }).message).toMatch(/prometheus\.chart\.operatorVersion: is required with a chart version other than 88\.5\.3/);
  });

  test("retention is shorter than the ticket alerts' 3-day window", () => {
    expect(fails({ prometheus: { chart: { retention: "2d" } } }).message).toMatch(/prometheus\.chart\.retention: is shorter than the 3-day window.*received "2d".*"4d"/);
  });

  test("two endpoints share a name", () => {
    expect(fails({ endpoints: [fraudEndpoint(), fraudEndpoint()] }).message).toMatch(/endpoints\[1\]\.name: repeats endpoints\[0\]\.name.*received "fraud"/);
  });

  test("an endpoint's model is not a model reference", () => {
    expect(fails({ endpoints: [fraudEndpoint({ model: "Fraud Model" })] }).message).toMatch(/args\.endpoints\[0\]\.model: is not a model reference.*received "Fraud Model"/);
  });

  test("an endpoint lacks its namespace and Service, itself or as a monitoringTarget", () => {
    expect(fails({ endpoints: [{ name: "x" }] }).problems).toEqual([
      expect.stringMatching(/^args\.endpoints\[0\]\.namespace: must be a string or an Output<string>; received nothing/),
      expect.stringMatching(/^args\.endpoints\[0\]\.serviceName: must be a string/),
    ]);
    expect(fails({ endpoints: [{ monitoringTarget: { name: "x", namespace: "a" } }] }).problems).toEqual([expect.stringMatching(/^args\.endpoints\[0\]\.monitoringTarget\.serviceName: must be a string/)]);
  });

  test("an availability objective leaves a budget the fastest page could never reach", () => {
    const e = fails({ slo: { availability: 0.9 } });
    expect(e.message).toMatch(/slo\.availability: leaves an error budget of 10%: the fastest page \(14\.4× the budget\) would need more than 100% of requests to fail.*received 0\.9/);
  });

  test("a latency threshold is not a bucket bound of the runtime's histogram", () => {
    expect(fails({ slo: { latency: { thresholdSeconds: 0.3 } } }).message).toMatch(/slo\.latency\.thresholdSeconds: is not a bucket bound of mlops_request_duration_seconds.*0\.25, 0\.5.*received 0\.3/);
  });

  test("drift is asked for but no endpoint names its model", () => {
    expect(fails({ endpoints: [{ name: "a", namespace: "a", serviceName: "a" }], drift: { registry: "s3://m/r" } }).message).toMatch(/args\.drift: has no endpoint to watch.*endpoints\[\]\.model/);
  });

  test("the drift registry is a local path a pod cannot read", () => {
    expect(fails({ drift: { registry: "file:///tmp/registry" } }).message).toMatch(/drift\.registry: must be a ModelRegistry or an s3:\/\/ URI/);
  });

  test("the drift schedule is not a cron expression", () => {
    expect(fails({ drift: { registry: "s3://m/r", schedule: "hourly" } }).message).toMatch(/drift\.schedule: is not a cron schedule.*received "hourly"/);
  });

  test("receivers name none", () => {
    expect(fails({ receivers: {} }).message).toMatch(/args\.receivers: names no receiver.*Give slack, pagerduty or email/);
  });

  test("receivers on an existing operator without the Secret its Alertmanager reads", () => {
    expect(fails({ prometheus: { existing: { namespace: "monitoring" } }, receivers: { pagerduty: { routingKey: "k" } } }).message).toMatch(/prometheus\.existing\.alertmanagerConfigSecret: is required with receivers/);
  });

  test("a Slack webhook given in plain is not https", () => {
    expect(fails({ receivers: { slack: { webhookUrl: "http://hooks.example.com/x" } } }).message).toMatch(/receivers\.slack\.webhookUrl: must be an https:\/\/ incoming-webhook URL/);
  });

  test("the message never shows a secret's value", () => {
    const e = fails({ receivers: { email: { to: "a@b.c", from: "a@b.c", smarthost: "smtp:587", password: "hunter2-secret" } } });
    expect(e.message).toMatch(/receivers\.email\.username: is required with a password/);
    expect(e.message).not.toContain("hunter2-secret");
  });

  test("the GPU idle window is not a Prometheus duration", () => {
    expect(fails({ alerts: { gpuIdle: { for: "1 hour" } } }).message).toMatch(/alerts\.gpuIdle\.for: must be a Prometheus duration.*received "1 hour"/);
  });

  test("every problem is reported at once, and nothing is created", () => {
    const e = fails({ slo: { availability: 2 }, receivers: {}, drift: { registry: "s3://m/r", since: "a while" } });
    expect(e.problems.length).toBeGreaterThanOrEqual(3);
    expect(e.message).toMatch(/new MonitoringStack\("bad"\): \d+ invalid values/);
    expect(resources().filter((r) => r.type !== "mlops:monitoring:MonitoringStack")).toEqual([]);
  });
});
