// `mlops serve --features-spec <features.yaml> --entity … --features …`: serving by entity id from the
// command line, over the embedded online store a materialization filled.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mlops, startMlops } from "../helpers/cli.js";
import { CUSTOMER_FEATURES, featureWorld, type FeatureWorld } from "../runtime/serve/features-fixture.js";

let w: FeatureWorld;
beforeAll(async () => {
  w = await featureWorld("embedded");
}, 60_000);
afterAll(async () => w?.close());

const post = (url: string, body: object) => fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("mlops serve --features-spec", () => {
  it("serves by entity id, with the same answer as on the features themselves", async () => {
    const spec = join(w.dir, "features.json");
    await writeFile(spec, JSON.stringify(w.store));
    const args = ["serve", "--model", "customer@champion", "--registry", w.registryUri, "--port", "0", "--log-level", "error"];
    const { url, stop } = await startMlops([...args, "--features-spec", spec, "--entity", "customer", "--features", CUSTOMER_FEATURES.join(",")]);
    try {
      // It listens at once and loads the model in the background.
      for (let i = 0; i < 200 && (await fetch(`${url}/v2/health/ready`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));
      const infer = `${url}/v2/models/customer/infer`;
      const byId = await post(infer, { inputs: [{ name: "customer_id", datatype: "INT64", shape: [1], data: [1002] }] });
      expect(byId.status).toBe(200);
      const direct = await post(infer, { inputs: [{ name: "input", datatype: "FP32", shape: [1, 3], data: [80.25, 51, 17] }] });
      expect(((await byId.json()) as { outputs: unknown }).outputs).toEqual(((await direct.json()) as { outputs: unknown }).outputs);
    } finally {
      expect(await stop()).toBe(0);
    }
  });

  it("fails naming --features-spec when --entity comes without it", async () => {
    const r = await mlops(["serve", "--model", "m@champion", "--entity", "customer"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--entity: needs --features-spec; received "customer"\. Pass --features-spec <features\.yaml>/);
  });

  it("fails at boot naming the field when the features do not fit the store", async () => {
    const spec = join(w.dir, "features-bad.json");
    await writeFile(spec, JSON.stringify(w.store));
    const r = await mlops(["serve", "--model", "customer@champion", "--registry", w.registryUri, "--port", "0", "--features-spec", spec, "--entity", "customer", "--features", "txn_stats:nope"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('features.features[0]: is not a feature of view txn_stats; received "txn_stats:nope"');
  });
});
