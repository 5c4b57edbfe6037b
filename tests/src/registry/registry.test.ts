import { createHash } from "node:crypto";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { MlopsError, NotFoundError } from "../../../src/errors.js";
import { defaultRegistryUri, Registry } from "../../../src/registry/index.js";
import { BACKENDS, useBackend } from "../../helpers/stores.js";
import { tinyOnnx } from "../../helpers/tiny-onnx.js";

describe.each(BACKENDS)("Registry on %s", (kind) => {
  const backend = useBackend(kind);
  const registry = () => new Registry(backend().store);

  it("numbers the first version 1", async () => {
    expect((await registry().register("fraud", tinyOnnx())).version).toBe(1);
  });

  it("numbers each next version one higher", async () => {
    const r = registry();
    await r.register("fraud", tinyOnnx({ doc: "a" }));
    await r.register("fraud", tinyOnnx({ doc: "b" }));
    expect((await r.register("fraud", tinyOnnx({ doc: "c" }))).version).toBe(3);
  });

  it("records digest, size, format, signature and metadata", async () => {
    const bytes = tinyOnnx({ features: 5 });
    const mv = await registry().register("fraud", bytes, {
      metrics: { auc: 0.91 },
      params: { lr: "0.1" },
      lineage: { datasetDigest: "sha256:abc", codeRevision: "deadbeef" },
      description: "first",
    });
    expect(mv).toMatchObject({
      name: "fraud",
      digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`,
      sizeBytes: bytes.length,
      format: "onnx",
      metrics: { auc: 0.91 },
      params: { lr: "0.1" },
      lineage: { datasetDigest: "sha256:abc", codeRevision: "deadbeef" },
      description: "first",
      signature: { inputs: [{ name: "x", datatype: "FP32", shape: [-1, 5] }] },
    });
  });

  it("records the creation time", async () => {
    const before = Date.now();
    const mv = await registry().register("fraud", tinyOnnx());
    expect(Date.parse(mv.createdAt)).toBeGreaterThanOrEqual(before - 1000);
  });

  it("stores the artifact content-addressed in the same store", async () => {
    const mv = await registry().register("fraud", tinyOnnx());
    expect(mv.uri).toBe(backend().store.uriOf(`blobs/sha256/${mv.digest.slice("sha256:".length)}`));
  });

  it("reads back the version record from a fresh registry", async () => {
    const mv = await registry().register("fraud", tinyOnnx());
    expect(await registry().get("fraud", 1)).toEqual(mv);
  });

  it("lists versions ascending", async () => {
    const r = registry();
    for (const doc of ["a", "b", "c"]) await r.register("fraud", tinyOnnx({ doc }));
    expect((await registry().list("fraud")).map((v) => v.version)).toEqual([1, 2, 3]);
  });

  it("lists the models that have versions", async () => {
    const r = registry();
    await r.register("fraud", tinyOnnx());
    await r.register("churn", tinyOnnx());
    expect(await r.models()).toEqual(["churn", "fraud"]);
  });

  it("reads back the artifact bytes", async () => {
    const bytes = tinyOnnx({ doc: "payload" });
    const r = registry();
    const mv = await r.register("fraud", bytes);
    expect((await r.readArtifact(mv)).equals(bytes)).toBe(true);
  });

  it("fails when the stored artifact does not match its digest", async () => {
    const r = registry();
    const mv = await r.register("fraud", tinyOnnx());
    await backend().store.put(`blobs/sha256/${mv.digest.slice(7)}`, tinyOnnx({ doc: "tampered" }));
    await expect(r.readArtifact(mv)).rejects.toThrow(/corrupt/);
  });

  it("registers a file from disk", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "mlops-reg-"));
    try {
      await fs.writeFile(path.join(dir, "m.onnx"), tinyOnnx());
      expect((await registry().registerFile("fraud", path.join(dir, "m.onnx"))).version).toBe(1);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("fails when the file to register does not exist", async () => {
    await expect(registry().registerFile("fraud", "/no/such/model.onnx")).rejects.toThrow(/\/no\/such\/model\.onnx/);
  });

  it("fails when the artifact is not ONNX, registering nothing", async () => {
    const r = registry();
    await expect(r.register("fraud", Buffer.from("not a model"))).rejects.toThrow(/is not an ONNX model/);
    expect(await r.models()).toEqual([]);
  });

  it.each(["Fraud", "-fraud", "fr/aud", "a b", ""])("fails when the model name is %j", async (name) => {
    await expect(registry().register(name, tinyOnnx())).rejects.toThrow(/not a valid model name/);
  });

  it("fails when a metric is not a finite number", async () => {
    await expect(registry().register("fraud", tinyOnnx(), { metrics: { auc: Number.NaN } })).rejects.toThrow(
      /options\.metrics\.auc/,
    );
  });

  it("resolves name:version", async () => {
    const r = registry();
    await r.register("fraud", tinyOnnx({ doc: "a" }));
    await r.register("fraud", tinyOnnx({ doc: "b" }));
    expect((await r.resolve("fraud:2")).version).toBe(2);
  });

  it("resolves name@alias to the aliased version", async () => {
    const r = registry();
    await r.register("fraud", tinyOnnx({ doc: "a" }));
    await r.register("fraud", tinyOnnx({ doc: "b" }));
    await r.setAlias("fraud", "champion", 1);
    expect((await r.resolve("fraud@champion")).version).toBe(1);
  });

  it("resolves a parsed ModelRef", async () => {
    const r = registry();
    await r.register("fraud", tinyOnnx(), { alias: "challenger" });
    expect((await r.resolve({ name: "fraud", alias: "challenger" })).version).toBe(1);
  });

  it("follows an alias when it moves", async () => {
    const r = registry();
    await r.register("fraud", tinyOnnx({ doc: "a" }), { alias: "champion" });
    await r.register("fraud", tinyOnnx({ doc: "b" }));
    await r.resolve("fraud@champion");
    await registry().setAlias("fraud", "champion", 2);
    expect((await r.resolve("fraud@champion")).version).toBe(2);
  });

  it("sets the alias given at registration", async () => {
    const r = registry();
    await r.register("fraud", tinyOnnx({ doc: "a" }));
    await r.register("fraud", tinyOnnx({ doc: "b" }), { alias: "champion" });
    expect(await r.aliases("fraud")).toEqual({ champion: 2 });
  });

  it("lists every alias of a model", async () => {
    const r = registry();
    await r.register("fraud", tinyOnnx({ doc: "a" }), { alias: "champion" });
    await r.register("fraud", tinyOnnx({ doc: "b" }), { alias: "challenger" });
    expect(await r.aliases("fraud")).toEqual({ champion: 1, challenger: 2 });
  });

  it("removes an alias", async () => {
    const r = registry();
    await r.register("fraud", tinyOnnx(), { alias: "champion" });
    await r.removeAlias("fraud", "champion");
    expect(await r.aliases("fraud")).toEqual({});
  });

  it("fails when an alias points at a missing version", async () => {
    const r = registry();
    await r.register("fraud", tinyOnnx());
    await expect(r.setAlias("fraud", "champion", 9)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("fails when an alias name reads like a version", async () => {
    const r = registry();
    await r.register("fraud", tinyOnnx());
    await expect(r.setAlias("fraud", "1", 1)).rejects.toThrow(/not a valid alias/);
  });

  it("fails when the version is missing, listing those that exist", async () => {
    const r = registry();
    await r.register("fraud", tinyOnnx({ doc: "a" }));
    await r.register("fraud", tinyOnnx({ doc: "b" }));
    await expect(r.resolve("fraud:7")).rejects.toThrow(/no version 7.*versions 1, 2/);
  });

  it("fails when the alias is missing, listing those that exist", async () => {
    const r = registry();
    await r.register("fraud", tinyOnnx(), { alias: "champion" });
    const err = await r.resolve("fraud@challenger").catch((e: unknown) => e);
    expect([err instanceof NotFoundError, (err as Error).message]).toEqual([true, expect.stringMatching(/no alias "challenger".*champion → 1/)]);
  });

  it("fails when the model is missing, listing the models that exist", async () => {
    const r = registry();
    await r.register("churn", tinyOnnx());
    const err = await r.get("fraud", 1).catch((e: unknown) => e);
    expect([err instanceof NotFoundError, (err as Error).message]).toEqual([true, expect.stringMatching(/"fraud" does not exist.*churn/)]);
  });

  it("fails when listing a model that does not exist", async () => {
    await expect(registry().list("fraud")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("fails when removing an alias that does not exist", async () => {
    const r = registry();
    await r.register("fraud", tinyOnnx());
    await expect(r.removeAlias("fraud", "champion")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("fails when the reference is neither name@alias nor name:version", async () => {
    await expect(registry().resolve("fraud")).rejects.toThrow(MlopsError);
  });

  it("gives concurrent registrations in one process distinct versions", async () => {
    // Separate Registry objects: each one lists, finds the same next number, and must retry.
    const results = await Promise.all(
      ["a", "b", "c", "d", "e"].map((doc) => registry().register("fraud", tinyOnnx({ doc }), { params: { doc } })),
    );
    expect(results.map((r) => r.version).sort()).toEqual([1, 2, 3, 4, 5]);
  });
});

describe("defaultRegistryUri", () => {
  it("uses $MLOPS_REGISTRY", () => {
    expect(defaultRegistryUri({ MLOPS_REGISTRY: "s3://acme/registry" })).toBe("s3://acme/registry");
  });

  it("uses .mlops/registry under the working directory by default", () => {
    expect(defaultRegistryUri({})).toBe(`file://${path.resolve(".mlops/registry")}`);
  });

  it("makes a relative file:// $MLOPS_REGISTRY absolute", () => {
    expect(defaultRegistryUri({ MLOPS_REGISTRY: "file://reg" })).toBe(`file://${path.resolve("reg")}`);
  });
});
