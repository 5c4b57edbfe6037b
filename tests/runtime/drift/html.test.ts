/**
 * report.html: self-contained (nothing fetched from anywhere), and it renders: loaded in Debian's
 * headless Chromium, the screenshot holds the per-column table's text and both histogram colours.
 * Needs `apt-get install -y chromium`.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDrift } from "../../../runtime/drift/index.js";
import { generate } from "./oracle.js";
import { countColor, decodePng, distinctColors } from "./png.js";

const run = promisify(execFile);
const REFERENCE_BARS = "#4c78a8";
const CURRENT_BARS = "#f58518";

let dir: string;
let html: string;
let report: Awaited<ReturnType<typeof runDrift>>["report"];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-drift-html-"));
  await mkdir(join(dir, "data"));
  const t = await generate("small", join(dir, "data"));
  const r = await runDrift({ reference: t.reference, current: t.current, out: join(dir, "out") });
  html = await readFile(r.paths.html, "utf8");
  report = r.report;
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("report.html", () => {
  it("is self-contained: no scripts, stylesheets, images or fonts from anywhere", () => {
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    // The only URL is the SVG namespace, an identifier that is never fetched.
    expect(html.match(/https?:\/\/[^"'\s)]+/g)?.every((u) => u === "http://www.w3.org/2000/svg")).toBe(true);
  });

  it("has one table row and one inline SVG chart per column, with its test and verdict", () => {
    for (const [name, c] of Object.entries(report.columns)) {
      expect(html).toContain(`<section id="col-${name}">`);
      expect(html).toMatch(new RegExp(`<td><a href="#col-${name}">${name}</a></td><td>${c.type}</td><td>${c.test}</td>`));
    }
    expect(html.match(/<svg /g)).toHaveLength(Object.keys(report.columns).length);
  });

  it("renders in headless Chromium: the screenshot is not blank and shows both histograms' bars", async () => {
    const shot = join(dir, "shot.png");
    await run(
      "chromium",
      ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1400,2400", `--screenshot=${shot}`, pathToFileURL(join(dir, "out", "report.html")).href],
      { timeout: 90_000 },
    );
    const img = decodePng(await readFile(shot));
    expect(img.width).toBe(1400);
    expect(distinctColors(img)).toBeGreaterThan(50);
    expect(countColor(img, REFERENCE_BARS)).toBeGreaterThan(500);
    expect(countColor(img, CURRENT_BARS)).toBeGreaterThan(500);
  }, 120_000);
});
