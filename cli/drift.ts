import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { MlopsError } from "../src/errors.js";
import { numberFlag, parse, positionals } from "./args.js";

const USAGE =
  "mlops drift --reference <uri|profile.json> --current <uri> --out <dir> [--columns a,b] [--method ks|chisquare|z|wasserstein|jensenshannon|psi] " +
  '[--threshold x] [--pushgateway <url>] [--push-job <name>] [--on-drift "<command>"]\n' +
  "       mlops drift profile <uri> --out <profile.json>";

const OPTIONS = {
  reference: { type: "string" },
  current: { type: "string" },
  out: { type: "string" },
  columns: { type: "string" },
  method: { type: "string" },
  threshold: { type: "string" },
  pushgateway: { type: "string" },
  "push-job": { type: "string" },
  "on-drift": { type: "string" },
} as const;

/**
 * `mlops drift`: exit 0 when the dataset did not drift, 3 when it did (2 for bad input, from main).
 * `mlops drift profile`: writes a reference profile of a table.
 */
export async function driftCommand(argv: string[], out: (s: string) => void): Promise<number> {
  if (argv[0] === "profile") return profileCommand(argv.slice(1), out);
  const { values, positionals: pos } = parse(argv, OPTIONS, USAGE);
  positionals(pos, [], USAGE);
  const need = (flag: "reference" | "current" | "out"): string => {
    const v = values[flag];
    if (!v) throw new MlopsError(`--${flag} is required\nusage: ${USAGE}`);
    return v;
  };
  const runtime = await import("../runtime/drift/index.js");
  const { parseMethod } = await import("../runtime/drift/select.js");
  const columns = values.columns?.split(",").map((c) => c.trim()).filter(Boolean);
  if (values.columns !== undefined && (!columns || columns.length === 0)) {
    throw MlopsError.of("--columns", "names no column", values.columns, "Write --columns a,b (comma-separated names).");
  }
  const threshold = values.threshold === undefined ? undefined : numberFlag(values.threshold, "threshold", 0.05, Number.MIN_VALUE);
  const result = await runtime.runDrift({
    reference: need("reference"),
    current: need("current"),
    out: need("out"),
    columns,
    method: parseMethod(values.method),
    threshold,
    pushgateway: values.pushgateway ? { url: values.pushgateway, job: values["push-job"] } : undefined,
    onDrift: values["on-drift"],
  });
  const r = result.report;
  const names = Object.keys(r.columns);
  const drifted = names.filter((n) => r.columns[n]!.drift);
  const q = r.data_quality;
  if (q.missing_columns.length) process.stderr.write(`warning: columns missing from the current data: ${q.missing_columns.join(", ")}\n`);
  if (q.approximate.length) process.stderr.write(`note: scored from the profile's sketch (approximate): ${q.approximate.join(", ")}\n`);
  out(`dataset drift: ${r.dataset_drift ? "yes" : "no"} (${drifted.length} of ${names.length} columns drifted, share ${r.share_drifted.toFixed(3)})`);
  const width = Math.max(...names.map((n) => n.length));
  for (const n of names) {
    const c = r.columns[n]!;
    const score = c.p_value !== null ? `p=${fmt(c.p_value)} (stat ${fmt(c.statistic)})` : fmt(c.statistic);
    out(`  ${n.padEnd(width)}  ${c.type.padEnd(11)}  ${c.test.padEnd(13)}  ${score}  threshold ${c.threshold}  ${c.drift ? "DRIFT" : "ok"}`);
  }
  out(`report: ${result.paths.json}`);
  out(`html:   ${result.paths.html}`);
  if (result.onDrift) out(`on-drift: ${JSON.stringify(result.onDrift.command)} exited ${result.onDrift.exitCode}`);
  return r.dataset_drift ? 3 : 0;
}

const PROFILE_USAGE = "mlops drift profile <uri> --out <profile.json>";

async function profileCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals: pos } = parse(argv, { out: { type: "string" } }, PROFILE_USAGE);
  const [uri] = positionals(pos, ["uri"], PROFILE_USAGE);
  if (!values.out) throw new MlopsError(`--out is required\nusage: ${PROFILE_USAGE}`);
  const { buildProfile, writeAtomic } = await import("../runtime/drift/index.js");
  const profile = await buildProfile(uri!);
  const path = resolve(values.out);
  await mkdir(dirname(path), { recursive: true });
  await writeAtomic(path, JSON.stringify(profile) + "\n");
  out(`profile: ${path} (${profile.rows} rows, ${Object.keys(profile.columns).length} columns)`);
  return 0;
}

const fmt = (x: number): string => (x === Infinity || x > 1e300 ? "inf" : x !== 0 && (Math.abs(x) < 1e-4 || Math.abs(x) >= 1e6) ? x.toExponential(3) : x.toFixed(4));
