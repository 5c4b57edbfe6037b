import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MlopsError } from "../../../src/errors.js";
import { driftResultKey, latestDriftResult, writeDriftResult, type DriftResult } from "../../../src/registry/drift-results.js";
import { getProfile, profileKey, putProfile } from "../../../src/registry/profiles.js";
import { openStore } from "../../../src/store/index.js";
import type { ObjectStore } from "../../../src/store/types.js";

let dir: string;
let store: ObjectStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "drift-contracts-"));
  store = openStore(`file://${dir}`);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("reference profiles (contract 1)", () => {
  it("keys a profile beside the version records, padded to 10 digits", () => {
    expect(profileKey("fraud", 3)).toBe("models/fraud/profiles/0000000003.json");
  });

  it("stores and reads back a profile as 2-space JSON, with its URI", async () => {
    const profile = { kind: "mlops-drift-profile", rows: 2, columns: { a: { n: 1 } } };
    const uri = await putProfile(store, "fraud", 12, profile);
    expect(uri).toBe(store.uriOf("models/fraud/profiles/0000000012.json"));
    expect((await store.get("models/fraud/profiles/0000000012.json"))!.toString()).toBe(JSON.stringify(profile, null, 2) + "\n");
    expect(await getProfile(store, "fraud", 12)).toEqual(profile);
    expect(await getProfile(store, "fraud", 13)).toBeUndefined();
  });

  it("rejects names and versions that are not a model's", () => {
    expect(() => profileKey("../x", 1)).toThrow(MlopsError);
    expect(() => profileKey("fraud", 0)).toThrow(/version: is not a version number; received 0/);
  });

  it("names the object when a stored profile is not JSON", async () => {
    await store.put(profileKey("fraud", 1), "{not json");
    await expect(getProfile(store, "fraud", 1)).rejects.toThrow(/profiles\/0000000001\.json of fraud:1 is not JSON/);
  });
});

describe("drift results (contract 2)", () => {
  const result: DriftResult = {
    at: "2026-05-01T12:00:00.123Z",
    model: "fraud",
    version: 3,
    alias: "champion",
    dataset_drift: true,
    share_drifted: 0.75,
    drifted: ["amount", "age", "hour"],
    report: "/tmp/drift",
  };

  it("writes the run's record and latest.json, both readable back", async () => {
    const uri = await writeDriftResult(store, result);
    expect(uri).toBe(store.uriOf("models/fraud/drift/2026-05-01T12-00-00-123Z.json"));
    expect(driftResultKey("fraud", result.at)).toBe("models/fraud/drift/2026-05-01T12-00-00-123Z.json");
    expect(JSON.parse((await store.get("models/fraud/drift/2026-05-01T12-00-00-123Z.json"))!.toString())).toEqual(result);
    expect(await latestDriftResult(store, "fraud")).toEqual(result);
    const later = { ...result, at: "2026-05-01T13:00:00.000Z", dataset_drift: false, share_drifted: 0, drifted: [] };
    await writeDriftResult(store, later);
    expect(await latestDriftResult(store, "fraud")).toEqual(later);
    expect(await store.list("models/fraud/drift/")).toHaveLength(3);
  });

  it("is undefined for a model never checked", async () => {
    expect(await latestDriftResult(store, "fraud")).toBeUndefined();
  });

  it("refuses a record that is not a drift result, naming the field", async () => {
    await expect(writeDriftResult(store, { ...result, share_drifted: 2 })).rejects.toThrow(/share_drifted/);
  });
});
