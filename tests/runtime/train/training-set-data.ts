/**
 * A FeatureStore whose point-in-time training sets are learnable: daily `txn_stats` rows per customer and
 * entity rows a few hours after one of them, labelled from that row's `spend_7d`. Saved through the real
 * `mlops features historical … --save` command (in process).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import YAML from "yaml";
import { offlineCommand } from "../../../cli/features-offline.js";
import { fraudSpec, rng, writeCsv } from "../../helpers/feature-data.js";

export const FEATURES = "txn_stats:spend_7d,txn_stats:txn_count_7d";
const DAY_MS = 86_400_000;
const START = Date.parse("2024-01-01T00:00:00Z");

/** Writes txn.csv (120 customers × 10 days) and features.yaml under `dir`; returns the spec path and registry URI. */
export async function writeFeatureStore(dir: string): Promise<{ spec: string; registry: string }> {
  const rand = rng(11);
  const rows: unknown[][] = [];
  for (let c = 1; c <= 120; c++) {
    for (let d = 0; d < 10; d++) {
      const t = new Date(START + d * DAY_MS).toISOString();
      rows.push([c, t, t, (spend(c, d) + rand()).toFixed(3), Math.floor(rand() * 20)]);
    }
  }
  await writeCsv(join(dir, "txn.csv"), ["customer_id", "event_timestamp", "created_at", "spend_7d", "txn_count_7d"], rows);
  const registry = pathToFileURL(join(dir, "feature-registry")).href;
  const spec = fraudSpec(dir, join(dir, "txn.csv"), {}, { registry });
  const path = join(dir, "features.yaml");
  await writeFile(path, YAML.stringify(spec));
  return { spec: path, registry };
}

/** A customer's spend on a day, before noise: what the label depends on. */
const spend = (c: number, d: number) => ((c * 37 + d * 11) % 100) / 10;

/** Writes `rows` entity rows (customer_id, event_timestamp 6 h after a source row, label) seeded by `seed`. */
export async function writeEntities(path: string, rows: number, seed: number): Promise<void> {
  const rand = rng(seed);
  const out: unknown[][] = [];
  for (let i = 0; i < rows; i++) {
    const c = 1 + Math.floor(rand() * 120);
    const d = Math.floor(rand() * 10);
    const p = 1 / (1 + Math.exp(-(spend(c, d) - 5)));
    out.push([c, new Date(START + d * DAY_MS + 6 * 3_600_000).toISOString(), rand() < p ? 1 : 0]);
  }
  await writeCsv(path, ["customer_id", "event_timestamp", "label"], out);
}

/** Runs `mlops features historical … --save <name>`; returns its JSON answer. */
export async function saveTrainingSet(spec: string, entities: string, name: string, out: string, extra: string[] = []): Promise<{ trainingSet: { ref: string; version: number; digest: string; uri: string } }> {
  const lines: string[] = [];
  const code = await offlineCommand("historical", ["--spec", spec, "--entities", entities, "--features", FEATURES, "--save", name, "--out", out, "--quiet", ...extra], (l) => lines.push(l));
  if (code !== 0) throw new Error(`features historical exited ${code}`);
  return JSON.parse(lines[lines.length - 1]!);
}
