import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/log.js";
import { Registry } from "../../../src/registry/index.js";
import { openStore } from "../../../src/store/index.js";
import { runTraining } from "../../../runtime/train/index.js";
import { startS3, type TestS3 } from "../../helpers/s3.js";
import { dataDir, PYTHON, specIn, TRAINERS } from "./helpers.js";

describe("training against an S3 object store", () => {
  let s3: TestS3;
  let dir: string;
  let cleanup: () => Promise<void>;
  const saved = { ...process.env };
  beforeAll(async () => {
    s3 = await startS3();
    // The runtime reads the S3 endpoint and credentials from its environment, as in a pod.
    Object.assign(process.env, s3.env);
    ({ dir, cleanup } = await dataDir({ rows: 500 }));
    await openStore(`s3://${s3.bucket}/datasets`).putFile("fraud/data.csv", join(dir, "data.csv"));
  });
  afterAll(async () => {
    process.env = saved;
    await s3.stop();
    await cleanup();
  });

  it("stages an s3:// dataset, syncs checkpoints to S3 and registers into an S3 registry", async () => {
    const spec = specIn(dir, {
      runId: "s3-run",
      registry: `s3://${s3.bucket}/registry`,
      dataset: { uri: `s3://${s3.bucket}/datasets/fraud/data.csv`, label: "label", exclude: ["id"] },
      trainer: { command: [PYTHON, join(TRAINERS, "checkpointed.py")], params: { steps: "3" } },
    });
    const result = await runTraining(spec, { logger: silentLogger, progress: "none" });
    expect(result.version!.lineage.datasetUri).toBe(`s3://${s3.bucket}/datasets/fraud/data.csv`);
    // Same bytes, same digest, wherever the file lives.
    expect(result.version!.lineage.datasetDigest).toBe(`sha256:${createHash("sha256").update(await readFile(join(dir, "data.csv"))).digest("hex")}`);
    const registry = await Registry.open(`s3://${s3.bucket}/registry`);
    expect((await registry.resolve("fraud@challenger")).version).toBe(1);
    const checkpoint = await openStore(`s3://${s3.bucket}/registry/checkpoints/fraud/s3-run`).get("state.json");
    expect(JSON.parse(checkpoint!.toString())).toEqual({ step: 3 });
  });
});
