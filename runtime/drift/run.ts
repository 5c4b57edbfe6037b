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
import { columnDrift, type ColumnOutcome, type ColumnPlot, type ColumnReport } from "./column.js";
import { ColumnPool, WORKER_MIN_VALUES } from "./pool.js";
import { profileTable, readProfile } from "./profile.js";
import { pushDriftMetrics } from "./push.js";
import { chooseColumns, columnQuality, type ColumnQuality } from "./quality.js";
import { writeReports, type DriftReport } from "./report.js";
import { DRIFT_SHARE, type Method } from "./select.js";
import { releaseSortScratch } from "./stats/sort.js";
import { releaseWassersteinScratch } from "./stats/wasserstein.js";
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
  /**
   * Test numerical columns on a second thread while the next are read.
   * @default - when the two tables hold at least 4,000,000 numerical values and the machine has two cores
   */
  readonly parallel?: boolean;
}

export interface DriftResult {
  readonly report: DriftReport;
  readonly paths: { readonly json: string; readonly html: string };
  /** Set when the dataset drifted and an on-drift command was given. */
  readonly onDrift?: { readonly command: string; readonly exitCode: number };
  readonly seconds: number;
  /** Whether numerical columns were tested on a second thread. */
  readonly parallel: boolean;
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
    const { report, plots, parallel } = await compareTables(ref, cur, kind, opts);
    const paths = await writeReports(resolve(cwd, opts.out), report, plots);
    // Pushed before the on-drift command (which may run for long: a retraining), so dashboards and
    // alerts see the run at once; a failed push still lets the command run, then fails the run.
    const pushed = opts.pushgateway ? await pushDriftMetrics(report, { ...opts.pushgateway }).then(() => undefined, (err: unknown) => err) : undefined;
    const onDrift = report.dataset_drift && opts.onDrift ? { command: opts.onDrift, exitCode: await runOnDrift(opts.onDrift, paths, report.share_drifted, cwd) } : undefined;
    if (pushed !== undefined) throw pushed;
    return { report, paths, ...(onDrift ? { onDrift } : {}), seconds: (performance.now() - started) / 1000, parallel };
  } finally {
    releaseSortScratch();
    releaseWassersteinScratch();
    await reader.close();
  }
}

/**
 * The drift report of two tables, wherever they come from (files, a profile, a query over payload
 * logs): the columns to test, each column's test, data quality, and the plots for the HTML page.
 */
export async function compareTables(
  ref: Table,
  cur: Table,
  refKind: "table" | "profile",
  opts: Pick<DriftOptions, "columns" | "method" | "threshold" | "parallel"> = {},
): Promise<{ report: DriftReport; plots: Record<string, ColumnPlot>; parallel: boolean }> {
  const choice = chooseColumns(ref, cur, refKind, opts.columns);
  const options = { method: opts.method, threshold: opts.threshold };
  const outcomes = new Map<string, { outcome: ColumnOutcome; quality: ColumnQuality }>();
  const groups: string[][] = [];
  for (let i = 0; i < choice.tested.length; i += COLUMN_GROUP) groups.push(choice.tested.slice(i, i + COLUMN_GROUP));
  const numerical = choice.tested.filter((n) => ["float", "int"].includes(cur.columns.find((c) => c.name === n)!.physical)).length;
  const pool = opts.parallel ?? (ref.rows + cur.rows) * numerical >= WORKER_MIN_VALUES ? ColumnPool.open() : undefined;
  try {
    const read = (names: string[]) => Promise.all([ref.readColumns(names), cur.readColumns(names)]);
    // One group ahead: DuckDB scans the next columns on its threads while this one is tested.
    let next = read(groups[0]!);
    let testing: Promise<unknown> = Promise.resolve();
    for (let g = 0; g < groups.length; g++) {
      const [refData, curData] = await next;
      if (g + 1 < groups.length) {
        next = read(groups[g + 1]!);
        next.catch(() => undefined); // awaited next round; an error now must not go unhandled meanwhile
      }
      // The worker's previous group is done before this one goes (two groups of arrays in flight at most).
      await testing;
      const jobs: Promise<void>[] = [];
      for (const name of groups[g]!) {
        const r = refData.get(name)!;
        const c = curData.get(name)!;
        if (pool && ColumnPool.accepts(r) && ColumnPool.accepts(c)) {
          jobs.push(
            pool.run(name, r, c, options).then(({ outcome, quality, buffers }) => {
              outcomes.set(name, { outcome, quality });
              ref.recycle?.([buffers[0]!]);
              cur.recycle?.([buffers[1]!]);
            }),
          );
        } else {
          outcomes.set(name, { outcome: columnDrift(name, r, c, options), quality: columnQuality(r, c) });
        }
      }
      ref.release?.(refData);
      cur.release?.(curData);
      testing = Promise.all(jobs);
      testing.catch(() => undefined); // awaited next round
    }
    await testing;
  } finally {
    await pool?.close();
  }
  const columns: Record<string, ColumnReport> = {};
  const plots: Record<string, ColumnPlot> = {};
  const quality: Record<string, ColumnQuality> = {};
  const approximate: string[] = [];
  for (const name of choice.tested) {
    const { outcome, quality: q } = outcomes.get(name)!;
    columns[name] = outcome.report;
    plots[name] = outcome.plot;
    quality[name] = q;
    if (outcome.approximate) approximate.push(name);
  }
  const share = choice.tested.filter((n) => columns[n]!.drift).length / choice.tested.length;
  const report: DriftReport = {
    dataset_drift: share >= DRIFT_SHARE,
    share_drifted: share,
    columns,
    data_quality: { ...choice.quality, approximate, columns: quality },
  };
  return { report, plots, parallel: pool !== undefined };
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
