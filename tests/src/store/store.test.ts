import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { MlopsError, NotFoundError } from "../../../src/errors.js";
import { BACKENDS, useBackend } from "../../helpers/stores.js";

describe.each(BACKENDS)("ObjectStore on %s", (kind) => {
  const backend = useBackend(kind);

  it("reads back what put wrote", async () => {
    const { store } = backend();
    await store.put("a/b/c.json", '{"x":1}');
    expect((await store.get("a/b/c.json"))?.toString()).toBe('{"x":1}');
  });

  it("replaces an object on put", async () => {
    const { store } = backend();
    await store.put("k", "old");
    await store.put("k", Buffer.from("new"));
    expect((await store.get("k"))?.toString()).toBe("new");
  });

  it("returns undefined for a missing key", async () => {
    expect(await backend().store.get("missing/key")).toBeUndefined();
  });

  it("creates an object with putIfAbsent when the key is free", async () => {
    const { store } = backend();
    expect(await store.putIfAbsent("once", "first")).toBe(true);
    expect((await store.get("once"))?.toString()).toBe("first");
  });

  it("keeps the existing object when putIfAbsent finds the key taken", async () => {
    const { store } = backend();
    await store.put("once", "first");
    expect(await store.putIfAbsent("once", "second")).toBe(false);
    expect((await store.get("once"))?.toString()).toBe("first");
  });

  it("lets exactly one of many racing putIfAbsent calls win", async () => {
    const { store } = backend();
    const wins = await Promise.all(Array.from({ length: 8 }, (_, i) => store.putIfAbsent("race", `w${i}`)));
    expect(wins.filter(Boolean)).toHaveLength(1);
    expect((await store.get("race"))?.toString()).toBe(`w${wins.indexOf(true)}`);
  });

  it("lists keys under a prefix recursively, sorted", async () => {
    const { store } = backend();
    for (const key of ["m/b/2", "m/a/1", "m/c", "other/x", "mz"]) await store.put(key, key);
    expect(await store.list("m/")).toEqual(["m/a/1", "m/b/2", "m/c"]);
  });

  it("lists keys by string prefix, like S3", async () => {
    const { store } = backend();
    for (const key of ["models/fraud/v", "models/fraudster/v", "models/churn/v"]) await store.put(key, key);
    expect(await store.list("models/fraud")).toEqual(["models/fraud/v", "models/fraudster/v"]);
  });

  it("lists nothing under a prefix with no objects", async () => {
    expect(await backend().store.list("nothing/here/")).toEqual([]);
  });

  it("reports whether a key exists", async () => {
    const { store } = backend();
    await store.put("here", "1");
    expect([await store.exists("here"), await store.exists("gone")]).toEqual([true, false]);
  });

  it("deletes an object", async () => {
    const { store } = backend();
    await store.put("d/x", "1");
    await store.delete("d/x");
    expect([await store.get("d/x"), await store.list("d/")]).toEqual([undefined, []]);
  });

  it("deletes a missing key without error", async () => {
    await expect(backend().store.delete("never/was")).resolves.toBeUndefined();
  });

  it("copies local files in and out", async () => {
    const { store } = backend();
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "mlops-files-"));
    try {
      const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
      await fs.writeFile(path.join(dir, "in.bin"), bytes);
      await store.putFile("files/data.bin", path.join(dir, "in.bin"));
      await store.getFile("files/data.bin", path.join(dir, "sub", "out.bin"));
      expect((await fs.readFile(path.join(dir, "sub", "out.bin"))).equals(bytes)).toBe(true);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("fails when getFile names a missing key", async () => {
    const target = path.join(os.tmpdir(), `mlops-never-${process.pid}.bin`);
    await expect(backend().store.getFile("no/such", target)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("gives each object a URI under the store's URI", async () => {
    const { store, uri } = backend();
    expect(store.uriOf("blobs/sha256/ab")).toBe(`${uri}/blobs/sha256/ab`);
  });

  it.each(["/abs/key", "a/../b", "..", "a//b", "./a", "a\\b", ""])("fails when a key is %j", async (key) => {
    await expect(backend().store.put(key, "x")).rejects.toThrow(MlopsError);
  });
});
