// Releases and promotion on the S3 backend (s3rver in-process): staging on a local folder, prod in a bucket.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Registry } from "../../../src/registry/index.js";
import { createRelease, listAudits, listReleases, promoteRelease, readRelease } from "../../../src/release/index.js";
import { useBackend } from "../../helpers/stores.js";
import { IMAGE, stages, type Stages } from "./fixture.js";

describe("promoteRelease into an s3:// registry", () => {
  const backend = useBackend("s3");
  let s: Stages;
  beforeEach(async () => {
    s = await stages();
  });
  afterEach(() => s.close());

  it("copies the release and what it references into the bucket, and a second run is a no-op", async () => {
    const prod = new Registry(backend().store);
    const { record } = await createRelease(s.staging, "fraud", { model: "fraud@challenger", image: IMAGE, endpoint: s.endpoint });
    const first = await promoteRelease(s.staging, prod, "fraud", { actor: { user: "ci" } });
    expect(first.outcome).toBe("promoted");
    expect(await readRelease(prod.store, "fraud", record.digest)).toEqual(record);
    expect((await prod.aliases("fraud")).champion).toBe(1);
    expect(await prod.store.exists("models/fraud/profiles/0000000001.json")).toBe(true);
    const second = await promoteRelease(s.staging, prod, "fraud", { actor: { user: "ci" } });
    expect(second.outcome).toBe("no-op");
    expect((await listAudits(prod.store)).map((a) => a.outcome)).toEqual(["promoted", "no-op"]);
    expect((await listReleases(prod.store)).map((r) => r.digest)).toEqual([record.digest]);
  });
});
