import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EXAMPLE_FEATURES, exampleFeatureColumns, exampleFeatureRefs, exampleFeaturesCsv } from "../../stacks/features.js";
import { parseFeatureStoreSpec } from "../../src/spec/features.js";
import { ROOT } from "../helpers/cli.js";

const DATA = readFileSync(join(ROOT, "examples", "breast-cancer", "data.csv"), "utf8");
const rows = (csv: string) => csv.trim().split("\n").map((l) => l.split(","));

describe("the example feature source", () => {
  it("has every example row, keyed by its row number, at one fixed time, without the label", () => {
    const [header, ...data] = rows(DATA);
    const [outHeader, ...out] = rows(exampleFeaturesCsv());
    expect(outHeader).toEqual(["patient_id", "event_timestamp", ...header!.filter((c) => c !== "label")]);
    expect(out).toHaveLength(data.length);
    const label = header!.indexOf("label");
    out.forEach((r, i) => {
      expect(r[0]).toBe(String(i + 1));
      expect(r[1]).toBe(EXAMPLE_FEATURES.eventTimestamp);
      expect(r.slice(2)).toEqual(data[i]!.filter((_, j) => j !== label));
    });
  });

  it("is the same bytes on every run", () => {
    expect(exampleFeaturesCsv()).toBe(exampleFeaturesCsv());
  });

  it("lists the features in the trainer's column order, as view:feature references", () => {
    expect(exampleFeatureColumns()).toHaveLength(30);
    expect(exampleFeatureColumns()[0]).toBe("mean_radius");
    expect(exampleFeatureRefs()).toEqual(exampleFeatureColumns().map((c) => `tumor:${c}`));
  });

  it("makes a view the feature store's spec accepts", () => {
    const spec = parseFeatureStoreSpec({
      apiVersion: "mlops/v1",
      kind: "FeatureStore",
      name: "features",
      registry: "s3://b/registry",
      online: { redis: { url: "redis://r:6379" } },
      entities: [{ name: EXAMPLE_FEATURES.entity, joinKeys: [EXAMPLE_FEATURES.joinKey] }],
      views: [{ name: EXAMPLE_FEATURES.view, entities: [EXAMPLE_FEATURES.entity], source: { uri: "s3://b/breast-cancer/features.csv" }, features: exampleFeatureColumns().map((name) => ({ name, dtype: "float64" })) }],
    });
    expect(spec.views[0]!.features).toHaveLength(30);
  });
});
