/**
 * The reference platform's feature store. Its one view holds the example dataset's measurements keyed by a
 * patient id, so the breast-cancer endpoint answers requests that send `patient_id` (its pods look the 30
 * values up in the online store) as well as requests that send the values themselves.
 *
 * The source is derived from examples/breast-cancer/data.csv when the stack runs (a row number as the id, a
 * fixed measurement time, the label left out), uploaded next to the example dataset in the stack's bucket:
 * the bytes are the same on every run, and nothing is checked in twice.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { FeatureStore, type KubernetesTarget } from "../components/index.js";
import { packageRoot } from "../src/package.js";
import { EXAMPLE_DATASET } from "./dataset.js";

/** The view's entity, join key, name and the file it reads. */
export const EXAMPLE_FEATURES = {
  key: "breast-cancer/features.csv",
  entity: "patient",
  joinKey: "patient_id",
  view: "tumor",
  /**
   * When the measurements were taken, the same for every row. The view has no TTL: a measurement does not
   * go stale, so requests never get OUTSIDE_MAX_AGE for it.
   */
  eventTimestamp: "2025-01-01T00:00:00Z",
  /** Patient ids are the row numbers from this one. */
  firstId: 1,
} as const;

function readExample(): string {
  return readFileSync(join(packageRoot(), EXAMPLE_DATASET.file), "utf8");
}

function rowsOf(csv: string): string[][] {
  return csv.split(/\r?\n/).filter((l) => l.trim() !== "").map((l) => l.split(","));
}

/**
 * The example's feature columns in the file's order, the label left out: the order the built-in trainer
 * feeds them to the model (runtime/train/dataset.ts), hence the endpoint's `features` order.
 */
export function exampleFeatureColumns(csv: string = readExample()): string[] {
  return rowsOf(csv)[0]!.filter((c) => c !== EXAMPLE_DATASET.label);
}

/** The view's source: `patient_id,event_timestamp,<the feature columns>`, one row per example row. */
export function exampleFeaturesCsv(csv: string = readExample()): string {
  const [header, ...rows] = rowsOf(csv);
  const keep = header!.map((c, i) => (c === EXAMPLE_DATASET.label ? -1 : i)).filter((i) => i >= 0);
  const lines = [[EXAMPLE_FEATURES.joinKey, "event_timestamp", ...keep.map((i) => header![i]!)].join(",")];
  rows.forEach((r, n) => lines.push([String(EXAMPLE_FEATURES.firstId + n), EXAMPLE_FEATURES.eventTimestamp, ...keep.map((i) => r[i]!)].join(",")));
  return lines.join("\n") + "\n";
}

/** The endpoint's `features`: every column of the view, in the model's input order. */
export function exampleFeatureRefs(): string[] {
  return exampleFeatureColumns().map((c) => `${EXAMPLE_FEATURES.view}:${c}`);
}

export interface ExampleFeatureStoreOptions {
  readonly kubernetes: KubernetesTarget;
  /** The example bucket (stacks/dataset.ts), where the source is uploaded. */
  readonly bucket: aws.s3.Bucket;
  readonly bucketName: string;
  /** Whether the cluster is EKS: the store then makes its own offline bucket and ElastiCache. */
  readonly eks: boolean;
  readonly authToken: pulumi.Input<string>;
  /** Namespaces whose pods may reach the feature server (Prometheus's, for the scrapes). */
  readonly allowFrom: readonly string[];
  readonly image: pulumi.Input<string>;
  readonly schedule?: string;
}

/**
 * Uploads the source and creates the FeatureStore: on EKS with its own offline bucket and ElastiCache
 * (TLS, encryption at rest, the AUTH token); on an existing cluster with the example bucket as its offline
 * store (under `features/`) and an in-cluster Valkey.
 */
export function createExampleFeatureStore(name: string, o: ExampleFeatureStoreOptions): FeatureStore {
  const source = new aws.s3.BucketObjectv2(`${name}-source`, {
    bucket: o.bucket.id,
    key: EXAMPLE_FEATURES.key,
    source: new pulumi.asset.StringAsset(exampleFeaturesCsv()),
    contentType: "text/csv",
  });
  return new FeatureStore(
    name,
    {
      kubernetes: o.kubernetes,
      entities: [{ name: EXAMPLE_FEATURES.entity, joinKeys: [EXAMPLE_FEATURES.joinKey], valueType: "int64", description: "A patient of the example dataset (its row number)." }],
      views: [
        {
          name: EXAMPLE_FEATURES.view,
          entities: [EXAMPLE_FEATURES.entity],
          source: { uri: `s3://${o.bucketName}/${EXAMPLE_FEATURES.key}`, format: "csv", timestampField: "event_timestamp" },
          features: exampleFeatureColumns().map((c) => ({ name: c, dtype: "float64" as const })),
        },
      ],
      online: { authToken: o.authToken },
      ...(o.eks ? {} : { offline: { bucket: o.bucketName, prefix: "features" } }),
      server: { allowFrom: { namespaces: [...o.allowFrom] } },
      ...(o.schedule ? { materialization: { schedule: o.schedule } } : {}),
      image: o.image,
    },
    { dependsOn: [source] },
  );
}
