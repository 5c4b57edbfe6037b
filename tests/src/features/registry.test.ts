import { describe, expect, it } from "vitest";
import { FeatureRegistry, canonicalJson, viewDigest, viewKey } from "../../../src/features/registry.js";
import { parseFeatureStoreSpec, type FeatureStoreSpec } from "../../../src/spec/features.js";
import { BACKENDS, useBackend } from "../../helpers/stores.js";

function spec(description: string, extraFeature?: string): FeatureStoreSpec {
  return parseFeatureStoreSpec({
    name: "fraud",
    registry: "file:///unused",
    entities: [{ name: "customer", joinKeys: ["customer_id"] }],
    views: [
      {
        name: "txn_stats",
        entities: ["customer"],
        source: { uri: "file:///data/txn.csv" },
        ttl: "3d",
        features: [{ name: "spend_7d", dtype: "float64", description }, ...(extraFeature ? [{ name: extraFeature, dtype: "int64" as const }] : [])],
      },
      { name: "profile", entities: ["customer"], source: { uri: "file:///data/profile.csv" }, features: [{ name: "age", dtype: "int32" }] },
    ],
  });
}

describe("canonicalJson", () => {
  it("gives the same text for the same data whatever the key order", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } })).toBe(canonicalJson({ a: { c: null, d: [2, { e: 0, f: 1 }] }, b: 1 }));
  });

  it("changes a view's digest when its definition or its entity's join keys change", () => {
    const s = spec("x");
    const base = viewDigest(s.views[0]!, s);
    expect(viewDigest(spec("y").views[0]!, spec("y"))).not.toBe(base);
    const rekeyed = { ...s, entities: [{ ...s.entities[0]!, joinKeys: ["cid"] }] };
    expect(viewDigest(s.views[0]!, rekeyed)).not.toBe(base);
    expect(viewDigest(spec("x").views[0]!, spec("x"))).toBe(base);
  });
});

describe.each(BACKENDS)("FeatureRegistry on %s", (kind) => {
  const backend = useBackend(kind);

  it("records each view at version 1, then only changed views get a new version", async () => {
    const registry = new FeatureRegistry(backend().store);
    expect((await registry.apply(spec("a"))).map((r) => [r.view, r.version, r.changed])).toEqual([
      ["txn_stats", 1, true],
      ["profile", 1, true],
    ]);
    expect((await registry.apply(spec("a"))).map((r) => [r.view, r.version, r.changed])).toEqual([
      ["txn_stats", 1, false],
      ["profile", 1, false],
    ]);
    expect((await registry.apply(spec("a", "n_7d"))).map((r) => [r.view, r.version, r.changed])).toEqual([
      ["txn_stats", 2, true],
      ["profile", 1, false],
    ]);
    const v1 = await registry.viewVersion("txn_stats", 1);
    expect(v1.definition.view.features.map((f) => f.name)).toEqual(["spend_7d"]);
    expect(v1.definition.entities.map((e) => e.joinKeys)).toEqual([["customer_id"]]);
    expect((await registry.latestView("txn_stats"))?.version).toBe(2);
    expect(await backend().store.exists(viewKey("txn_stats", 2))).toBe(true);
  });

  it("loses no write under concurrency: every distinct definition gets its own version, numbers never collide", async () => {
    const registry = new FeatureRegistry(backend().store);
    const defs = Array.from({ length: 16 }, (_, i) => spec(`definition ${i}`));
    // Each definition applied twice at once, by separate registry objects (no shared cache).
    const results = await Promise.all([...defs, ...defs].map((s) => new FeatureRegistry(backend().store).recordView(s.views[0]!, s)));
    const versions = await registry.viewVersionNumbers("txn_stats");
    const records = await Promise.all(versions.map((v) => registry.viewVersion("txn_stats", v)));
    const digests = new Set(records.map((r) => r.digest));
    expect(digests).toEqual(new Set(defs.map((s) => viewDigest(s.views[0]!, s))));
    // Re-applying the latest one is always a no-op; the others may have been recorded twice (A, B, A).
    expect(versions).toEqual(Array.from({ length: versions.length }, (_, i) => i + 1));
    for (const r of results) expect(records[r.version - 1]!.digest).toBe(r.digest);
    expect(results.filter((r) => r.changed).length).toBe(versions.length);
  });

  it("fails naming the view and the versions it has when asked for a missing version", async () => {
    const registry = new FeatureRegistry(backend().store);
    await registry.apply(spec("a"));
    await expect(registry.viewVersion("txn_stats", 7)).rejects.toThrow(/Feature view "txn_stats" has no version 7 .*it has versions 1/);
  });

  it("refuses a corrupt version record, naming it", async () => {
    const store = backend().store;
    await store.put(viewKey("txn_stats", 1), "{not json");
    await expect(new FeatureRegistry(store).latestView("txn_stats")).rejects.toThrow(/views\/txn_stats\/0000000001\.json is corrupt/);
  });
});
