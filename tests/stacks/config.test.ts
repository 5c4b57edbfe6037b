import { readFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/cli.js";
import { loadStageConfig } from "../../stacks/config.js";
import { MlopsError } from "../../src/errors.js";
import { mlopsFailure } from "../helpers/errors.js";


describe("loadStageConfig", () => {
  it("serves breast-cancer@champion by default", () => {
    const { config } = loadStageConfig("dev", {});
    expect(config.endpoint.model).toBe("breast-cancer@champion");
  });

  it("reads structured values stored as JSON and ignores other providers' keys", () => {
    const { stage, config } = loadStageConfig("staging", {
      "pulumi-mlops:endpoint": JSON.stringify({ model: "fraud@challenger", replicas: { min: 2, max: 5 } }),
      "aws:region": "eu-west-1",
    });
    expect(stage).toBe("staging");
    expect(config.endpoint).toMatchObject({ model: "fraud@challenger", replicas: { min: 2, max: 5 } });
  });

  it("fails when the stack is not a known stage", () => {
    const err = mlopsFailure(() => loadStageConfig("qa", {}));
    expect(err.message).toContain('"qa"');
    expect(err.message).toContain("dev, staging, prod");
  });

  it("fails naming the stack, the key, the value and the fix", () => {
    const err = mlopsFailure(() =>
      loadStageConfig("prod", { "pulumi-mlops:endpoint": JSON.stringify({ model: "fraud", replicas: { min: 0, max: 3 } }) }),
    );
    expect(err.message).toContain('stack "prod"');
    expect(err.problems).toHaveLength(2);
    expect(err.message).toContain("pulumi-mlops:endpoint.model");
    expect(err.message).toContain('received "fraud"');
    expect(err.message).toContain("pulumi-mlops:endpoint.replicas.min");
    expect(err.message).toContain("pulumi config set --stack prod --path 'pulumi-mlops:endpoint.replicas.min'");
  });

  it("fails when replicas.min exceeds replicas.max", () => {
    const err = mlopsFailure(() => loadStageConfig("dev", { "pulumi-mlops:endpoint": JSON.stringify({ replicas: { min: 5, max: 2 } }) }));
    expect(err.message).toContain("min must not exceed max");
  });

  it("fails on an unknown key, saying how to remove it", () => {
    const err = mlopsFailure(() => loadStageConfig("dev", { "pulumi-mlops:replicaz": "3" }));
    expect(err.message).toContain("pulumi-mlops:replicaz");
    expect(err.message).toContain("pulumi config rm --stack dev pulumi-mlops:replicaz");
  });
});

const CANARY = "CANARY-9f3b";

describe("secrets in stack config", () => {
  const jsonKubeconfig = JSON.stringify({ apiVersion: "v1", kind: "Config", users: [{ name: "u", user: { token: CANARY } }] });

  it("takes a kubeconfig in JSON form as the text it is", () => {
    const { config } = loadStageConfig("dev", { "pulumi-mlops:kubeconfig": jsonKubeconfig });
    expect(config.kubeconfig).toBe(jsonKubeconfig);
  });

  it("takes a kubeconfig in YAML form", () => {
    const yaml = `apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user: { token: ${CANARY} }\n`;
    expect(loadStageConfig("dev", { "pulumi-mlops:kubeconfig": yaml }).config.kubeconfig).toBe(yaml);
  });

  it("takes an all-digit auth token as a string", () => {
    expect(loadStageConfig("dev", { "pulumi-mlops:authToken": "1234567890123456" }).config.authToken).toBe("1234567890123456");
  });

  it("rejects a broken kubeconfig without printing it, and says to set it as a secret", () => {
    const err = mlopsFailure(() => loadStageConfig("dev", { "pulumi-mlops:kubeconfig": jsonKubeconfig.slice(0, -2) }));
    expect(err.message).toContain("pulumi-mlops:kubeconfig: is not valid JSON");
    expect(err.message).toContain("not shown: secret");
    expect(err.message).toContain("pulumi config set --secret --stack dev pulumi-mlops:kubeconfig");
    expect(err.message).not.toContain(CANARY);
  });

  it("rejects a short auth token without printing it, and says to set it as a secret", () => {
    const err = mlopsFailure(() => loadStageConfig("prod", { "pulumi-mlops:authToken": CANARY }));
    expect(err.message).toContain("pulumi-mlops:authToken: must be at least 16 characters");
    expect(err.message).toContain(`received a value of ${CANARY.length} characters (not shown: secret)`);
    expect(err.message).toContain("pulumi config set --secret --stack prod pulumi-mlops:authToken");
    expect(err.message).not.toContain(CANARY);
  });
});

describe("endpoint sizes", () => {
  it('accepts cpu: "500m" as the Kubernetes quantity it is', () => {
    const { config } = loadStageConfig("dev", { "pulumi-mlops:endpoint": JSON.stringify({ cpu: "500m", memory: "512Mi" }) });
    expect(config.endpoint).toMatchObject({ cpu: "500m", memory: "512Mi" });
  });

  it('rejects cpu: "lots", saying what a quantity looks like', () => {
    const err = mlopsFailure(() => loadStageConfig("dev", { "pulumi-mlops:endpoint": JSON.stringify({ cpu: "lots" }) }));
    expect(err.message).toContain("pulumi-mlops:endpoint.cpu");
    expect(err.message).toContain('"500m"');
  });

  it("rejects what ModelEndpoint would reject (a CPU below what a pod can have)", () => {
    const err = mlopsFailure(() => loadStageConfig("dev", { "pulumi-mlops:endpoint": JSON.stringify({ cpu: "1m" }) }));
    expect(err.message).toContain("pulumi-mlops:endpoint.cpu");
  });
});

describe("the built-in trainer", () => {
  const training = (over: object) => ({ "pulumi-mlops:training": JSON.stringify({ dataset: "s3://d/x.parquet", ...over }) });

  it("accepts one worker and no GPU", () => {
    expect(loadStageConfig("prod", training({ workers: 1, gpusPerWorker: 0 })).config.training).toMatchObject({ workers: 1, gpusPerWorker: 0 });
  });

  it("refuses GPUs, more workers and a GPU pool, since it is CPU-only and runs one process", () => {
    const err = mlopsFailure(() => loadStageConfig("prod", training({ workers: 2, gpusPerWorker: 8, nodePool: "a100" })));
    expect(err.problems).toHaveLength(3);
    expect(err.message).toContain("pulumi-mlops:training.workers");
    expect(err.message).toContain("pulumi-mlops:training.gpusPerWorker: must be 0 or absent: the built-in trainer (logistic-regression) is CPU-only");
    expect(err.message).toContain("pulumi-mlops:training.nodePool");
  });
});

describe("the reference stage files", () => {
  it.each(["dev", "staging", "prod"])("Pulumi.%s.yaml validates", async (stack) => {
    const { readFile } = await import("node:fs/promises");
    const YAML = (await import("yaml")).default;
    const doc = YAML.parse(await readFile(new URL(`../../stacks/Pulumi.${stack}.yaml`, import.meta.url), "utf8")) as { config: Record<string, unknown> };
    const { secretPlaceholder } = await import("../../cli/synth.js");
    // A `secure:` value reads as the stand-in synth gives it (the ciphertext cannot be decrypted here).
    const raw = Object.fromEntries(
      Object.entries(doc.config).map(([k, v]) => [k, typeof v === "string" ? v : v && typeof v === "object" && "secure" in v ? secretPlaceholder(k) : JSON.stringify(v)]),
    );
    expect(() => loadStageConfig(stack, raw)).not.toThrow();
  });
});

describe("placeholders (a stage creates what it needs, or names the key to set)", () => {
  it("takes a training section without a dataset: the stack then uploads the example", () => {
    const { config } = loadStageConfig("staging", { "pulumi-mlops:training": JSON.stringify({ schedule: "0 3 * * *" }) });
    expect(config.training).toEqual({ schedule: "0 3 * * *" });
  });

  it("fails when the dataset is a file:// path, which training pods cannot read", () => {
    const err = mlopsFailure(() => loadStageConfig("dev", { "pulumi-mlops:training": JSON.stringify({ dataset: "file:///data/x.csv" }) }));
    expect(err.message).toContain("pulumi-mlops:training.dataset: must be an s3://<bucket>/<key> URI");
  });

  it("takes an EKS cluster without subnetIds: the cluster creates its VPC", () => {
    const { config } = loadStageConfig("prod", { "pulumi-mlops:cluster": JSON.stringify({ eks: { version: "1.35" } }) });
    expect(config.cluster?.eks).toEqual({ version: "1.35" });
  });

  it("fails when subnetIds lists one subnet, with TrainingCluster's own rule", () => {
    const err = mlopsFailure(() => loadStageConfig("prod", { "pulumi-mlops:cluster": JSON.stringify({ eks: { subnetIds: ["subnet-0123456789abcdef0"] } }) }));
    expect(err.message).toContain("pulumi-mlops:cluster.eks.subnetIds: must list at least two subnet ids");
  });

  it("fails when a subnet id is not one (e.g. a CIDR)", () => {
    const err = mlopsFailure(() => loadStageConfig("prod", { "pulumi-mlops:cluster": JSON.stringify({ eks: { subnetIds: ["10.0.0.0/24", "subnet-0123456789abcdef0"] } }) }));
    expect(err.message).toContain("pulumi-mlops:cluster.eks.subnetIds[0]: must be a subnet id");
  });

  it.each(["dev", "staging", "prod"])("Pulumi.%s.yaml names no made-up subnet or bucket", async (stack) => {
    const { readFile } = await import("node:fs/promises");
    const text = await readFile(new URL(`../../stacks/Pulumi.${stack}.yaml`, import.meta.url), "utf8");
    const settings = text.split("\n").filter((l) => !l.trimStart().startsWith("#")).join("\n");
    expect(settings).not.toMatch(/subnet-[0-9a-f]/);
    expect(settings).not.toMatch(/s3:\/\//);
  });
});

describe("GPU pools, with TrainingCluster's NodePoolSchema rules", () => {
  const pools = (p: object[]) => ({ "pulumi-mlops:cluster": JSON.stringify({ eks: {}, gpuPools: p }) });
  const t4 = { name: "t4", gpusPerNode: 1, min: 0, max: 4, spot: true };

  it("takes several instance types for a spot pool", () => {
    const { config } = loadStageConfig("prod", pools([{ ...t4, instanceTypes: ["g4dn.xlarge", "g4dn.2xlarge"] }]));
    expect(config.cluster?.gpuPools?.[0]?.instanceTypes).toEqual(["g4dn.xlarge", "g4dn.2xlarge"]);
  });

  it("fails on a pool name TrainingCluster rejects (starting with a digit)", () => {
    const err = mlopsFailure(() => loadStageConfig("prod", pools([{ ...t4, name: "4t", instanceType: "g4dn.xlarge" }])));
    expect(err.message).toContain("pulumi-mlops:cluster.gpuPools[0].name: must be lowercase letters, digits and '-', starting with a letter");
  });

  it("fails when a pool gives both instanceType and instanceTypes", () => {
    const err = mlopsFailure(() => loadStageConfig("prod", pools([{ ...t4, instanceType: "g4dn.xlarge", instanceTypes: ["g4dn.2xlarge"] }])));
    expect(err.message).toContain("pulumi-mlops:cluster.gpuPools[0]: must give instanceType or instanceTypes");
  });
});

describe("cluster.context", () => {
  it("takes a context for an existing cluster", () => {
    expect(loadStageConfig("dev", { "pulumi-mlops:cluster": JSON.stringify({ context: "kind-mlops" }) }).config.cluster?.context).toBe("kind-mlops");
  });

  it("fails when given with cluster.eks, which makes its own kubeconfig", () => {
    const err = mlopsFailure(() => loadStageConfig("staging", { "pulumi-mlops:cluster": JSON.stringify({ context: "kind-mlops", eks: {} }) }));
    expect(err.message).toContain("pulumi-mlops:cluster.context: applies to an existing cluster's kubeconfig");
  });
});

describe("gpuTraining (opt-in GPU command trainer)", () => {
  const stage = (gpu: object, pools: object[] = [{ name: "a100", instanceType: "p4d.24xlarge", gpusPerNode: 8, min: 0, max: 4 }]) => ({
    "pulumi-mlops:cluster": JSON.stringify({ eks: {}, gpuPools: pools }),
    "pulumi-mlops:gpuTraining": JSON.stringify(gpu),
  });
  const job = { image: "registry.example.com/trainer:1", command: ["torchrun", "train.py"], workers: 2, gpusPerWorker: 8, nodePool: "a100" };

  it("takes a torchrun trainer on a GPU pool, registering breast-cancer-gpu by default", () => {
    expect(loadStageConfig("prod", stage(job)).config.gpuTraining).toMatchObject({ ...job, model: "breast-cancer-gpu", label: "label" });
  });

  it("fails when the pool is not one of the stage's, naming those there are", () => {
    const err = mlopsFailure(() => loadStageConfig("prod", stage({ ...job, nodePool: "h100" })));
    expect(err.message).toContain("pulumi-mlops:gpuTraining.nodePool: must be one of the stage's GPU pools (a100)");
  });

  it("fails when a worker asks more GPUs than one node of its pool has", () => {
    const err = mlopsFailure(() => loadStageConfig("prod", stage({ ...job, gpusPerWorker: 16 })));
    expect(err.message).toContain("pulumi-mlops:gpuTraining.gpusPerWorker: must be at most 8");
  });

  it("fails when it asks no GPU or names no image", () => {
    const { image: _, ...noImage } = job;
    const err = mlopsFailure(() => loadStageConfig("prod", stage({ ...noImage, gpusPerWorker: 0 })));
    expect(err.message).toContain("pulumi-mlops:gpuTraining.gpusPerWorker: must be at least 1");
    expect(err.message).toContain("pulumi-mlops:gpuTraining.image");
  });
});

describe("feature store and monitoring settings", () => {
  const TOKEN = "f3ature-st0re-t0ken-0123456789abcdef";

  it("takes the feature store's AUTH token as the text it is", () => {
    const { config } = loadStageConfig("dev", { "pulumi-mlops:featureStoreAuthToken": TOKEN });
    expect(config.featureStoreAuthToken).toBe(TOKEN);
  });

  it("fails when the feature store's AUTH token breaks ElastiCache's rules, without printing it", () => {
    const bad = "has a space in it but is long enough";
    const err = mlopsFailure(() => loadStageConfig("prod", { "pulumi-mlops:featureStoreAuthToken": bad }));
    expect(err.message).toContain("pulumi-mlops:featureStoreAuthToken");
    expect(err.message).toContain("ElastiCache's AUTH token rules");
    expect(err.message).toContain("pulumi config set --secret --stack prod pulumi-mlops:featureStoreAuthToken");
    expect(err.message).not.toContain(bad);
  });

  it("reads the materialization and drift schedules and the payload sample rate", () => {
    const { config } = loadStageConfig("staging", {
      "pulumi-mlops:featureStore": JSON.stringify({ schedule: "*/30 * * * *" }),
      "pulumi-mlops:monitoring": JSON.stringify({ driftSchedule: "15 * * * *" }),
      "pulumi-mlops:endpoint": JSON.stringify({ payloadSampleRate: 0.5 }),
    });
    expect(config.featureStore?.schedule).toBe("*/30 * * * *");
    expect(config.monitoring?.driftSchedule).toBe("15 * * * *");
    expect(config.endpoint.payloadSampleRate).toBe(0.5);
  });

  it("fails when a schedule is not cron or the sample rate is above 1", () => {
    const err = mlopsFailure(() =>
      loadStageConfig("dev", { "pulumi-mlops:monitoring": JSON.stringify({ driftSchedule: "hourly" }), "pulumi-mlops:endpoint": JSON.stringify({ payloadSampleRate: 2 }) }),
    );
    expect(err.message).toContain("pulumi-mlops:monitoring.driftSchedule: is not a cron schedule");
    expect(err.message).toContain("pulumi-mlops:endpoint.payloadSampleRate: must be from 0 to 1");
  });

  it("keeps the stage files' feature store token secure (a `secure:` value, never plain text)", () => {
    for (const stage of ["dev", "staging", "prod"]) {
      const doc = YAML.parse(readFileSync(join(ROOT, "stacks", `Pulumi.${stage}.yaml`), "utf8")) as { config: Record<string, unknown> };
      expect(doc.config["pulumi-mlops:featureStoreAuthToken"], stage).toEqual({ secure: expect.any(String) });
    }
  });
});
