import { describe, expect, it } from "vitest";
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
    const raw = Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
    expect(() => loadStageConfig(stack, raw)).not.toThrow();
  });
});
