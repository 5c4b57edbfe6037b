import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import YAML from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVE_PATHS } from "../../src/spec/endpoint.js";
import { parseEndpointSpec } from "../../src/spec/endpoint.js";
import { parseTrainSpec } from "../../src/spec/train.js";
import { mlops, ROOT } from "../helpers/cli.js";
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

    it("trains on the example dataset, uploaded to a bucket the stack owns", () => {
      const plan = JSON.parse(out.get("plan.json")!) as { resources: Array<{ type: string; name: string; inputs: Record<string, unknown> }> };
      const bucket = plan.resources.find((r) => r.type === "aws:s3/bucket:Bucket" && r.name === "example-data-bucket")!;
      const object = plan.resources.find((r) => r.type === "aws:s3/bucketObjectv2:BucketObjectv2")!;
      expect(object.inputs).toMatchObject({ key: "breast-cancer/data.csv", source: { asset: "./examples/breast-cancer/data.csv" } });
      const [, text] = [...out].find(([p]) => /\/(cronjob|job)-/.test(p))!;
      const env = podSpecOf(YAML.parse(text))!.containers[0]!.env!.find((e: { name: string }) => e.name === "MLOPS_TRAIN_SPEC") as { value: string };
      expect(parseTrainSpec(JSON.parse(env.value)).dataset).toMatchObject({ uri: `s3://${bucket.inputs.bucket}/breast-cancer/data.csv` });
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

  it.each(["staging", "prod"])("pushes the %s runtime image to ECR with immutable, content-derived tags and a lifecycle policy", async (stack) => {
    // Written by the stage's describe block above.
    const plan = JSON.parse(await readFile(join(dir, stack, "plan.json"), "utf8")) as { resources: Array<{ type: string; name: string; inputs: Record<string, unknown> }> };
    expect(plan.resources.find((r) => r.type === "aws:ecr/repository:Repository")?.inputs.imageTagMutability).toBe("IMMUTABLE");
    const policy = JSON.parse(String(plan.resources.find((r) => r.type === "aws:ecr/lifecyclePolicy:LifecyclePolicy")?.inputs.policy));
    expect(policy.rules[0]).toMatchObject({ selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 20 }, action: { type: "expire" } });
    expect(plan.resources.find((r) => r.type === "docker:index/image:Image")?.inputs.imageName).toMatch(/:0\.1\.0-[0-9a-f]{12}$/);
  });

  it("renders the built-in trainer without GPUs and as one worker in every stage", async () => {
    for (const stack of ["staging", "prod"]) {
      const out = await synth(stack, join(dir, `trainer-${stack}`));
      const [path, text] = [...out].find(([p]) => /\/(cronjob|job)-/.test(p))!;
      const obj = YAML.parse(text);
      const jobSpec = obj.kind === "CronJob" ? obj.spec.jobTemplate.spec : obj.spec;
      expect(jobSpec.completionMode, path).toBeUndefined();
      const pod = podSpecOf(obj)!;
      expect(JSON.stringify(pod.containers[0]!.resources), path).not.toContain("nvidia.com/gpu");
      expect(pod.nodeSelector ?? {}, path).toEqual({});
      expect(jobSpec.activeDeadlineSeconds, path).toBe(86_400);
    }
  });

  it("synthesizes a stage whose kubeconfig and auth token are secure, never writing either (canaries)", async () => {
    const CANARY = "CANARY-9f3b";
    const project = join(dir, "canary-project");
    await mkdir(project, { recursive: true });
    await writeFile(join(project, "Pulumi.yaml"), `name: pulumi-mlops\nruntime: nodejs\nmain: ${join(ROOT, "stacks", "index.ts")}\n`);
    const dev = await readFile(join(ROOT, "stacks", "Pulumi.dev.yaml"), "utf8");
    // Secure values as `pulumi config set --secret` stores them (ciphertext; here the canaries stand in for
    // it). The token's ciphertext is short: synth must not validate it as if it were the token.
    await writeFile(
      join(project, "Pulumi.dev.yaml"),
      `${dev.trimEnd()}\n  pulumi-mlops:kubeconfig:\n    secure: ${CANARY}-kubeconfig\n  pulumi-mlops:authToken:\n    secure: ${CANARY}\n`,
    );
    const out = join(dir, "canary");
    const r = await mlops(["synth", "--stack", "dev", "--out", out, "--project-dir", project], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(`${r.stdout}${r.stderr}`).not.toContain(CANARY);
    const written = await files(out);
    expect(written.size).toBeGreaterThan(8);
    for (const [path, content] of written) {
      expect(content, path).not.toContain(CANARY);
      expect(content, path).not.toContain("mlops-synth-placeholder");
    }
    const plan = JSON.parse(written.get("plan.json")!) as { resources: Array<{ type: string; inputs: Record<string, unknown> }> };
    expect(plan.resources.find((res) => res.type === "pulumi:providers:kubernetes")?.inputs.kubeconfig).toBe("[secret]");
    // The endpoint requires the token: its Secret is rendered, the value masked.
    const secrets = [...written].filter(([p]) => /\/secret-/.test(p)).map(([, text]) => YAML.parse(text));
    expect(secrets.length).toBeGreaterThan(0);
    expect(JSON.stringify(secrets)).toContain("[secret]");
  });

  it("renders the opt-in GPU trainer of the prod stage as an Indexed Job on its GPU pool", async () => {
    const project = join(dir, "gpu-project");
    await mkdir(project, { recursive: true });
    await writeFile(join(project, "Pulumi.yaml"), `name: pulumi-mlops\nruntime: nodejs\nmain: ${join(ROOT, "stacks", "index.ts")}\n`);
    const prod = await readFile(join(ROOT, "stacks", "Pulumi.prod.yaml"), "utf8");
    // The stage file's commented example, uncommented with an image.
    const gpu = prod.replace(/^  # (pulumi-mlops:gpuTraining:)$/m, "  $1").replace(/^  # (  (command|workers|gpusPerWorker|nodePool|team|schedule):.*)$/gm, "  $1")
      .replace(/^  # {3}image: .*$/m, "    image: registry.example.com/fraud-trainer:1");
    expect(gpu).toContain("\n  pulumi-mlops:gpuTraining:\n");
    await writeFile(join(project, "Pulumi.prod.yaml"), gpu);
    const out = join(dir, "gpu");
    const r = await mlops(["synth", "--stack", "prod", "--out", out, "--project-dir", project], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const written = await files(out);
    const [, text] = [...written].find(([p, t]) => /\/cronjob-/.test(p) && t.includes("registry.example.com/fraud-trainer:1"))!;
    const obj = YAML.parse(text);
    expect(obj.spec.jobTemplate.spec).toMatchObject({ completionMode: "Indexed", completions: 2, parallelism: 2 });
    const pod = podSpecOf(obj)!;
    expect(pod.containers[0]!.resources!.limits).toMatchObject({ "nvidia.com/gpu": "8" });
    expect(pod.nodeSelector).toMatchObject({ "mlops.dev/node-pool": "a100" });
    const env = pod.containers[0]!.env!.find((e: { name: string }) => e.name === "MLOPS_TRAIN_SPEC") as { value: string };
    expect(parseTrainSpec(JSON.parse(env.value)).trainer).toMatchObject({ command: ["torchrun", "train.py"] });
  });

  it("fails naming the stack when there is no such stage", async () => {
    const r = await mlops(["synth", "--stack", "qa", "--out", join(dir, "qa")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"qa"');
  });
});
