// A registry folder that something went wrong with: corrupt records, corrupt blobs, unwritable places,
// leftovers of killed writers. Every fault is an error naming the file and the fix, never an internal error.
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MlopsError } from "../../../src/errors.js";
import { CorruptRecordError, Registry } from "../../../src/registry/index.js";
import { TEMP_SUFFIX } from "../../../src/store/keys.js";
import { EXAMPLE_MODEL, mlops } from "../../helpers/cli.js";
import { tinyOnnx } from "../../helpers/tiny-onnx.js";

let dir: string;
let uri: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "mlops-faults-"));
  uri = pathToFileURL(path.join(dir, "registry")).href;
});
afterEach(() => fs.rm(dir, { recursive: true, force: true }));

const versionFile = (v: number) => path.join(dir, "registry", "models", "fraud", "versions", `${String(v).padStart(10, "0")}.json`);

async function twoVersions(): Promise<Registry> {
  const r = await Registry.open(uri);
  await r.register("fraud", tinyOnnx({ doc: "a" }));
  await r.register("fraud", tinyOnnx({ doc: "b" }), { alias: "champion" });
  return r;
}

describe("a corrupt version record", () => {
  it("fails naming the file and how to recover", async () => {
    await twoVersions();
    await fs.writeFile(versionFile(1), "{not json");
    const err = await (await Registry.open(uri)).get("fraud", 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptRecordError);
    expect((err as Error).message).toContain(pathToFileURL(versionFile(1)).href);
    expect((err as Error).message).toMatch(/is corrupt: not JSON.*Restore it from the bucket's object versions or a backup, or delete it/);
  });

  it("leaves the good versions listed and marks the bad one", async () => {
    await twoVersions();
    await fs.writeFile(versionFile(1), JSON.stringify({ name: "fraud", version: 7 }));
    const { versions, broken } = await (await Registry.open(uri)).survey("fraud");
    expect(versions.map((v) => v.version)).toEqual([2]);
    expect(broken).toEqual([{ version: 1, problem: expect.stringMatching(/does not describe fraud:1/) }]);
  });

  it("is marked by `mlops registry list`, which still lists the good versions and exits 1", async () => {
    await twoVersions();
    await fs.writeFile(versionFile(1), "garbage");
    const r = await mlops(["registry", "list", "fraud", "--registry", uri]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^1\s+CORRUPT/m);
    expect(r.stdout).toMatch(/^2\s+champion\s+sha256:/m);
    expect(r.stderr).toMatch(/warning: Version record .*0000000001\.json is corrupt/);
    expect(r.stderr).not.toMatch(/internal error/);
  });
});

describe("a corrupt alias record", () => {
  it("fails naming the file and the command that sets it again", async () => {
    await twoVersions();
    await fs.writeFile(path.join(dir, "registry", "models", "fraud", "aliases", "champion.json"), "{}");
    const err = await (await Registry.open(uri)).resolve("fraud@champion").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlopsError);
    expect((err as Error).message).toMatch(/Alias record .*champion\.json is corrupt.*mlops registry alias fraud champion <version>/);
  });
});

describe("a corrupt blob", () => {
  it("is repaired by registering the same model again", async () => {
    const r = await Registry.open(uri);
    const bytes = tinyOnnx({ doc: "a" });
    const v1 = await r.register("fraud", bytes);
    const blob = path.join(dir, "registry", "blobs", "sha256", v1.digest.slice("sha256:".length));
    await fs.writeFile(blob, "bit rot");
    await expect(r.readArtifact(v1)).rejects.toThrow(/is corrupt.*Register the model again/);
    await r.register("fraud", bytes);
    expect((await r.readArtifact(v1)).equals(bytes)).toBe(true);
  });
});

describe("a registry that cannot be written", () => {
  it("fails naming the registry and the fix when a file stands where its folder should be", async () => {
    await fs.writeFile(path.join(dir, "file"), "x");
    const r = await Registry.open(pathToFileURL(path.join(dir, "file", "registry")).href);
    await expect(r.register("fraud", tinyOnnx())).rejects.toThrow(/^registry: has a file where a folder should be \(ENOTDIR writing .*\); received "file:.*". Fix the folder's permissions, or point --registry/);
  });
});

describe("leftovers of a killed writer", () => {
  it("are removed by the next write beside them once they are old", async () => {
    const r = await Registry.open(uri);
    await r.register("fraud", tinyOnnx({ doc: "a" }));
    const blobs = path.join(dir, "registry", "blobs", "sha256");
    const stale = path.join(blobs, `dead.1234.abc${TEMP_SUFFIX}`);
    const fresh = path.join(blobs, `live.1234.def${TEMP_SUFFIX}`);
    await fs.writeFile(stale, "half");
    await fs.writeFile(fresh, "half");
    const old = new Date(Date.now() - 2 * 3600 * 1000);
    await fs.utimes(stale, old, old);
    await r.register("fraud", tinyOnnx({ doc: "b" }));
    await expect(fs.stat(stale)).rejects.toThrow(/ENOENT/);
    expect((await fs.stat(fresh)).isFile()).toBe(true);
  });
});

describe("mlops registry register", () => {
  it("refuses a file onnxruntime cannot load, naming the way to register it anyway", async () => {
    const bad = path.join(dir, "bad.onnx");
    await fs.writeFile(bad, "not a model");
    const r = await mlops(["registry", "register", "fraud", "--file", bad, "--registry", uri]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--file: cannot be served: onnxruntime does not load it as an ONNX model .*--skip-load-check/);
  });

  it("refuses a model onnxruntime loads but whose tensor types cannot be served, naming the tensor", async () => {
    const int4 = fileURLToPath(new URL("../../fixtures/models/int4.onnx", import.meta.url));
    const r = await mlops(["registry", "register", "fraud", "--file", int4, "--registry", uri]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--file: cannot be served: input "x" has element type int4.*--skip-load-check/s);
    expect(r.stderr).not.toContain("internal error");
  });

  it("refuses what is not a regular file", async () => {
    const r = await mlops(["registry", "register", "fraud", "--file", dir, "--registry", uri]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/file: is not a regular file/);
  });

  it("registers a model onnxruntime loads", async () => {
    const r = await mlops(["registry", "register", "fraud", "--file", EXAMPLE_MODEL, "--registry", uri]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: "fraud", version: 1 });
  });
});
