import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MlopsError, NotFoundError } from "../../../src/errors.js";
import { Registry, promoteVersion } from "../../../src/registry/index.js";
import { tinyOnnx } from "../../helpers/tiny-onnx.js";

let dir: string;
let staging: Registry;
let prod: Registry;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "mlops-promote-"));
  staging = await Registry.open(`file://${dir}/staging`);
  prod = await Registry.open(`file://${dir}/prod`);
});
afterEach(() => fs.rm(dir, { recursive: true, force: true }));

describe("promoteVersion", () => {
  it("copies a version with its digest, metrics, params, description and lineage", async () => {
    const mv = await staging.register("fraud", tinyOnnx(), {
      metrics: { auc: 0.97 },
      params: { C: "1" },
      lineage: { datasetDigest: "sha256:abc", runId: "train.1" },
      description: "nightly",
    });
    const { promoted, copied } = await promoteVersion(staging, prod, "fraud:1");
    expect(copied).toBe(true);
    expect(promoted).toMatchObject({
      name: "fraud",
      digest: mv.digest,
      metrics: { auc: 0.97 },
      params: { C: "1" },
      description: "nightly",
      lineage: { datasetDigest: "sha256:abc", runId: "train.1" },
    });
    expect(await prod.get("fraud", promoted.version)).toEqual(promoted);
    expect((await prod.readArtifact(promoted)).equals(tinyOnnx())).toBe(true);
  });

  it("records where the copy came from as <source uri>#<name>:<version>", async () => {
    await staging.register("fraud", tinyOnnx());
    const r = await promoteVersion(staging, prod, "fraud:1");
    expect(r.promotedFrom).toBe(`${staging.uri}#fraud:1`);
    expect(r.promoted.lineage.promotedFrom).toBe(r.promotedFrom);
  });

  it("promotes a model the target registry has never seen as its version 1", async () => {
    await prod.register("other", tinyOnnx({ doc: "other" }));
    await staging.register("fraud", tinyOnnx({ doc: "a" }));
    await staging.register("fraud", tinyOnnx({ doc: "b" }));
    const r = await promoteVersion(staging, prod, "fraud:2");
    expect(r).toMatchObject({ copied: true, promoted: { version: 1 }, promotedFrom: `${staging.uri}#fraud:2` });
  });

  it("gives the copy the target's next version number", async () => {
    await prod.register("fraud", tinyOnnx({ doc: "hotfix" }));
    await staging.register("fraud", tinyOnnx({ doc: "a" }));
    expect((await promoteVersion(staging, prod, "fraud:1")).promoted.version).toBe(2);
  });

  it("resolves an alias in the source registry", async () => {
    await staging.register("fraud", tinyOnnx({ doc: "a" }));
    const b = await staging.register("fraud", tinyOnnx({ doc: "b" }), { alias: "champion" });
    const r = await promoteVersion(staging, prod, "fraud@champion");
    expect(r.promoted.digest).toBe(b.digest);
    expect(r.promotedFrom).toBe(`${staging.uri}#fraud:2`);
  });

  it("copies nothing when the target already holds the digest, and reports that version", async () => {
    await staging.register("fraud", tinyOnnx());
    const first = await promoteVersion(staging, prod, "fraud:1");
    const second = await promoteVersion(staging, prod, "fraud:1");
    expect(second.copied).toBe(false);
    expect(second.promoted).toEqual(first.promoted);
    expect((await prod.list("fraud")).map((v) => v.version)).toEqual([1]);
  });

  it("moves the alias in the target to the promoted version", async () => {
    await prod.register("fraud", tinyOnnx({ doc: "old" }), { alias: "champion" });
    await staging.register("fraud", tinyOnnx({ doc: "new" }));
    const r = await promoteVersion(staging, prod, "fraud:1", { alias: "champion" });
    expect(r.alias).toBe("champion");
    expect(await prod.aliases("fraud")).toEqual({ champion: 2 });
  });

  it("moves the alias even when nothing is copied", async () => {
    await staging.register("fraud", tinyOnnx());
    await promoteVersion(staging, prod, "fraud:1");
    const r = await promoteVersion(staging, prod, "fraud:1", { alias: "champion" });
    expect(r).toMatchObject({ copied: false, alias: "champion" });
    expect(await prod.aliases("fraud")).toEqual({ champion: 1 });
  });

  it("moves no alias unless asked", async () => {
    await staging.register("fraud", tinyOnnx(), { alias: "champion" });
    const r = await promoteVersion(staging, prod, "fraud@champion");
    expect(r.alias).toBeUndefined();
    expect(await prod.aliases("fraud")).toEqual({});
  });

  it("fails when the source and the target are the same registry", async () => {
    await staging.register("fraud", tinyOnnx());
    const same = await Registry.open(staging.uri);
    const err = await promoteVersion(staging, same, "fraud:1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlopsError);
    expect((err as MlopsError).message).toMatch(/^target: is the same registry as the source; received ".*staging"\. Promote into/);
  });

  it("fails when the reference names no version of the source, and copies nothing", async () => {
    await staging.register("fraud", tinyOnnx());
    await expect(promoteVersion(staging, prod, "fraud:7")).rejects.toThrow(NotFoundError);
    expect(await prod.models()).toEqual([]);
  });
});
