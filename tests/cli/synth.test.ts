import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import YAML from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVE_PATHS } from "../../src/spec/endpoint.js";
import { parseEndpointSpec } from "../../src/spec/endpoint.js";
import { parseTrainSpec } from "../../src/spec/train.js";
import { mlops } from "../helpers/cli.js";
import { podSecurityRestrictedViolations, podSpecOf, validateK8sObject } from "../helpers/k8s.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-synth-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function files(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(relative(root, p), await readFile(p, "utf8"));
    }
  };
  await walk(root);
  return out;
}

async function synth(stack: string, out: string) {
  const r = await mlops(["synth", "--stack", stack, "--out", out], { timeoutMs: 120_000 });
  expect(r.code, r.stderr).toBe(0);
  return files(out);
}

describe("mlops synth", () => {
  it("writes byte-identical output across two runs", async () => {
    const a = await synth("prod", join(dir, "a"));
    const b = await synth("prod", join(dir, "b"));
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    for (const [path, content] of a) expect(b.get(path), path).toBe(content);
    expect(a.size).toBeGreaterThan(10);
  });

  describe.each(["dev", "staging", "prod"])("stack %s", (stack) => {
    let out: Map<string, string>;
    beforeAll(async () => {
      out = await synth(stack, join(dir, stack));
    });

    it("emits Kubernetes objects that validate against the schema, with restricted pods", () => {
      const objects = [...out].filter(([p]) => p.startsWith("k8s/")).map(([p, text]) => [p, YAML.parse(text)] as const);
      expect(objects.length).toBeGreaterThan(8);
      for (const [path, obj] of objects) {
        expect(validateK8sObject(obj).errors, path).toEqual([]);
        const pod = podSpecOf(obj);
        if (pod) expect(podSecurityRestrictedViolations(pod), path).toEqual([]);
      }
    });

    it("renders specs the runtime accepts and probes on paths it serves", () => {
      const deployment = [...out].find(([p]) => /\/deployment-/.test(p));
      expect(deployment).toBeDefined();
      const obj = YAML.parse(deployment![1]);
      const container = obj.spec.template.spec.containers[0];
      const env = Object.fromEntries(container.env.filter((e: { value?: string }) => e.value !== undefined).map((e: { name: string; value: string }) => [e.name, e.value]));
      expect(() => parseEndpointSpec(JSON.parse(env.MLOPS_ENDPOINT_SPEC))).not.toThrow();
      expect(Object.values(SERVE_PATHS)).toContain(container.readinessProbe.httpGet.path);
      expect(Object.values(SERVE_PATHS)).toContain(container.livenessProbe.httpGet.path);
      const job = [...out].find(([p]) => /\/(cronjob|job)-/.test(p));
      expect(job).toBeDefined();
      const jobObj = YAML.parse(job![1]);
      const podSpec = podSpecOf(jobObj)!;
      const trainEnv = podSpec.containers[0]!.env!.find((e: { name: string }) => e.name === "MLOPS_TRAIN_SPEC") as { value: string };
      expect(parseTrainSpec(JSON.parse(trainEnv.value)).model).toBe("breast-cancer");
    });

    it("lists cloud resources in plan.json with secrets masked", () => {
      const plan = JSON.parse(out.get("plan.json")!) as { resources: Array<{ type: string; name: string; inputs: unknown }> };
      expect(plan.resources.some((r) => r.type === "aws:s3/bucket:Bucket")).toBe(true);
      const text = out.get("plan.json")!;
      expect(text).not.toMatch(/4dabf18193072939515e22adb298388d/);
      const provider = plan.resources.find((r) => r.type === "pulumi:providers:kubernetes");
      expect(JSON.stringify(provider?.inputs)).toContain("[secret]");
    });
  });

  it("fails naming the stack when there is no such stage", async () => {
    const r = await mlops(["synth", "--stack", "qa", "--out", join(dir, "qa")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"qa"');
  });
});
