/**
 * `mlops drift`: two tables in (or a reference profile and a table), report.json and report.html
 * out, metrics to the Pushgateway, and a command run when the dataset drifted.
 *
 * The two sides are {@link Table}s, so where they come from (files, object-store prefixes, a stored
 * profile, later the endpoint's payload logs) is decided before this runs and nothing below depends
 * on it.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, posix, resolve } from "node:path";
import { MlopsError } from "../../src/errors.js";
import { filePath, openStore } from "../../src/store/index.js";
import { columnDrift, type ColumnPlot, type ColumnReport } from "./column.js";
import { profileTable, readProfile } from "./profile.js";
import { pushDriftMetrics } from "./push.js";
import { chooseColumns, columnQuality, type ColumnQuality } from "./quality.js";
import { writeReports, type DriftReport } from "./report.js";
import { DRIFT_SHARE, type Method } from "./select.js";
import { releaseSortScratch } from "./stats/sort.js";
import { TableReader, type Table } from "./table.js";

export interface DriftOptions {
  /** Reference: a CSV/Parquet file, folder, glob or s3:// object/prefix, or a profile (*.json). */
  readonly reference: string;
  /** Current data: a CSV/Parquet file, folder, glob or s3:// object/prefix. */
  readonly current: string;
  /** Folder for report.json and report.html. */
  readonly out: string;
  /** Only these columns (each must be in both tables). @default - every testable column both share */
  readonly columns?: readonly string[];
  /** One test for every column. @default - Evidently's choice per column */
  readonly method?: Method;
  /** One threshold for every column. @default - the test's own (0.05 for p-values, 0.1 for distances) */
  readonly threshold?: number;
  readonly pushgateway?: { readonly url: string; readonly job?: string; readonly groupings?: Readonly<Record<string, string>> };
  /** A shell command (the user's own string, run with `sh -c`) started when the dataset drifted. */
  readonly onDrift?: string;
  /** Relative paths resolve against this folder. @default process.cwd() */
  readonly cwd?: string;
}

export interface DriftResult {
  readonly report: DriftReport;
  readonly paths: { readonly json: string; readonly html: string };
  /** Set when the dataset drifted and an on-drift command was given. */
  readonly onDrift?: { readonly command: string; readonly exitCode: number };
  readonly seconds: number;
}

/** Columns read and tested together: bounds memory to a batch of columns, whatever the table's width. */
const COLUMN_GROUP = 8;

export async function runDrift(opts: DriftOptions): Promise<DriftResult> {
  const started = performance.now();
  const cwd = opts.cwd ?? process.cwd();
  const reader = await TableReader.create({ cwd });
  try {
    const { table: ref, kind } = await openReference(reader, opts.reference, cwd);
    const cur = await reader.open(opts.current, "current", "--current");
    const choice = chooseColumns(ref, cur, kind, opts.columns);
    const columns: Record<string, ColumnReport> = {};
    const plots: Record<string, ColumnPlot> = {};
    const quality: Record<string, ColumnQuality> = {};
    const approximate: string[] = [];
    const groups: string[][] = [];
    for (let i = 0; i < choice.tested.length; i += COLUMN_GROUP) groups.push(choice.tested.slice(i, i + COLUMN_GROUP));
    const read = (names: string[]) => Promise.all([ref.readColumns(names), cur.readColumns(names)]);
    // One group ahead: DuckDB scans the next columns on its threads while this one is tested.
    let next = read(groups[0]!);
    for (let g = 0; g < groups.length; g++) {
      const [refData, curData] = await next;
      if (g + 1 < groups.length) {
        next = read(groups[g + 1]!);
        next.catch(() => undefined); // awaited next round; an error now must not go unhandled meanwhile
      }
      for (const name of groups[g]!) {
        const r = refData.get(name)!;
        const c = curData.get(name)!;
        const outcome = columnDrift(name, r, c, { method: opts.method, threshold: opts.threshold });
        columns[name] = outcome.report;
        plots[name] = outcome.plot;
        quality[name] = columnQuality(r, c);
        if (outcome.approximate) approximate.push(name);
      }
      ref.release?.(refData);
      cur.release?.(curData);
    }
    const names = Object.keys(columns);
    const share = names.filter((n) => columns[n]!.drift).length / names.length;
    const report: DriftReport = {
      dataset_drift: share >= DRIFT_SHARE,
      share_drifted: share,
      columns,
      data_quality: { ...choice.quality, approximate, columns: quality },
    };
    const paths = await writeReports(resolve(cwd, opts.out), report, plots);
    // Pushed before the on-drift command (which may run for long: a retraining), so dashboards and
    // alerts see the run at once; a failed push still lets the command run, then fails the run.
    const pushed = opts.pushgateway ? await pushDriftMetrics(report, { ...opts.pushgateway }).then(() => undefined, (err: unknown) => err) : undefined;
    const onDrift = report.dataset_drift && opts.onDrift ? { command: opts.onDrift, exitCode: await runOnDrift(opts.onDrift, paths, share, cwd) } : undefined;
    if (pushed !== undefined) throw pushed;
    return { report, paths, ...(onDrift ? { onDrift } : {}), seconds: (performance.now() - started) / 1000 };
  } finally {
    releaseSortScratch();
    await reader.close();
  }
}

/** The reference as a table: a profile when it names a *.json file, else data read like the current. */
async function openReference(reader: TableReader, uri: string, cwd: string): Promise<{ table: Table; kind: "table" | "profile" }> {
  if (!/\.json$/i.test(uri)) return { table: await reader.open(uri, "reference", "--reference"), kind: "table" };
  if (/^s3:\/\//i.test(uri)) {
    const name = posix.basename(uri);
    const store = openStore(uri.slice(0, uri.length - name.length - 1));
    const dir = await mkdtemp(join(tmpdir(), "mlops-drift-profile-"));
    try {
      if (!(await store.exists(name))) throw MlopsError.of("--reference", "does not exist", uri, "Check the bucket and key of the profile.");
      await store.getFile(name, join(dir, name));
      return { table: profileTable(await readProfile(join(dir, name), "--reference"), uri), kind: "profile" };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const path = /^file:\/\//i.test(uri) ? filePath(uri, cwd) : resolve(cwd, uri);
  return { table: profileTable(await readProfile(path, "--reference"), uri), kind: "profile" };
}

/**
 * Runs the user's on-drift command through `sh -c`, exactly as given: nothing from the data or the
 * report is spliced into it (what the command needs comes in the environment: MLOPS_DRIFT_REPORT,
 * MLOPS_DRIFT_HTML, MLOPS_DRIFT_SHARE). Its output goes to this process's; resolves with its exit code.
 */
export function runOnDrift(command: string, paths: { json: string; html: string }, share: number, cwd: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn("sh", ["-c", command], {
      cwd,
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, MLOPS_DRIFT_REPORT: paths.json, MLOPS_DRIFT_HTML: paths.html, MLOPS_DRIFT_SHARE: String(share) },
    });
    child.on("error", (err) => reject(MlopsError.of("--on-drift", `could not be started (${err.message})`, command, "Check the command.")));
    child.on("exit", (code, signal) => resolvePromise(code ?? (signal ? 128 : 1)));
  });
}
