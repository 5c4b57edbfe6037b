import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FeatureRegistry, sha256 } from "../../../src/features/registry.js";
import { MlopsError } from "../../../src/errors.js";
import { assembleRelease, createRelease, parseImageRef, readRelease, releaseDigest, releaseKey, resolveRelease } from "../../../src/release/index.js";
import { parseFeatureStoreSpec } from "../../../src/spec/features.js";
import { writeRun } from "../../../src/runs/store.js";
import { IMAGE, PROFILE, RUN_ID, runRecord, stages, type Stages } from "./fixture.js";

let s: Stages;
beforeEach(async () => {
  s = await stages();
});
afterEach(() => s.close());

describe("assembleRelease", () => {
  it("records the model version and digest, image, normalized serving config, view versions, profile and run", async () => {
    const body = await assembleRelease(s.staging, "fraud", { model: "fraud@challenger", image: IMAGE, endpoint: s.endpoint });
    expect(body.model).toEqual({ name: "fraud", version: 1, digest: s.version.digest, metrics: { auc: 0.95 } });
    expect(body.image).toEqual({ ref: IMAGE, digest: `sha256:${"a".repeat(64)}` });
    // Normalized: the defaults the server would apply are written out.
    expect(body.serving).toMatchObject({ apiVersion: "mlops/v1", kind: "Endpoint", model: "fraud@champion", server: { port: 8080 }, batching: { maxBatchSize: 32 } });
    expect(body.features).toMatchObject({ store: "fraud", views: { txn_stats: { version: 1 }, profile: { version: 1 } } });
    expect(body.profile).toEqual({ key: "models/fraud/profiles/0000000001.json", digest: sha256(JSON.stringify(PROFILE, null, 2) + "\n") });
    expect(body.run).toEqual({
      runId: RUN_ID,
      recorded: true,
      status: "registered",
      gate: { passed: true, checks: [{ metric: "auc", op: ">=", bound: 0.9, value: 0.95, passed: true }] },
      metrics: { auc: 0.95 },
      datasetDigest: `sha256:${"d".repeat(64)}`,
      codeRevision: "abc123",
    });
  });

  it("pins the version an alias names, and leaves out what was not given", async () => {
    const body = await assembleRelease(s.staging, "fraud", { model: "fraud@challenger" });
    expect(body.model.version).toBe(1);
    expect(Object.keys(body).sort()).toEqual(["apiVersion", "kind", "model", "name", "profile", "run"]);
  });

  it("finds the view version whose definition the endpoint reads, not merely the latest", async () => {
    const changed = parseFeatureStoreSpec({ ...s.store, views: s.store.views.map((v) => (v.name === "txn_stats" ? { ...v, ttl: "2h" } : v)) });
    await FeatureRegistry.open(s.featureRegistry).apply(changed);
    const body = await assembleRelease(s.staging, "fraud", { model: "fraud:1", endpoint: s.endpoint });
    expect(body.features?.views.txn_stats?.version).toBe(1);
    const next = await assembleRelease(s.staging, "fraud", { model: "fraud:1", endpoint: { ...s.endpoint, features: { ...(s.endpoint.features as object), store: changed } } });
    expect(next.features?.views.txn_stats?.version).toBe(2);
  });

  it("fails when a view the endpoint reads was never applied to the feature registry, naming it and the fix", async () => {
    const other = join(s.dir, "empty-feature-registry");
    await expect(assembleRelease(s.staging, "fraud", { model: "fraud:1", endpoint: s.endpoint, featureRegistry: `file://${other}` })).rejects.toThrow(
      /endpoint\.features\.store\.views\.profile: is not recorded in the feature registry .*mlops features apply/,
    );
  });

  it("fails when the image is a tag without a digest", () => {
    expect(() => parseImageRef("ghcr.io/acme/mlops-runtime:1.4")).toThrow(MlopsError);
    expect(() => parseImageRef("ghcr.io/acme/mlops-runtime:1.4")).toThrow(/--image: is not pinned by a digest.*received "ghcr.io\/acme\/mlops-runtime:1.4".*@sha256:/);
    expect(() => parseImageRef("ghcr.io/acme/mlops-runtime@sha256:abc")).toThrow(/malformed digest/);
  });

  it("drops a tag beside the digest: two tags of one image are one release", async () => {
    expect(parseImageRef(`ghcr.io/acme/mlops-runtime:1.4@sha256:${"a".repeat(64)}`).ref).toBe(IMAGE);
    expect(parseImageRef(`localhost:5000/runtime:1.4@sha256:${"a".repeat(64)}`).ref).toBe(`localhost:5000/runtime@sha256:${"a".repeat(64)}`);
    const a = await assembleRelease(s.staging, "fraud", { model: "fraud:1", image: `ghcr.io/acme/mlops-runtime:1.4@sha256:${"a".repeat(64)}` });
    const b = await assembleRelease(s.staging, "fraud", { model: "fraud:1", image: `ghcr.io/acme/mlops-runtime:latest@sha256:${"a".repeat(64)}` });
    expect(releaseDigest(a)).toBe(releaseDigest(b));
  });

  it("fails when the endpoint serves another model", async () => {
    await expect(assembleRelease(s.staging, "fraud", { model: "fraud:1", endpoint: { ...s.endpoint, model: "churn@champion" } })).rejects.toThrow(/endpoint\.model: serves model "churn"/);
  });

  it("fails naming the field when the endpoint spec is invalid", async () => {
    await expect(assembleRelease(s.staging, "fraud", { model: "fraud:1", endpoint: { ...s.endpoint, batching: { maxBatchSize: 0 } } })).rejects.toThrow(/batching\.maxBatchSize/);
  });

  it("marks a run the version names but the registry has no record of", async () => {
    const t = await stages({ run: null });
    try {
      expect((await assembleRelease(t.staging, "fraud", { model: "fraud:1" })).run).toEqual({ runId: RUN_ID, recorded: false });
    } finally {
      await t.close();
    }
  });
});

describe("release digests", () => {
  it("are the sha256 of the body's canonical JSON: a pinned value, whatever the key order", () => {
    const model = { name: "fraud", version: 3, digest: `sha256:${"1".repeat(64)}`, metrics: { auc: 0.95, logloss: 0.2 } };
    const image = { ref: `ghcr.io/acme/rt@sha256:${"2".repeat(64)}`, digest: `sha256:${"2".repeat(64)}` };
    const body = { apiVersion: "mlops/v1", kind: "Release", name: "fraud", model, image } as const;
    const shuffled = { image: { digest: image.digest, ref: image.ref }, model: { metrics: { logloss: 0.2, auc: 0.95 }, digest: model.digest, version: 3, name: "fraud" }, name: "fraud", kind: "Release", apiVersion: "mlops/v1" } as const;
    // The same as Python's sha256(json.dumps(body, sort_keys=True, separators=(",", ":"))).
    const pinned = "sha256:7260d55c13d8a1925c1617d6e80ec1796886712ba23a66949036be8a7bae47c8";
    expect(releaseDigest(body)).toBe(pinned);
    expect(releaseDigest(shuffled)).toBe(pinned);
  });

  it("fails on a value JSON cannot hold exactly, naming where", () => {
    const body = { apiVersion: "mlops/v1", kind: "Release", name: "fraud", model: { name: "fraud", version: 1, digest: `sha256:${"1".repeat(64)}`, metrics: { auc: Number.NaN } } } as const;
    expect(() => releaseDigest(body)).toThrow(/release\.model\.metrics\.auc: is not a finite number/);
  });

  it("are stable: the same inputs give the same digest, whatever order the spec's keys come in and whenever it runs", async () => {
    const a = await createRelease(s.staging, "fraud", { model: "fraud@challenger", image: IMAGE, endpoint: s.endpoint });
    const reordered = Object.fromEntries(Object.entries(s.endpoint).reverse());
    await new Promise((r) => setTimeout(r, 5));
    const b = await createRelease(s.staging, "fraud", { model: "fraud:1", image: IMAGE, endpoint: reordered });
    expect(b.record.digest).toBe(a.record.digest);
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    // The first record stays: its creation time is outside the digest and is not rewritten.
    expect(b.record.createdAt).toBe(a.record.createdAt);
    expect(a.record.digest).toBe(releaseDigest(a.record.release));
  });

  it("are the same whether the serving defaults are written out or left implicit", async () => {
    const implicit = await assembleRelease(s.staging, "fraud", { model: "fraud:1", endpoint: s.endpoint });
    const explicit = await assembleRelease(s.staging, "fraud", { model: "fraud:1", endpoint: { ...s.endpoint, server: { port: 8080 }, batching: { maxBatchSize: 32 }, logLevel: "info" } });
    expect(releaseDigest(explicit)).toBe(releaseDigest(implicit));
  });

  it("change when anything released changes: image, serving, profile, run", async () => {
    const base = releaseDigest(await assembleRelease(s.staging, "fraud", { model: "fraud:1", image: IMAGE, endpoint: s.endpoint }));
    const other = [
      await assembleRelease(s.staging, "fraud", { model: "fraud:1", image: IMAGE.replace(/a{64}/, "c".repeat(64)), endpoint: s.endpoint }),
      await assembleRelease(s.staging, "fraud", { model: "fraud:1", image: IMAGE, endpoint: { ...s.endpoint, batching: { maxBatchSize: 8 } } }),
    ];
    await writeRun(s.staging.store, runRecord({ codeRevision: "def456" }));
    other.push(await assembleRelease(s.staging, "fraud", { model: "fraud:1", image: IMAGE, endpoint: s.endpoint }));
    await s.staging.store.put("models/fraud/profiles/0000000001.json", JSON.stringify({ rows: 1 }));
    other.push(await assembleRelease(s.staging, "fraud", { model: "fraud:1", image: IMAGE, endpoint: s.endpoint }));
    const digests = other.map(releaseDigest);
    expect(new Set([base, ...digests]).size).toBe(5);
  });
});

describe("release store", () => {
  it("stores the record at releases/<name>/<hex>.json and resolves it by name, full digest or prefix", async () => {
    const { record } = await createRelease(s.staging, "fraud", { model: "fraud:1" });
    const hex = record.digest.slice(7);
    expect(await s.staging.store.exists(`releases/fraud/${hex}.json`)).toBe(true);
    expect((await resolveRelease(s.staging.store, "fraud")).digest).toBe(record.digest);
    expect((await resolveRelease(s.staging.store, `fraud@${record.digest}`)).digest).toBe(record.digest);
    expect((await resolveRelease(s.staging.store, `fraud@${hex.slice(0, 7)}`)).digest).toBe(record.digest);
  });

  it("fails when a reference is malformed or names nothing, saying what exists", async () => {
    await createRelease(s.staging, "fraud", { model: "fraud:1" });
    await expect(resolveRelease(s.staging.store, "fraud@abc")).rejects.toThrow(/release: is not a release reference; received "fraud@abc"/);
    await expect(resolveRelease(s.staging.store, "fraud@0000000")).rejects.toThrow(/is not in .* "fraud" has sha256:/);
    await expect(resolveRelease(s.staging.store, "churn")).rejects.toThrow(/Release "churn" does not exist.*mlops release create/);
  });

  it("fails when a stored record no longer hashes to its name", async () => {
    const { record } = await createRelease(s.staging, "fraud", { model: "fraud:1" });
    const key = releaseKey("fraud", record.digest);
    const tampered = { ...record, release: { ...record.release, model: { ...record.release.model, version: 9 } } };
    await s.staging.store.put(key, JSON.stringify(tampered));
    await expect(readRelease(s.staging.store, "fraud", record.digest)).rejects.toThrow(/is corrupt: its body hashes to sha256:/);
    await writeFile(join(s.dir, "staging", key), "{not json");
    await expect(readRelease(s.staging.store, "fraud", record.digest)).rejects.toThrow(/is corrupt: not JSON/);
  });
});
