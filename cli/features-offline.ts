import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { MlopsError } from "../src/errors.js";
import { FeatureRegistry } from "../src/features/registry.js";
import { parseFeatureRefs, parseFeatureStoreSpec, type FeatureStoreSpec } from "../src/spec/features.js";
import { historicalFeatures } from "../runtime/features/historical.js";
import { saveHistorical } from "../runtime/features/save.js";
import { localSourcePath, validateSource, withDuck } from "../runtime/features/source.js";
import { parse, positionals } from "./args.js";
import { readSpecFile } from "./spec.js";

const USAGE = {
  apply: "mlops features apply --spec <features.yaml> [--skip-source-check]",
  historical:
    "mlops features historical --spec <features.yaml> --entities <file.csv|parquet> --features <view:feature,…> [--full-feature-names] [--save <name>] --out <file.csv|parquet> [--allow-later-writes] [--join auto|asof] [--quiet]",
};

/** `mlops features apply|historical`: the offline side of the feature store. */
export async function offlineCommand(sub: "apply" | "historical", argv: string[], out: (s: string) => void): Promise<number> {
  return sub === "apply" ? apply(argv, out) : historical(argv, out);
}

async function loadSpec(file: string | undefined, usage: string): Promise<FeatureStoreSpec> {
  if (!file) throw new MlopsError(`--spec is required\nusage: ${usage}`);
  return parseFeatureStoreSpec(await readSpecFile(file), file);
}

/** A scratch folder for staged s3:// sources, removed afterwards. */
async function withScratch<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "mlops-features-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Validates the spec and every view's source (columns present, values of their declared dtypes), then
 * records each changed view as a new version. One JSON line per view.
 */
async function apply(argv: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals: pos } = parse(argv, { spec: { type: "string" }, "skip-source-check": { type: "boolean" } }, USAGE.apply);
  positionals(pos, [], USAGE.apply);
  const spec = await loadSpec(values.spec, USAGE.apply);
  const checked = new Set<string>();
  if (!values["skip-source-check"]) {
    await withScratch((dir) =>
      withDuck(async (conn) => {
        // Every source is checked before anything is recorded: a spec that does not fit its data is not applied.
        for (const view of spec.views) {
          await validateSource(conn, view, spec, await localSourcePath(view, spec, dir));
          checked.add(view.name);
        }
      }),
    );
  }
  const registry = FeatureRegistry.open(spec.registry);
  for (const r of await registry.apply(spec)) {
    out(JSON.stringify({ view: r.view, version: r.version, changed: r.changed, digest: r.digest, sourceChecked: checked.has(r.view) }));
  }
  return 0;
}

async function historical(argv: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals: pos } = parse(
    argv,
    {
      spec: { type: "string" },
      entities: { type: "string" },
      features: { type: "string" },
      "full-feature-names": { type: "boolean" },
      save: { type: "string" },
      out: { type: "string" },
      "allow-later-writes": { type: "boolean" },
      join: { type: "string" },
      quiet: { type: "boolean" },
    },
    USAGE.historical,
  );
  positionals(pos, [], USAGE.historical);
  for (const flag of ["entities", "features", "out"] as const) {
    if (!values[flag]) throw new MlopsError(`--${flag} is required\nusage: ${USAGE.historical}`);
  }
  const strategy = values.join ?? "auto";
  if (strategy !== "auto" && strategy !== "asof") {
    throw MlopsError.of("--join", "is not a join this command knows", strategy, 'Pass "auto" (a hash join for views with a TTL where it fits, the default) or "asof" (the sort-merge ASOF join for every view).');
  }
  const spec = await loadSpec(values.spec, USAGE.historical);
  const refs = parseFeatureRefs(values.features!, spec);
  const progress = values.quiet ? undefined : (line: string) => process.stderr.write(`features historical: ${line}\n`);
  const entities = resolve(values.entities!);
  const result = await withScratch((scratchDir) =>
    historicalFeatures({
      spec,
      refs,
      entities,
      out: values.out!,
      fullFeatureNames: values["full-feature-names"] ?? false,
      allowLaterWrites: values["allow-later-writes"] ?? false,
      strategy,
      scratchDir,
      ...(progress ? { progress } : {}),
    }),
  );
  let trainingSet: Record<string, unknown> | undefined;
  if (values.save) {
    const saved = await saveHistorical(values.save, result, {
      spec,
      refs,
      entities,
      fullFeatureNames: values["full-feature-names"] ?? false,
      allowLaterWrites: values["allow-later-writes"] ?? false,
    });
    trainingSet = { name: saved.name, version: saved.version, ref: `${saved.name}:${saved.version}`, digest: saved.digest, changed: saved.changed, uri: saved.uri };
  }
  out(JSON.stringify({ out: result.out, rows: result.rows, columns: result.columns, views: result.views, ...(trainingSet ? { trainingSet } : {}) }));
  return 0;
}
