// The point-in-time join for `npm run bench:features`: `mlops features historical` (the whole command,
// compiled as it ships: node's start, reading the Parquet files, the join, writing Parquet) against pandas `merge_asof` (the
// sorts, the joins and putting the rows back in input order; loading the CSV files and writing the answer
// are not counted), on the same data, and the two answers compared row by row.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { FEATURES_A, FEATURES_B, TTL_A_S, TTL_B_S, historicalData, type HistoricalData, type HistoricalSizes } from "./data.js";
import { compiledCli, timed } from "./measure.js";

const PYTHON = "/usr/bin/python3";
const TIMEOUT_MS = 3_600_000;
const FEATURES = [...FEATURES_A, ...FEATURES_B];

export interface HistoricalOptions {
  readonly root: string;
  readonly dataRoot: string;
  readonly tmp: string;
  readonly sizes: HistoricalSizes;
  readonly say: (line: string) => void;
}

export interface Comparison {
  readonly rows: { readonly ours: number; readonly pandas: number };
  /** Rows where any feature differs (null vs a value included), or the row exists on one side only. */
  readonly mismatches: number;
  /** Rows whose input columns (customer_id, event_timestamp, label) did not come back as given. */
  readonly inputMismatches: number;
  /** md5 of the canonical text of every row's features, in input order. */
  readonly digest: { readonly ours: string; readonly pandas: string };
  /** Entity rows that got a value from each view. */
  readonly matched: { readonly a: number; readonly b: number };
}

export interface OursRun {
  readonly wallS: number;
  readonly cpuS: number;
  readonly maxRssMiB: number;
  /** Per view, from the command's answer: the join it used and the seconds reading its source and joining took. */
  readonly views: ReadonlyArray<{ readonly view: string; readonly join: string; readonly seconds: number }>;
}

export interface HistoricalResult {
  readonly sizes: HistoricalSizes;
  readonly ours: OursRun;
  /** The same command with `--join asof` (the sort-merge join for every view): what the hash join replaced. */
  readonly oursAsof: OursRun;
  /** historical-floor.mjs: the least a DuckDB hash join does with these files (scans, probes, features carried, the write), as a process. */
  readonly floor?: { readonly wallS: number; readonly cpuS: number; readonly maxRssMiB: number; readonly steps: Readonly<Record<string, number>> };
  /** `mlops features --help`: what starting the command costs (a checkout runs the sources through tsx). */
  readonly cliStart: { readonly wallS: number; readonly cpuS: number };
  readonly pandas: { readonly joinS: number; readonly joinCpuS: number; readonly loadS: number; readonly writeS: number; readonly wallS: number; readonly maxRssMiB: number; readonly version: string };
  readonly comparison: Comparison;
  readonly identical: boolean;
}

function writeSpec(tmp: string, d: HistoricalData): string {
  const view = (name: string, uri: string, ttl: string, features: readonly string[], int: string) => ({
    name,
    entities: ["customer"],
    source: { uri: `file://${uri}`, timestampField: "event_timestamp" },
    ttl,
    features: features.map((f) => ({ name: f, dtype: f === int ? "int64" : "float64" })),
  });
  const spec = {
    apiVersion: "mlops/v1",
    kind: "FeatureStore",
    name: "benchh",
    registry: `file://${join(tmp, "registry-historical")}`,
    entities: [{ name: "customer", joinKeys: ["customer_id"] }],
    views: [view("a", d.aParquet, `${TTL_A_S / 86_400}d`, FEATURES_A, "a3"), view("b", d.bParquet, `${TTL_B_S / 86_400}d`, FEATURES_B, "b1")],
  };
  const path = join(tmp, "historical-spec.json");
  writeFileSync(path, JSON.stringify(spec, null, 2));
  return path;
}

/** Canonical text of a row's features: each as DOUBLE text, empty for null, `|`-separated. */
const canonical = (row: string) => `concat_ws('|', ${row}, ${FEATURES.map((f) => `coalesce(CAST(CAST(${f} AS DOUBLE) AS VARCHAR), '')`).join(", ")})`;

/** Compares our output (Parquet, input order) with pandas' (CSV with `row`), and our input columns with the entity file. */
export async function compare(entitiesParquet: string, oursPath: string, pandasPath: string): Promise<Comparison> {
  const instance = await DuckDBInstance.create(":memory:");
  const conn = await instance.connect();
  try {
    await conn.run("SET TimeZone = 'UTC'");
    await conn.run(`CREATE TABLE o AS SELECT file_row_number AS r, * FROM read_parquet('${oursPath}', file_row_number = true)`);
    const types = ["'row': 'BIGINT'", ...FEATURES.map((f) => `'${f}': 'DOUBLE'`)].join(", ");
    await conn.run(`CREATE TABLE p AS SELECT * FROM read_csv('${pandasPath}', header = true, types = {${types}})`);
    await conn.run(`CREATE TABLE e AS SELECT file_row_number AS r, * FROM read_parquet('${entitiesParquet}', file_row_number = true)`);
    const differs = FEATURES.map((f) => `CAST(o.${f} AS DOUBLE) IS DISTINCT FROM p.${f}`).join(" OR ");
    const [row] = (
      await conn.runAndReadAll(`SELECT
          (SELECT count(*) FROM o), (SELECT count(*) FROM p),
          (SELECT count(*) FROM o FULL JOIN p ON o.r = p.row WHERE o.r IS NULL OR p.row IS NULL OR ${differs}),
          (SELECT count(*) FROM e FULL JOIN o ON e.r = o.r WHERE o.r IS NULL OR e.r IS NULL OR e.customer_id IS DISTINCT FROM o.customer_id
             OR epoch_us(e.event_timestamp) IS DISTINCT FROM epoch_us(o.event_timestamp) OR e.label IS DISTINCT FROM o.label),
          (SELECT md5(string_agg(${canonical("r")}, chr(10) ORDER BY r)) FROM o),
          (SELECT md5(string_agg(${canonical("row")}, chr(10) ORDER BY row)) FROM p),
          (SELECT count(a0) FROM o), (SELECT count(b0) FROM o)`)
    ).getRows();
    const [oursRows, pandasRows, mismatches, inputMismatches, digestOurs, digestPandas, a, b] = row!;
    return {
      rows: { ours: Number(oursRows), pandas: Number(pandasRows) },
      mismatches: Number(mismatches),
      inputMismatches: Number(inputMismatches),
      digest: { ours: String(digestOurs), pandas: String(digestPandas) },
      matched: { a: Number(a), b: Number(b) },
    };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

export async function runHistorical(o: HistoricalOptions): Promise<HistoricalResult> {
  const s = o.sizes;
  o.say(`historical: data, ${s.entities.toLocaleString("en-US")} entity rows, views of ${s.viewA.toLocaleString("en-US")} and ${s.viewB.toLocaleString("en-US")} rows (generated once, then cached)`);
  const d = await historicalData(o.dataRoot, s);
  const spec = writeSpec(o.tmp, d);
  const oursOut = join(o.tmp, "historical-ours.parquet");
  const pandasOut = join(o.tmp, "historical-pandas.csv");

  const cli = compiledCli(o.root);
  const help = await timed("mlops features --help", process.execPath, [cli, "features", "--help"], 60_000);
  o.say("historical: mlops features historical");
  const features = [...FEATURES_A.map((f) => `a:${f}`), ...FEATURES_B.map((f) => `b:${f}`)].join(",");
  const run = async (strategy: "auto" | "asof", out: string): Promise<OursRun> => {
    const r = await timed("mlops features historical", process.execPath, [cli, "features", "historical", "--spec", spec, "--entities", d.entitiesParquet, "--features", features, "--out", out, "--join", strategy, "--quiet"], TIMEOUT_MS);
    if (r.code !== 0) throw new Error(`mlops features historical exited with ${r.code}:\n${r.stdout}${r.stderr.slice(-2000)}`);
    const answer = JSON.parse(r.stdout.trim().split("\n").pop()!) as { views: Array<{ view: string; join: string; seconds: number }> };
    return { wallS: r.wallS, cpuS: r.cpuS, maxRssMiB: r.maxRssKiB / 1024, views: answer.views.map((v) => ({ view: v.view, join: v.join, seconds: v.seconds })) };
  };
  const ours = await run("auto", oursOut);
  o.say("historical: mlops features historical --join asof");
  const oursAsof = await run("asof", join(o.tmp, "historical-ours-asof.parquet"));

  o.say("historical: the DuckDB floor (historical-floor.mjs)");
  const floorArgs = [join(o.root, "bench", "features", "historical-floor.mjs"), d.entitiesParquet, join(o.tmp, "historical-floor.parquet"), `${d.aParquet}:${TTL_A_S}:${FEATURES_A.join(",")}`, `${d.bParquet}:${TTL_B_S}:${FEATURES_B.join(",")}`];
  const fl = await timed("historical-floor.mjs", process.execPath, floorArgs, TIMEOUT_MS);
  if (fl.code !== 0) throw new Error(`historical-floor.mjs exited with ${fl.code}:\n${fl.stderr.slice(-2000)}`);
  const floorSteps = (JSON.parse(fl.stdout.trim().split("\n").pop()!) as { steps: Record<string, number> }).steps;

  o.say("historical: pandas merge_asof");
  const args = [join(o.root, "bench", "features", "pandas_join.py"), "--entities", d.entitiesCsv, "--view", `a=${d.aCsv}:${TTL_A_S}:${FEATURES_A.join(",")}`, "--view", `b=${d.bCsv}:${TTL_B_S}:${FEATURES_B.join(",")}`, "--out", pandasOut];
  const py = await timed("pandas_join.py", PYTHON, args, TIMEOUT_MS);
  if (py.code !== 0) throw new Error(`pandas_join.py exited with ${py.code}:\n${py.stderr.slice(-2000)}`);
  const p = JSON.parse(py.stdout.trim().split("\n").pop()!) as { load_s: number; join_s: number; join_cpu_s: number; write_s: number; pandas: string; numpy: string };

  o.say("historical: comparing the two answers row by row");
  const comparison = await compare(d.entitiesParquet, oursOut, pandasOut);
  const identical =
    comparison.rows.ours === s.entities && comparison.rows.pandas === s.entities && comparison.mismatches === 0 && comparison.inputMismatches === 0 && comparison.digest.ours === comparison.digest.pandas;
  return {
    sizes: s,
    ours,
    oursAsof,
    floor: { wallS: fl.wallS, cpuS: fl.cpuS, maxRssMiB: fl.maxRssKiB / 1024, steps: floorSteps },
    cliStart: { wallS: help.wallS, cpuS: help.cpuS },
    pandas: { joinS: p.join_s, joinCpuS: p.join_cpu_s, loadS: p.load_s, writeS: p.write_s, wallS: py.wallS, maxRssMiB: py.maxRssKiB / 1024, version: `pandas ${p.pandas}, numpy ${p.numpy}` },
    comparison,
    identical,
  };
}
