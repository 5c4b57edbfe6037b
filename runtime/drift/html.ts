/**
 * The drift report as one self-contained HTML page: no scripts, fonts or images from anywhere, inline
 * CSS and one inline SVG bar chart per column (reference and current shares side by side), after a
 * summary and a per-column table. Its size depends on the number of columns, never on the rows.
 */
import type { ColumnPlot, ColumnReport } from "./column.js";
import type { DataQuality } from "./quality.js";

export interface HtmlInput {
  readonly dataset_drift: boolean;
  readonly share_drifted: number;
  readonly columns: Readonly<Record<string, ColumnReport>>;
  readonly data_quality: DataQuality;
  readonly plots: Readonly<Record<string, ColumnPlot>>;
  readonly generated: string;
}

const REF_COLOR = "#4c78a8";
const CUR_COLOR = "#f58518";

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const num = (x: number | null): string => (x === null ? "–" : Math.abs(x) !== 0 && (Math.abs(x) < 1e-4 || Math.abs(x) >= 1e6) ? x.toExponential(3) : x.toFixed(4));

export function renderHtml(r: HtmlInput): string {
  const names = Object.keys(r.columns);
  const drifted = names.filter((n) => r.columns[n]!.drift).length;
  const q = r.data_quality;
  const verdict = r.dataset_drift ? `<span class="bad">Dataset drift detected</span>` : `<span class="ok">No dataset drift</span>`;
  const rows = names
    .map((n) => {
      const c = r.columns[n]!;
      const cq = q.columns[n];
      const notes = [
        cq?.unseen_categories ? `${cq.unseen_categories.count} unseen categor${cq.unseen_categories.count === 1 ? "y" : "ies"}` : "",
        q.approximate.includes(n) ? "from profile sketch" : "",
        cq?.text_like ? "text-like" : "",
      ].filter(Boolean);
      return `<tr class="${c.drift ? "drift" : ""}"><td><a href="#col-${esc(anchor(n))}">${esc(n)}</a></td><td>${c.type}</td><td>${c.test}</td><td>${num(c.statistic)}</td><td>${num(c.p_value)}</td><td>${num(c.threshold)}</td><td>${c.drift ? "<b>drift</b>" : "ok"}</td><td>${num(cq?.reference_null_rate ?? 0)} / ${num(cq?.current_null_rate ?? 0)}</td><td>${esc(notes.join("; "))}</td></tr>`;
    })
    .join("\n");
  const charts = names.map((n) => `<section id="col-${esc(anchor(n))}"><h3>${esc(n)} <small>${r.columns[n]!.test} ${num(r.columns[n]!.statistic)}${r.columns[n]!.drift ? " · drift" : ""}</small></h3>${chart(r.plots[n]!)}</section>`).join("\n");
  const list = (title: string, items: string[]) => (items.length ? `<p><b>${title}:</b> ${items.map(esc).join(", ")}</p>` : "");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Drift report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 8px} h2{font-size:17px;margin:24px 0 8px} h3{font-size:15px;margin:16px 0 4px}
small{color:#666;font-weight:normal} .ok{color:#1a7f37} .bad{color:#cf222e}
table{border-collapse:collapse;margin:8px 0} th,td{border:1px solid #ddd;padding:4px 8px;text-align:left}
th{background:#f3f4f6} tr.drift td{background:#fff1f0} .legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
section{display:inline-block;vertical-align:top;margin:0 16px 16px 0}
</style></head><body>
<h1>Drift report</h1>
<p>${verdict}: ${drifted} of ${names.length} columns drifted (share ${num(r.share_drifted)}; dataset drift at ≥ 0.5).</p>
<p>Reference: ${esc(q.reference.uri)} (${q.reference.rows} rows${q.reference.kind === "profile" ? ", profile" : ""}) · Current: ${esc(q.current.uri)} (${q.current.rows} rows) · ${esc(r.generated)}</p>
${list("Missing from current", q.missing_columns)}${list("New in current", q.extra_columns)}${list("Type changes", q.type_changes.map((t) => `${t.column} (${t.reference} → ${t.current})`))}${list("Not tested", q.not_tested.map((t) => `${t.column} (${t.reason})`))}
<h2>Columns</h2>
<table><thead><tr><th>column</th><th>type</th><th>test</th><th>statistic</th><th>p-value</th><th>threshold</th><th>result</th><th>null rate ref / cur</th><th>notes</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<h2>Distributions</h2>
<p class="legend"><span style="background:${REF_COLOR}"></span>reference<span style="background:${CUR_COLOR}"></span>current (share of rows per bin or category)</p>
${charts}
</body></html>
`;
}

const anchor = (n: string): string => n.replace(/[^A-Za-z0-9_-]/g, "_");

/** Grouped bars: one pair per bin/category, y = share of rows. */
function chart(p: ColumnPlot): string {
  const W = 420;
  const H = 180;
  const left = 36;
  const bottom = 40;
  const top = 8;
  const k = p.labels.length;
  const max = Math.max(1e-12, ...p.reference, ...p.current);
  const plotW = W - left - 8;
  const plotH = H - top - bottom;
  const slot = plotW / Math.max(k, 1);
  const bar = Math.max(1, slot * 0.42);
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const bars: string[] = [];
  for (let i = 0; i < k; i++) {
    const x = left + i * slot + slot * 0.08;
    const r = p.reference[i]!;
    const c = p.current[i]!;
    bars.push(`<rect x="${x.toFixed(1)}" y="${y(r).toFixed(1)}" width="${bar.toFixed(1)}" height="${(top + plotH - y(r)).toFixed(1)}" fill="${REF_COLOR}"><title>${esc(p.labels[i]!)} reference ${(r * 100).toFixed(2)}%</title></rect>`);
    bars.push(`<rect x="${(x + bar).toFixed(1)}" y="${y(c).toFixed(1)}" width="${bar.toFixed(1)}" height="${(top + plotH - y(c)).toFixed(1)}" fill="${CUR_COLOR}"><title>${esc(p.labels[i]!)} current ${(c * 100).toFixed(2)}%</title></rect>`);
  }
  const every = Math.ceil(k / 8);
  const ticks = p.edges
    ? [0, Math.floor(k / 2), k].map((i) => `<text x="${(left + i * slot).toFixed(1)}" y="${H - bottom + 14}" font-size="10" text-anchor="middle">${esc(short(p.edges![i]!))}</text>`)
    : p.labels
        .map((l, i) => (i % every === 0 ? `<text x="${(left + i * slot + slot / 2).toFixed(1)}" y="${H - bottom + 12}" font-size="10" text-anchor="end" transform="rotate(-30 ${(left + i * slot + slot / 2).toFixed(1)} ${H - bottom + 12})">${esc(l.length > 14 ? l.slice(0, 13) + "…" : l)}</text>` : ""))
        .filter(Boolean);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img">
<line x1="${left}" y1="${top + plotH}" x2="${W - 8}" y2="${top + plotH}" stroke="#999"/><line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#999"/>
<text x="${left - 4}" y="${top + 8}" font-size="10" text-anchor="end">${(max * 100).toFixed(0)}%</text><text x="${left - 4}" y="${top + plotH}" font-size="10" text-anchor="end">0</text>
${bars.join("")}${ticks.join("")}</svg>`;
}

const short = (x: number): string => (Math.abs(x) >= 1e5 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(2) : String(Number(x.toPrecision(4))));
