/**
 * report.json and report.html, each written atomically (a temp file beside the target, then a
 * rename), so a dashboard or the next job never reads half a report.
 */
import { randomBytes } from "node:crypto";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ColumnPlot, ColumnReport } from "./column.js";
import { renderHtml } from "./html.js";
import type { DataQuality } from "./quality.js";

/** report.json: the drift verdicts in exactly this shape, and data quality beside them. */
export interface DriftReport {
  dataset_drift: boolean;
  share_drifted: number;
  columns: Record<string, ColumnReport>;
  data_quality: DataQuality;
}

export const REPORT_JSON = "report.json";
export const REPORT_HTML = "report.html";

/** Writes `content` to `path` through a temp file in the same folder and a rename. */
export async function writeAtomic(path: string, content: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await writeFile(tmp, content);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * JSON has no Infinity: a chi-square statistic made infinite by a category the reference never had
 * is written as the largest double (1.7976931348623157e308).
 */
function jsonOf(report: DriftReport): string {
  return JSON.stringify(report, (_k, v: unknown) => (v === Infinity ? Number.MAX_VALUE : v === -Infinity ? -Number.MAX_VALUE : v), 2) + "\n";
}

/** Writes both files into `outDir` (created if needed); returns their paths. */
export async function writeReports(
  outDir: string,
  report: DriftReport,
  plots: Readonly<Record<string, ColumnPlot>>,
): Promise<{ json: string; html: string }> {
  await mkdir(outDir, { recursive: true });
  const json = join(outDir, REPORT_JSON);
  const html = join(outDir, REPORT_HTML);
  await writeAtomic(html, renderHtml({ ...report, plots, generated: new Date().toISOString() }));
  await writeAtomic(json, jsonOf(report));
  return { json, html };
}
