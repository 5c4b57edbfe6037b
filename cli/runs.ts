import { MlopsError } from "../src/errors.js";
import { defaultRegistryUri } from "../src/registry/index.js";
import { checkRunId, finalMetrics, listRuns, requireRun } from "../src/runs/store.js";
import type { RunRecord } from "../src/runs/types.js";
import { openStore } from "../src/store/index.js";
import { HelpRequested, parse, positionals } from "./args.js";
import { table } from "./registry.js";

const USAGE = {
  list: "mlops runs list <model> [--registry <uri>] [--json]",
  show: "mlops runs show <run> [--registry <uri>] [--json]",
  compare: "mlops runs compare <run> <run>… [--registry <uri>] [--json]",
};
const FLAGS = { registry: { type: "string" }, json: { type: "boolean" } } as const;

/** `mlops runs`: the training runs recorded in a registry (src/runs). */
export async function runsCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "--help" || sub === "-h" || sub === "help") throw new HelpRequested(Object.values(USAGE).join("\n       "));
  switch (sub) {
    case "list":
      return list(rest, out);
    case "show":
      return show(rest, out);
    case "compare":
      return compare(rest, out);
    default:
      throw new MlopsError(`unknown runs command ${JSON.stringify(sub ?? "")}\nusage:\n  ${Object.values(USAGE).join("\n  ")}`);
  }
}

const storeOf = (registry: string | undefined) => openStore(registry ?? defaultRegistryUri());

async function list(argv: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals: pos } = parse(argv, FLAGS, USAGE.list);
  const [model] = positionals(pos, ["model"], USAGE.list);
  const store = storeOf(values.registry);
  const runs = await listRuns(store, model!);
  if (values.json) {
    out(JSON.stringify({ model, runs }, null, 2));
    return 0;
  }
  if (runs.length === 0) {
    out(`no runs of model "${model}" in ${store.uri}`);
    return 0;
  }
  const rows = runs.map((r) => [
    r.runId,
    r.status,
    r.version !== undefined ? String(r.version) : "",
    r.startedAt,
    r.durationSeconds !== undefined ? `${r.durationSeconds}s` : "",
    Object.entries(finalMetrics(r))
      .filter(([k]) => !k.startsWith("trainer_"))
      .map(([k, v]) => `${k}=${fmt(v)}`)
      .join(" "),
  ]);
  out(table(["RUN", "STATUS", "VERSION", "STARTED", "DURATION", "METRICS"], rows));
  return 0;
}

async function show(argv: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals: pos } = parse(argv, FLAGS, USAGE.show);
  const [id] = positionals(pos, ["run"], USAGE.show);
  const run = await requireRun(storeOf(values.registry), checkRunId(id!));
  if (values.json) {
    out(JSON.stringify(run, null, 2));
    return 0;
  }
  const lines = [
    `run       ${run.runId}`,
    `model     ${run.model}`,
    `status    ${run.status}${run.version !== undefined ? ` (version ${run.version})` : ""}`,
    `started   ${run.startedAt}`,
    ...(run.endedAt ? [`ended     ${run.endedAt} (${run.durationSeconds}s)`] : []),
    ...(run.datasetDigest ? [`dataset   ${run.datasetDigest}`] : []),
    ...(run.trainingSet ? [`training set ${run.trainingSet.name}:${run.trainingSet.version} (${run.trainingSet.digest})`] : []),
    ...(run.codeRevision ? [`code      ${run.codeRevision}`] : []),
    ...(run.imageDigest ? [`image     ${run.imageDigest}`] : []),
    ...(run.error ? [`error     ${run.error}`] : []),
    "",
    "params",
    ...Object.entries(run.params).map(([k, v]) => `  ${k} = ${v}`),
    "",
    "metrics (final value, points logged)",
    ...Object.entries(run.metrics).map(([k, pts]) => `  ${k} = ${fmt(pts[pts.length - 1]!.value)} (${pts.length} point${pts.length === 1 ? "" : "s"}, steps ${pts[0]!.step}…${pts[pts.length - 1]!.step})`),
  ];
  if (run.gate) {
    lines.push("", `gate      ${run.gate.passed ? "passed" : "failed"}`);
    for (const c of run.gate.checks) lines.push(`  ${c.passed ? "ok  " : "FAIL"} ${c.metric} ${c.value === null ? "(none)" : fmt(c.value)} ${c.op} ${fmt(c.bound)}`);
  }
  out(lines.join("\n"));
  return 0;
}

/** One row per param and final metric, one column per run; a row whose values differ is marked `*`. */
export function compareTable(runs: readonly RunRecord[]): { rows: { kind: "param" | "metric"; name: string; values: (string | number | null)[]; differs: boolean }[] } {
  const rows: { kind: "param" | "metric"; name: string; values: (string | number | null)[]; differs: boolean }[] = [];
  const names = (pick: (r: RunRecord) => Record<string, unknown>) => [...new Set(runs.flatMap((r) => Object.keys(pick(r))))].sort();
  for (const name of names((r) => r.params)) {
    const values = runs.map((r) => r.params[name] ?? null);
    rows.push({ kind: "param", name, values, differs: new Set(values).size > 1 });
  }
  const finals = runs.map((r) => finalMetrics(r));
  for (const name of names((r) => r.metrics)) {
    const values = finals.map((f) => f[name] ?? null);
    rows.push({ kind: "metric", name, values, differs: new Set(values).size > 1 });
  }
  return { rows };
}

async function compare(argv: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals: pos } = parse(argv, FLAGS, USAGE.compare);
  if (pos.length < 2) throw new MlopsError(`give at least two runs to compare (received ${pos.length})\nusage: ${USAGE.compare}`);
  // Every id checked before any read starts: a bad one must not leave a read's rejection unhandled.
  const ids = pos.map((id) => checkRunId(id));
  const store = storeOf(values.registry);
  const runs = await Promise.all(ids.map((id) => requireRun(store, id)));
  const { rows } = compareTable(runs);
  const header = { runs: runs.map((r) => ({ runId: r.runId, model: r.model, status: r.status, ...(r.version !== undefined ? { version: r.version } : {}) })) };
  if (values.json) {
    out(JSON.stringify({ ...header, rows }, null, 2));
    return 0;
  }
  const cell = (v: string | number | null) => (v === null ? "-" : typeof v === "number" ? fmt(v) : v);
  const body = [
    ["status", ...runs.map((r) => r.status), ""],
    ["version", ...runs.map((r) => (r.version !== undefined ? String(r.version) : "-")), ""],
    ...rows.map((r) => [`${r.kind === "param" ? "param" : "metric"} ${r.name}`, ...r.values.map(cell), r.differs ? "*" : ""]),
  ];
  out(table(["", ...runs.map((r) => r.runId), "DIFF"], body));
  return 0;
}

const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6))));
