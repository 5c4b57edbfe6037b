// The Grafana dashboards: built with the foundation SDK, shipped as ConfigMaps the sidecar loads, every
// panel with targets on the datasource variable, ids unique, and reading the same recorded series as the alerts.
import { beforeAll, describe, expect, test } from "vitest";
import { dashboardUid, servingDashboard } from "../../../components/monitoring-stack/dashboards.js";
import { k8sObjectsOfKind, reset, type K8sObject } from "../../helpers/pulumi-mocks.js";
import { fullArgs, makeStack, ruleFile, setupStackMocks } from "./helpers.js";

type Mod = typeof import("../../../components/monitoring-stack/index.js");
let maps: K8sObject[];
let rules: { groups: any[] };

beforeAll(async () => {
  await setupStackMocks("dev");
  const mod: Mod = await import("../../../components/monitoring-stack/index.js");
  reset();
  await makeStack(mod, "dash", fullArgs());
  maps = k8sObjectsOfKind("ConfigMap");
  rules = ruleFile();
});

const dashboardsOf = (m: K8sObject) => Object.entries(m.data as Record<string, string>).map(([key, json]) => ({ key, d: JSON.parse(json) }));
const all = () => maps.flatMap(dashboardsOf);
const panelsOf = (d: any): any[] => d.panels.flatMap((p: any) => [p, ...(p.panels ?? [])]);

describe("the dashboards", () => {
  test("one per endpoint, and one each for training, features and drift", () => {
    expect(all().map(({ d }) => d.title).sort()).toEqual(
      ["churn · serving (mlops-dev-dash)", "fraud · serving (mlops-dev-dash)", "Drift (mlops-dev-dash)", "Features (mlops-dev-dash)", "Training (mlops-dev-dash)"].sort(),
    );
  });

  test("are ConfigMaps the Grafana sidecar picks up, in the stack's folder", () => {
    for (const m of maps) {
      expect(m.metadata.labels).toMatchObject({ grafana_dashboard: "1" });
      expect(m.metadata.annotations).toEqual({ grafana_folder: "MLOps dev" });
      expect(m.metadata.namespace).toBe("mlops-dev-dash-prometheus");
    }
  });

  test("each ConfigMap holds one dashboard under <uid>.json; uids are unique and within Grafana's 40 characters", () => {
    const uids = all().map(({ key, d }) => {
      expect(key).toBe(`${d.uid}.json`);
      expect(d.uid.length).toBeLessThanOrEqual(40);
      return d.uid;
    });
    expect(new Set(uids).size).toBe(uids.length);
  });

  test("every panel has targets, each with a query and a refId, and reads the datasource variable", () => {
    for (const { d } of all()) {
      expect(d.templating.list).toContainEqual(expect.objectContaining({ type: "datasource", name: "datasource", query: "prometheus" }));
      const panels = panelsOf(d).filter((p) => p.type !== "row");
      expect(panels.length).toBeGreaterThan(0);
      for (const p of panels) {
        expect([d.title, p.title, p.datasource]).toEqual([d.title, p.title, { type: "prometheus", uid: "${datasource}" }]);
        expect(p.targets.length).toBeGreaterThan(0);
        const refIds = p.targets.map((t: any) => t.refId);
        expect(new Set(refIds).size).toBe(refIds.length);
        for (const t of p.targets) {
          expect(t.expr).toMatch(/\S/);
          expect(t.datasource).toEqual({ type: "prometheus", uid: "${datasource}" });
        }
      }
    }
  });

  test("panel ids are unique in each dashboard, and panels do not overlap on the 24-column grid", () => {
    for (const { d } of all()) {
      const panels = panelsOf(d);
      const ids = panels.map((p) => p.id);
      expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
      const cells = new Set<string>();
      for (const p of panels) {
        const g = p.gridPos;
        expect(g.x + g.w).toBeLessThanOrEqual(24);
        for (let x = g.x; x < g.x + g.w; x++) for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`), `${d.title}: ${p.title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  test("the endpoint dashboards read exactly the recorded series the rules write (one source of truth)", () => {
    const recorded = new Set(rules.groups.flatMap((g) => g.rules.flatMap((r: any) => (r.record ? [r.record] : []))));
    const used = new Set(all().flatMap(({ d }) => panelsOf(d).flatMap((p) => (p.targets ?? []).flatMap((t: any) => t.expr.match(/mlops_endpoint:[a-z0-9_:]+/g) ?? []))));
    expect(used.size).toBeGreaterThan(0);
    for (const name of used) expect([name, recorded.has(name)]).toEqual([name, true]);
  });

  test("the endpoint dashboards select their own endpoint and stack", () => {
    const fraud = all().find(({ d }) => d.title.startsWith("fraud"))!.d;
    for (const p of panelsOf(fraud).filter((x) => x.type !== "row")) {
      for (const t of p.targets) expect(t.expr).toContain('mlops_stack="mlops-dev-dash", mlops_endpoint="fraud"');
    }
  });

  test("the dashboard JSON is exactly what the SDK builder returns", () => {
    const built = servingDashboard({ stack: "mlops-dev-dash", endpoint: "fraud", latencyThresholdSeconds: 0.25 });
    const shipped = all().find(({ d }) => d.uid === built.uid)!.d;
    expect(shipped).toEqual(JSON.parse(JSON.stringify(built)));
  });

  test("a long uid is shortened with a hash, so two long ids never collide", () => {
    const a = dashboardUid(`mlops-prod-observability-${"x".repeat(30)}-a`);
    const b = dashboardUid(`mlops-prod-observability-${"x".repeat(30)}-b`);
    expect(a.length).toBe(40);
    expect(a).not.toBe(b);
    expect(dashboardUid("short-id")).toBe("short-id");
  });
});
