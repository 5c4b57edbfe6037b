import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { FeatureRegistry } from "../../src/features/registry.js";
import { resolveTrainingSet } from "../../src/features/training-sets.js";
import { readRows, writeCsv } from "../helpers/feature-data.js";
import { mlops } from "../helpers/cli.js";
import { offlineCommand } from "../../cli/features-offline.js";
import { MlopsError } from "../../src/errors.js";

let dir: string;
let registry: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-feat-cli-"));
  registry = pathToFileURL(join(dir, "registry")).href;
  await writeCsv(join(dir, "txn.csv"), ["customer_id", "event_timestamp", "created_at", "spend_7d", "txn_count_7d"], [
    [1, "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", 1.5, 1],
    [1, "2024-01-02T00:00:00Z", "2024-01-02T00:00:00Z", 2.5, 2],
    [2, "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", 9, 9],
  ]);
  await writeCsv(join(dir, "profile.csv"), ["customer_id", "event_timestamp", "spend_7d"], [[1, "2023-12-01T00:00:00Z", 100]]);
  await writeCsv(join(dir, "entities.csv"), ["customer_id", "event_timestamp", "label"], [
    [2, "2024-01-03T00:00:00Z", 1],
    [1, "2024-01-02T12:00:00Z", 0],
    [3, "2024-01-02T12:00:00Z", 1],
    [1, "2024-01-02T12:00:00Z", 0],
  ]);
  await writeSpec("features.yaml");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The spec over the test files, plus a second view with a clashing feature name. */
async function writeSpec(name: string, patch: (s: any) => void = () => {}): Promise<string> {
  const spec: any = {
    apiVersion: "mlops/v1",
    kind: "FeatureStore",
    name: "fraud",
    registry,
    entities: [{ name: "customer", joinKeys: ["customer_id"] }],
    views: [
      {
        name: "txn_stats",
        entities: ["customer"],
        source: { uri: pathToFileURL(join(dir, "txn.csv")).href, timestampField: "event_timestamp", createdTimestampField: "created_at" },
        ttl: "3d",
        features: [
          { name: "spend_7d", dtype: "float64" },
          { name: "txn_count_7d", dtype: "int64" },
        ],
        online: true,
      },
      { name: "profile", entities: ["customer"], source: { uri: pathToFileURL(join(dir, "profile.csv")).href }, features: [{ name: "spend_7d", dtype: "float64" }] },
    ],
  };
  patch(spec);
  const path = join(dir, name);
  await writeFile(path, YAML.stringify(spec));
  return path;
}

const lines = (stdout: string) => stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);

describe("mlops features apply", () => {
  it("checks every source and prints one JSON line per view; a second apply changes nothing", async () => {
    const spec = join(dir, "features.yaml");
    const first = await mlops(["features", "apply", "--spec", spec]);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(lines(first.stdout).map(({ digest, ...rest }) => rest)).toEqual([
      { view: "txn_stats", version: 1, changed: true, sourceChecked: true },
      { view: "profile", version: 1, changed: true, sourceChecked: true },
    ]);
    const again = await mlops(["features", "apply", "--spec", spec]);
    expect(lines(again.stdout).map((l) => [l.view, l.version, l.changed])).toEqual([
      ["txn_stats", 1, false],
      ["profile", 1, false],
    ]);
  });

  it("loses no version when several processes apply different definitions at once", async () => {
    const specs = await Promise.all([1, 2, 3, 4].map((i) => writeSpec(`concurrent-${i}.yaml`, (s) => (s.views[1].features[0].description = `take ${i}`))));
    const runs = await Promise.all(specs.map((s) => mlops(["features", "apply", "--spec", s, "--skip-source-check"])));
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    const versions = runs.map((r) => lines(r.stdout).find((l) => l.view === "profile")!.version as number);
    expect(new Set(versions).size).toBe(4);
    const reg = FeatureRegistry.open(registry);
    const numbers = await reg.viewVersionNumbers("profile");
    expect(numbers).toEqual([1, 2, 3, 4, 5]);
    const descriptions = await Promise.all(numbers.slice(1).map(async (n) => (await reg.viewVersion("profile", n)).definition.view.features[0]!.description));
    expect(descriptions.sort()).toEqual(["take 1", "take 2", "take 3", "take 4"]);
  });

  it("fails with exit 2 naming the file, line, column, value and type when a source value does not fit, and records nothing", async () => {
    await writeCsv(join(dir, "bad.csv"), ["customer_id", "event_timestamp", "spend_7d"], [[1, "2024-01-01T00:00:00Z", "1"], [2, "2024-01-01T00:00:00Z", "lots"]]);
    const spec = await writeSpec("bad.yaml", (s) => {
      s.registry = pathToFileURL(join(dir, "bad-registry")).href;
      s.views[1].source.uri = pathToFileURL(join(dir, "bad.csv")).href;
    });
    const r = await mlops(["features", "apply", "--spec", spec]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/views\.profile\.source file:\/\/.*bad\.csv line 3 \(data row 2\), column "spend_7d": is not a float64 \(a number\); received "lots"/);
    expect(await FeatureRegistry.open(pathToFileURL(join(dir, "bad-registry")).href).viewVersionNumbers("txn_stats")).toEqual([]);
  });

  it("fails with exit 2 naming the field of a bad spec", async () => {
    const spec = await writeSpec("badspec.yaml", (s) => (s.views[0].ttl = "forever"));
    const r = await mlops(["features", "apply", "--spec", spec]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/views\[0\]\.ttl: must be a duration/);
  });
});

describe("mlops features historical", () => {
  const spec = () => join(dir, "features.yaml");
  const entities = () => join(dir, "entities.csv");

  it("joins a view with a TTL by hash, the same rows as --join asof; an unknown --join fails naming it", async () => {
    const run = (join_: string, out: string) => mlops(["features", "historical", "--spec", spec(), "--entities", entities(), "--features", "txn_stats:spend_7d", "--join", join_, "--out", out, "--quiet"]);
    const [auto, asof] = [join(dir, "join-auto.parquet"), join(dir, "join-asof.parquet")];
    const a = await run("auto", auto);
    const b = await run("asof", asof);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(JSON.parse(a.stdout).views.map((v: { join: string }) => v.join)).toEqual(["bucket"]);
    expect(JSON.parse(b.stdout).views.map((v: { join: string }) => v.join)).toEqual(["asof"]);
    expect(await readRows(auto)).toEqual(await readRows(asof));
    const bad = await run("merge", join(dir, "join-bad.parquet"));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--join: is not a join this command knows; received "merge".*"asof"/s);
  });

  it("writes one row per entity row in input order and saves a versioned training set with its lineage", async () => {
    const out = join(dir, "train.parquet");
    const r = await mlops(["features", "historical", "--spec", spec(), "--entities", entities(), "--features", "txn_stats:spend_7d,txn_stats:txn_count_7d", "--save", "fraud-train", "--out", out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/features historical: txn_stats: 3 of 4 entity rows matched/);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ rows: 4, columns: ["customer_id", "event_timestamp", "label", "spend_7d", "txn_count_7d"], trainingSet: { name: "fraud-train", version: 1, ref: "fraud-train:1", changed: true } });
    const rows = await readRows(out);
    expect(rows.map((x) => [Number(x.customer_id), x.spend_7d === null ? null : Number(x.spend_7d), Number(x.label)])).toEqual([
      [2, 9, 1],
      [1, 2.5, 0],
      [3, null, 1],
      [1, 2.5, 0],
    ]);
    const { path, manifest } = await resolveTrainingSet("fraud-train:1", { registry, scratchDir: join(dir, "scratch") });
    expect(await readFile(path)).toEqual(await readFile(out));
    expect(manifest).toMatchObject({
      features: ["txn_stats:spend_7d", "txn_stats:txn_count_7d"],
      fullFeatureNames: false,
      createdTimestampCutoff: true,
      views: [{ name: "txn_stats", version: 1 }],
      entities: { file: entities(), rows: 4 },
    });
    expect(manifest.entities.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("names both features when two views' features clash without --full-feature-names, and works with it", async () => {
    const args = ["features", "historical", "--spec", spec(), "--entities", entities(), "--features", "txn_stats:spend_7d,profile:spend_7d", "--out", join(dir, "clash.csv"), "--quiet"];
    const clash = await mlops(args);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/both be column "spend_7d"; received \["txn_stats:spend_7d","profile:spend_7d"\]\. Pass --full-feature-names/);
    const full = await mlops([...args, "--full-feature-names"]);
    expect(full.code).toBe(0);
    expect(full.stderr).toBe("");
    expect(JSON.parse(full.stdout).columns.slice(-2)).toEqual(["txn_stats__spend_7d", "profile__spend_7d"]);
  });

  it("fails with exit 2 when the entity file lacks a join key, naming it", async () => {
    await writeCsv(join(dir, "nokey.csv"), ["cust", "event_timestamp"], [[1, "2024-01-02T00:00:00Z"]]);
    const r = await mlops(["features", "historical", "--spec", spec(), "--entities", join(dir, "nokey.csv"), "--features", "txn_stats:spend_7d", "--out", join(dir, "x.csv")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--entities .*nokey\.csv: has no column "customer_id"/);
  });

  it("refuses missing flags, unknown features, a bad output name and unknown flags (MlopsError: exit 2)", async () => {
    const base = ["--spec", spec()];
    const run = (args: string[]) => offlineCommand("historical", args, () => {});
    await expect(run([...base, "--features", "txn_stats:spend_7d", "--out", join(dir, "x.csv")])).rejects.toThrow(/--entities is required\nusage: mlops features historical/);
    await expect(run([...base, "--entities", entities(), "--features", "txn_stats:nope", "--out", join(dir, "x.csv")])).rejects.toThrow(/--features: is not a feature of view txn_stats; received "txn_stats:nope"/);
    await expect(run([...base, "--entities", entities(), "--features", "txn_stats:spend_7d", "--out", join(dir, "x.json")])).rejects.toThrow(/--out: has no \.csv or \.parquet extension; received ".*x\.json"/);
    await expect(run([...base, "--entities", entities(), "--features", "txn_stats:spend_7d", "--out", join(dir, "x.csv"), "--point-in-time"])).rejects.toThrow(MlopsError);
    await expect(offlineCommand("apply", [], () => {})).rejects.toThrow(/--spec is required/);
  });

  it("prints its usage for --help", async () => {
    const r = await mlops(["features", "historical", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--allow-later-writes/);
  });
});
