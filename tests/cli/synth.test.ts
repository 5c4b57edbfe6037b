import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import YAML from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVE_PATHS } from "../../src/spec/endpoint.js";
import { parseEndpointSpec } from "../../src/spec/endpoint.js";
import { parseTrainSpec } from "../../src/spec/train.js";
import { parseFeatureStoreSpec } from "../../src/spec/features.js";
import { mlops, ROOT } from "../helpers/cli.js";
import { podSecurityRestrictedViolations, podSpecOf, validateK8sObject } from "../helpers/k8s.js";
import { CRD_KINDS, validateCustomResource } from "../components/monitoring-stack/crd-schema.js";

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

type Obj = Record<string, any>;
type Plan = { resources: Array<{ type: string; name: string; inputs: Record<string, any> }> };

/** The Kubernetes objects written, by path. */
function objectsOf(out: Map<string, string>): Array<readonly [string, Obj]> {
  return [...out].filter(([p]) => p.startsWith("k8s/")).map(([p, text]) => [p, YAML.parse(text) as Obj] as const);
}

/** The one object whose pod's first container has the variable `env` (the spec a component hands its pods). */
function withSpecEnv(out: Map<string, string>, env: string): { path: string; obj: Obj; spec: unknown } {
  for (const [path, obj] of objectsOf(out)) {
    const found = podSpecOf(obj)?.containers[0]?.env?.find((e: { name: string }) => e.name === env) as { value?: string } | undefined;
    if (found?.value !== undefined) return { path, obj, spec: JSON.parse(found.value) };
  }
  throw new Error(`no object with ${env}`);
}

function ofKind(out: Map<string, string>, kind: string): Obj[] {
  return objectsOf(out).map(([, o]) => o).filter((o) => o.kind === kind);
}

/** Services in `namespace` whose labels carry every label of `selector`. */
function selected(out: Map<string, string>, selector: Record<string, string>, namespaces: string[]): Obj[] {
  return ofKind(out, "Service").filter((s) => namespaces.includes(s.metadata.namespace) && Object.entries(selector).every(([k, v]) => s.metadata.labels?.[k] === v));
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
    // Two whole synths of prod on a shared machine.
  }, 240_000);

  describe.each(["dev", "staging", "prod"])("stack %s", (stack) => {
    let out: Map<string, string>;
    beforeAll(async () => {
      out = await synth(stack, join(dir, stack));
    }, 180_000);

    it("emits Kubernetes objects that validate against the schema (custom resources against their CRDs), with restricted pods", () => {
      const objects = objectsOf(out);
      expect(objects.length).toBeGreaterThan(8);
      for (const [path, obj] of objects) {
        expect(validateK8sObject(obj).errors, path).toEqual([]);
        if (CRD_KINDS.includes(obj.kind)) expect(validateCustomResource(obj), path).toEqual([]);
        const pod = podSpecOf(obj);
        if (pod) expect(podSecurityRestrictedViolations(pod), path).toEqual([]);
      }
      // The feature store's and the monitoring stack's objects are among them.
      const kinds = objects.map(([, o]) => `${o.kind}/${o.metadata.name}`);
      const s = `pulumi-mlops-${stack}`;
      for (const k of [`Deployment/${s}-features-server`, `CronJob/${s}-features-materialize`, `Deployment/${s}-monitoring-pushgateway`, `CronJob/${s}-monitoring-drift-breast-cancer`, `PrometheusRule/${s}-monitoring`]) {
        expect(kinds, k).toContain(k);
      }
      expect(ofKind(out, "ServiceMonitor").map((m) => m.metadata.name).sort()).toEqual([`${s}-monitoring-breast-cancer`, `${s}-monitoring-features-0`, `${s}-monitoring-pushgateway`]);
      expect(ofKind(out, "ConfigMap").filter((c) => c.metadata.labels?.grafana_dashboard === "1").length).toBeGreaterThanOrEqual(3);
    });

    it("points the training job's pushes at the stack's own Pushgateway Service", () => {
      const svc = ofKind(out, "Service").find((x) => x.metadata.name.endsWith("-monitoring-pushgateway"))!;
      const port = svc.spec.ports.find((p: Obj) => p.port === 9091)?.port ?? svc.spec.ports[0].port;
      const want = `http://${svc.metadata.name}.${svc.metadata.namespace}.svc:${port}`;
      const jobs = [...ofKind(out, "CronJob"), ...ofKind(out, "Job")].filter((j) => (j.metadata.labels?.["app.kubernetes.io/component"] ?? "").includes("train") || j.metadata.name.includes("breast-cancer-train"));
      const pods = jobs.map((j) => j.spec.jobTemplate?.spec.template.spec ?? j.spec.template.spec);
      expect(pods.length).toBeGreaterThan(0);
      for (const p of pods) {
        const env = p.containers.flatMap((c: Obj) => c.env ?? []);
        expect(env.find((e: Obj) => e.name === "MLOPS_PUSHGATEWAY")?.value).toBe(want);
      }
    });

    it("renders specs the runtime accepts and probes on paths it serves", () => {
      const { obj, spec } = withSpecEnv(out, "MLOPS_ENDPOINT_SPEC");
      const container = obj.spec.template.spec.containers[0];
      expect(() => parseEndpointSpec(spec)).not.toThrow();
      expect(Object.values(SERVE_PATHS)).toContain(container.readinessProbe.httpGet.path);
      expect(Object.values(SERVE_PATHS)).toContain(container.livenessProbe.httpGet.path);
      expect(parseTrainSpec(withSpecEnv(out, "MLOPS_TRAIN_SPEC").spec).model).toBe("breast-cancer");
    });

    it("serves the example model by patient id from the feature store, with the store's AUTH token by Secret reference", () => {
      const { obj, spec } = withSpecEnv(out, "MLOPS_ENDPOINT_SPEC");
      const parsed = parseEndpointSpec(spec);
      expect(parsed.features?.entity).toBe("patient");
      expect(parsed.features?.features).toHaveLength(30);
      expect(parsed.features?.features[0]).toBe("tumor:mean_radius");
      const server = withSpecEnv(out, "MLOPS_FEATURE_SPEC");
      // The endpoint's spec carries the store's spec the feature server boots from.
      expect(parsed.features?.store).toEqual(parseFeatureStoreSpec(server.spec));
      const passwordEnv = (parsed.features!.store.online as { redis: { passwordEnv: string } }).redis.passwordEnv;
      const env = obj.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === passwordEnv);
      const secret = ofKind(out, "Secret").find((x) => x.metadata.name === env.valueFrom.secretKeyRef.name)!;
      // Pods read Secrets of their own namespace: the endpoint runs where the store's Secret is.
      expect(secret.metadata.namespace).toBe(obj.metadata.namespace);
      expect(server.obj.metadata.namespace).toBe(obj.metadata.namespace);
      expect(Object.keys(secret.stringData)).toContain(env.valueFrom.secretKeyRef.key);
      // Its model's inputs are the example's columns in the trainer's order.
      const trainedOn = readFileSync(join(ROOT, "examples", "breast-cancer", "data.csv"), "utf8").split("\n")[0]!.split(",").filter((c) => c !== "label");
      expect(parsed.features?.features).toEqual(trainedOn.map((c) => `tumor:${c}`));
    });

    it("materializes the example's measurements, uploaded next to the example dataset", () => {
      const plan = JSON.parse(out.get("plan.json")!) as Plan;
      const bucket = plan.resources.find((r) => r.type === "aws:s3/bucket:Bucket" && r.name === "example-data-bucket")!;
      const source = plan.resources.find((r) => r.type === "aws:s3/bucketObjectv2:BucketObjectv2" && r.inputs.key === "breast-cancer/features.csv")!;
      expect(source.inputs.bucket).toBe(bucket.name + "-id");
      const store = parseFeatureStoreSpec(withSpecEnv(out, "MLOPS_FEATURE_SPEC").spec);
      expect(store.views[0]!.source.uri).toBe(`s3://${bucket.inputs.bucket}/breast-cancer/features.csv`);
      expect(store.views[0]!.ttl).toBeUndefined();
    });

    it("scrapes the endpoint, the feature server and the Pushgateway, each admitted by its NetworkPolicy", () => {
      const prometheusNs = `pulumi-mlops-${stack}-monitoring-prometheus`;
      expect(ofKind(out, "Namespace").map((n) => n.metadata.name)).toContain(prometheusNs);
      const release = (JSON.parse(out.get("plan.json")!) as Plan).resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.chart === "kube-prometheus-stack")!;
      expect(release.inputs.namespace).toBe(prometheusNs);
      for (const monitor of ofKind(out, "ServiceMonitor")) {
        const [service] = selected(out, monitor.spec.selector.matchLabels, monitor.spec.namespaceSelector.matchNames);
        expect(service, monitor.metadata.name).toBeDefined();
        const port = service!.spec.ports.find((p: { name: string }) => p.name === monitor.spec.endpoints[0].port);
        expect(port, monitor.metadata.name).toBeDefined();
        // The pods behind the Service admit Prometheus's namespace on the scraped port.
        const policy = ofKind(out, "NetworkPolicy").find((p) => p.metadata.namespace === service!.metadata.namespace && Object.entries(p.spec.podSelector.matchLabels ?? {}).every(([k, v]) => service!.spec.selector[k] === v))!;
        const target = typeof port.targetPort === "number" ? port.targetPort : undefined;
        const admits = policy.spec.ingress.some((rule: Obj) =>
          rule.ports.some((p: Obj) => target === undefined || p.port === target) &&
          rule.from.some((f: Obj) => f.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"] === prometheusNs || f.namespaceSelector?.matchExpressions?.[0]?.values?.includes(prometheusNs)),
        );
        expect(admits, `${monitor.metadata.name} → ${policy.metadata.name}`).toBe(true);
      }
      const endpointMonitor = ofKind(out, "ServiceMonitor").find((m) => m.metadata.name.endsWith("-monitoring-breast-cancer"))!;
      expect(endpointMonitor.spec.endpoints[0].port).toBe("metrics");
    });

    it("watches the served model for drift, and retrains on drift where the training job has a schedule", () => {
      const cron = ofKind(out, "CronJob").find((c) => c.metadata.name.endsWith("-drift-breast-cancer"))!;
      const args: string[] = cron.spec.jobTemplate.spec.template.spec.containers[0].args;
      const model = YAML.parse(readFileSync(join(ROOT, "stacks", `Pulumi.${stack}.yaml`), "utf8")).config["pulumi-mlops:endpoint"].model;
      expect(args.slice(args.indexOf("--model"), args.indexOf("--model") + 2)).toEqual(["--model", model]);
      // It reads the payload logs the endpoint writes, under the endpoint's name.
      const logging = parseEndpointSpec(withSpecEnv(out, "MLOPS_ENDPOINT_SPEC").spec).logging!;
      expect(logging.sampleRate).toBe(0.1);
      expect(args[args.indexOf("--payload-uri") + 1]).toBe(logging.uri);
      expect(args[args.indexOf("--endpoint") + 1]).toBe("breast-cancer");
      const training = withSpecEnv(out, "MLOPS_TRAIN_SPEC").obj;
      if (stack === "dev") {
        // dev trains once (a Job): there is no CronJob template to start a retrain from.
        expect(training.kind).toBe("Job");
        expect(args).not.toContain("--retrain-cronjob");
      } else {
        expect(training.kind).toBe("CronJob");
        expect(args[args.indexOf("--retrain-cronjob") + 1]).toBe(`${training.metadata.namespace}/${training.metadata.name}`);
        const role = ofKind(out, "Role").find((r) => r.metadata.name.endsWith("-drift-retrain"))!;
        expect(role.metadata.namespace).toBe(training.metadata.namespace);
        expect(role.rules).toContainEqual(expect.objectContaining({ resources: ["cronjobs"], resourceNames: [training.metadata.name] }));
      }
      const rules = ofKind(out, "PrometheusRule")[0]!.spec.groups.flatMap((g: Obj) => g.rules).map((r: Obj) => r.alert).filter(Boolean);
      for (const alert of ["MlopsDatasetDrift", "MlopsEndpointAtMaxReplicas", "MlopsAvailabilityBudgetBurn", "MlopsTrainingJobFailed"]) expect(rules, alert).toContain(alert);
    });

    it("writes no secret value: the secure settings are masked everywhere", () => {
      for (const [path, content] of out) expect(content, path).not.toContain("mlops-synth-placeholder");
      const secret = ofKind(out, "Secret").find((x) => x.metadata.name.endsWith("-features-online"))!;
      expect(Object.values(secret.stringData ?? {})).toContain("[secret]");
    });

    it("trains on the example dataset, uploaded to a bucket the stack owns", () => {
      const plan = JSON.parse(out.get("plan.json")!) as Plan;
      const bucket = plan.resources.find((r) => r.type === "aws:s3/bucket:Bucket" && r.name === "example-data-bucket")!;
      const object = plan.resources.find((r) => r.type === "aws:s3/bucketObjectv2:BucketObjectv2" && r.name === "example-data-object")!;
      expect(object.inputs).toMatchObject({ key: "breast-cancer/data.csv", source: { asset: "./examples/breast-cancer/data.csv" } });
      expect(parseTrainSpec(withSpecEnv(out, "MLOPS_TRAIN_SPEC").spec).dataset).toMatchObject({ uri: `s3://${bucket.inputs.bucket}/breast-cancer/data.csv` });
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

  it.each(["staging", "prod"])("keeps the %s online store in ElastiCache with TLS, encryption at rest and the AUTH token (masked)", async (stack) => {
    const plan = JSON.parse(await readFile(join(dir, stack, "plan.json"), "utf8")) as Plan;
    const group = plan.resources.find((r) => r.type === "aws:elasticache/replicationGroup:ReplicationGroup")!;
    expect(group.inputs).toMatchObject({ transitEncryptionEnabled: true, transitEncryptionMode: "required", atRestEncryptionEnabled: true, authToken: "[secret]", automaticFailoverEnabled: true });
    const store = parseFeatureStoreSpec(withSpecEnv(await files(join(dir, stack)), "MLOPS_FEATURE_SPEC").spec);
    expect((store.online as { redis: { url: string } }).redis.url).toMatch(/^rediss:\/\//);
  });

  it("keeps the dev online store in the cluster (a restricted Valkey StatefulSet), not in ElastiCache", async () => {
    const out = await files(join(dir, "dev"));
    const plan = JSON.parse(out.get("plan.json")!) as Plan;
    expect(plan.resources.some((r) => r.type.startsWith("aws:elasticache"))).toBe(false);
    expect(ofKind(out, "StatefulSet").map((s) => s.metadata.name)).toEqual(["pulumi-mlops-dev-features-redis"]);
  });

  it("fails naming featureStoreAuthToken and the command that sets it when a stage lacks it", async () => {
    const project = join(dir, "no-token-project");
    await mkdir(project, { recursive: true });
    await writeFile(join(project, "Pulumi.yaml"), `name: pulumi-mlops\nruntime: nodejs\nmain: ${join(ROOT, "stacks", "index.ts")}\n`);
    const dev = await readFile(join(ROOT, "stacks", "Pulumi.dev.yaml"), "utf8");
    await writeFile(join(project, "Pulumi.dev.yaml"), dev.replace(/^  pulumi-mlops:featureStoreAuthToken:\n    secure: .*\n/m, ""));
    const r = await mlops(["synth", "--stack", "dev", "--out", join(dir, "no-token"), "--project-dir", project], { timeoutMs: 120_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("pulumi-mlops:featureStoreAuthToken");
    expect(r.stderr).toContain("pulumi config set --secret --stack dev pulumi-mlops:featureStoreAuthToken");
  });

  it("renders the built-in trainer without GPUs and as one worker in every stage", async () => {
    for (const stack of ["staging", "prod"]) {
      const out = await synth(stack, join(dir, `trainer-${stack}`));
      const { path, obj } = withSpecEnv(out, "MLOPS_TRAIN_SPEC");
      const jobSpec = obj.kind === "CronJob" ? obj.spec.jobTemplate.spec : obj.spec;
      expect(jobSpec.completionMode, path).toBeUndefined();
      const pod = podSpecOf(obj)!;
      expect(JSON.stringify(pod.containers[0]!.resources), path).not.toContain("nvidia.com/gpu");
      expect(pod.nodeSelector ?? {}, path).toEqual({});
      expect(jobSpec.activeDeadlineSeconds, path).toBe(86_400);
    }
  }, 240_000);

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
      `${dev.replace(/^(  pulumi-mlops:featureStoreAuthToken:\n    secure: ).*$/m, `$1${CANARY}-features`).trimEnd()}\n  pulumi-mlops:kubeconfig:\n    secure: ${CANARY}-kubeconfig\n  pulumi-mlops:authToken:\n    secure: ${CANARY}\n`,
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
