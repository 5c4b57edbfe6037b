// The report of `npm run bench:features`: markdown tables (stdout and .bench/features-<stamp>.md) and the
// bars of issue 9 section 7, each PASS or MISS.
import type { Measured } from "../serve/report.js";
import type { HistoricalResult } from "./historical.js";
import type { MaterializeResult } from "./materialize.js";
import type { RedisBenchResult } from "./measure.js";
import type { OnlineResult } from "./online.js";

/** A bar: `value` must reach `target` (at least, or at most). */
export interface Bar {
  readonly name: string;
  readonly value?: number;
  readonly target: number;
  readonly atMost?: boolean;
  /** How value and target print: a ratio (×) or milliseconds. */
  readonly unit: "x" | "ms";
}

export const passes = (b: Bar): boolean | undefined => (b.value === undefined || !Number.isFinite(b.value) ? undefined : b.atMost ? b.value <= b.target : b.value >= b.target);

export function verdict(b: Bar): string {
  const ok = passes(b);
  if (ok === undefined) return "NOT MEASURED";
  if (ok) return "PASS";
  const share = b.atMost ? b.target / b.value! : b.value! / b.target;
  return `MISS (${(share * 100).toFixed(0)}% of the bar)`;
}

const fmt = (v: number, unit: Bar["unit"]): string => (unit === "x" ? `${v.toFixed(2)}×` : `${v.toFixed(2)} ms`);
const int = (v: number): string => Math.round(v).toLocaleString("en-US");
const ms = (v: number): string => (v < 1 ? `${(v * 1000).toFixed(0)} µs` : `${v.toFixed(2)} ms`);
const s = (v: number): string => `${v.toFixed(2)} s`;

export function barTable(bars: readonly Bar[]): string[] {
  return [
    "| bar | measured | target | result |",
    "| --- | ---: | ---: | --- |",
    ...bars.map((b) => `| ${b.name} | ${b.value === undefined ? "–" : fmt(b.value, b.unit)} | ${b.atMost ? "≤" : "≥"} ${fmt(b.target, b.unit)} | ${verdict(b)} |`),
  ];
}

const rps = (m: Measured | undefined): number | undefined => m?.result?.requestsPerSec;
const div = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined || b === 0 ? undefined : a / b);

export function onlineBars(r: OnlineResult): Bar[] {
  const [ours1, py1, ours100, py100] = r.servers;
  return [
    { name: "online, 1 entity × 50 features: ours / FastAPI + redis-py, req/s", value: div(rps(ours1), rps(py1)), target: 5, unit: "x" },
    { name: `online, 1 entity × 50 features: our p99 at wrk -c${ours1?.connections ?? "?"}`, value: ours1?.result?.p99Ms, target: 1, atMost: true, unit: "ms" },
    { name: "online, 1 entity × 50 features: our p99 at wrk -c1 (one request at a time: unloaded)", value: r.unloaded?.[0]?.result?.p99Ms, target: 1, atMost: true, unit: "ms" },
    { name: "online, 100 entities × 50 features: ours / FastAPI + redis-py, req/s", value: div(rps(ours100), rps(py100)), target: 5, unit: "x" },
  ];
}

/** Seconds our command spent in its views (reading each source and joining it): the part pandas' timed join matches. */
export const viewSeconds = (run: HistoricalResult["ours"]) => run.views.reduce((sum, v) => sum + v.seconds, 0);

export function historicalBars(r: HistoricalResult): Bar[] {
  return [{ name: "historical: pandas merge_asof seconds / ours (whole command)", value: r.pandas.joinS / r.ours.wallS, target: 5, unit: "x" }];
}

export function materializeBars(r: MaterializeResult): Bar[] {
  return [
    { name: `materialize ${int(r.ours.rows)} rows: ours / bare pipelined HSET, rows/s`, value: r.ours.rowsPerS / r.bare.rowsPerS, target: 0.5, unit: "x" },
    { name: `materialize: peak RSS at ${int(r.ours.rows)} rows / at ${int(r.oursSmall.rows)}`, value: r.ours.maxRssMiB / r.oursSmall.maxRssMiB, target: 1.5, atMost: true, unit: "x" },
  ];
}

function floorRow(label: string, f: RedisBenchResult, connections: number, perRequest: number): string {
  return `| ${label} | ${connections} | ${int(f.rps / perRequest)} | ${ms(f.p50Ms)} | ${ms(f.p99Ms)} | | | |`;
}

export function onlineSection(r: OnlineResult, connections: number): string[] {
  const lines = [
    "| server | conns | req/s | p50 | p99 | requests | errors | server CPU per request |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const m of [...r.servers, ...(r.unloaded ?? []), ...(r.httpFloor ?? [])]) {
    const w = m.result;
    if (!w) {
      lines.push(`| ${m.label} | ${m.connections} | failed | | | | ${m.error?.split("\n")[0] ?? "not run"} |`);
      continue;
    }
    const rounds = m.perRound ? ` (rounds: ${m.perRound.map(int).join(", ")})` : "";
    const cpu = m.cpuNsPerRequest === undefined ? "–" : `${(m.cpuNsPerRequest / 1000).toFixed(0)} µs`;
    lines.push(`| ${m.label} | ${m.connections} | ${int(w.requestsPerSec)}${rounds} | ${ms(w.p50Ms)} | ${ms(w.p99Ms)} | ${int(w.requests)} | ${w.non2xx + w.socketErrors} | ${cpu} |`);
  }
  lines.push(floorRow("Redis floor: redis-benchmark HMGET of 51 fields", r.floor1, connections, 1));
  lines.push(floorRow("Redis floor: 100 HMGETs pipelined (req/s = HMGET/s ÷ 100)", r.floor100, connections, 100));
  const [ours1, , ours100] = r.servers;
  const share = (m: Measured | undefined, f: RedisBenchResult, per: number) => (m?.result ? `${((100 * m.result.requestsPerSec * per) / f.rps).toFixed(0)}%` : "–");
  lines.push("", `Ours as a share of the Redis floor: 1 entity ${share(ours1, r.floor1, 1)}, 100 entities ${share(ours100, r.floor100, 100)}.`);
  // Little's law: with c requests always in flight, mean latency = c / throughput, however fast each step.
  const little = (perS: number | undefined) => (perS ? ms((1000 * connections) / perS) : "–");
  lines.push(
    "",
    `Little's law at c=${connections} (wrk keeps ${connections} requests in flight, so mean latency = ${connections} / throughput): ours at ${int(rps(ours1) ?? 0)} req/s means ${little(rps(ours1))}; ` +
      `at the Redis floor's ${int(r.floor1.rps)} HMGET/s it would be ${little(r.floor1.rps)} (the floor's own p50 ${ms(r.floor1.p50Ms)}, p99 ${ms(r.floor1.p99Ms)}). ` +
      `A p99 ≤ 1 ms at c=${connections} needs at least ${int(connections * 1000)} answers/s even with zero queuing (the bare HMGET floor: ${int(r.floor1.rps)}/s); the c=1 rows show one request's own latency.`,
  );
  const [floorLoaded, floorOne] = r.httpFloor ?? [];
  const p99 = (m: Measured | undefined) => (m?.result ? ms(m.result.p99Ms) : "–");
  if (floorLoaded?.result || floorOne?.result) {
    lines.push(
      "",
      `The HTTP floor (bare node:http answering our 1-entity answer's bytes, nothing looked up): p99 ${p99(floorLoaded)} at c=${connections} (${int(rps(floorLoaded) ?? 0)} req/s), ${p99(floorOne)} at c=1; ` +
        `ours ${p99(ours1)} and ${p99(r.unloaded?.[0])}. What the floor's p99 leaves of 1 ms is all any node:http server could spend on a lookup on this machine.`,
    );
  }
  return lines;
}

export function historicalSection(r: HistoricalResult): string[] {
  const c = r.comparison;
  return [
    "| side | timed | seconds | CPU seconds | peak RSS |",
    "| --- | --- | ---: | ---: | ---: |",
    `| mlops features historical | the whole command (start, read Parquet, join, write Parquet) | ${s(r.ours.wallS)} | ${s(r.ours.cpuS)} | ${int(r.ours.maxRssMiB)} MiB |`,
    `| mlops, of which | each view: reading its Parquet and joining (${r.ours.views.map((v) => `${v.view} ${v.join} ${s(v.seconds)}`).join(", ")}) | ${s(viewSeconds(r.ours))} | | |`,
    `| mlops features historical --join asof | the same command, every view by DuckDB's ASOF join (views: ${r.oursAsof.views.map((v) => `${v.view} ${s(v.seconds)}`).join(", ")}) | ${s(r.oursAsof.wallS)} | ${s(r.oursAsof.cpuS)} | ${int(r.oursAsof.maxRssMiB)} MiB |`,
    ...(r.floor
      ? [
          `| DuckDB floor (historical-floor.mjs), for reference | as a process: load the entities; per view scan it and probe every row against the entity rows' (key, bucket) entries, features carried, no winner picked (${Object.entries(r.floor.steps).map(([k, v]) => `${k} ${s(v)}`).join(", ")}); write the entity rows | ${s(r.floor.wallS)} | ${s(r.floor.cpuS)} | ${int(r.floor.maxRssMiB)} MiB |`,
        ]
      : []),
    `| pandas merge_asof (${r.pandas.version}) | sorts, two merge_asof, back to input order | ${s(r.pandas.joinS)} | ${s(r.pandas.joinCpuS)} | ${int(r.pandas.maxRssMiB)} MiB (process) |`,
    `| pandas, for reference | loading the CSVs / writing the answer (not counted) | ${s(r.pandas.loadS)} / ${s(r.pandas.writeS)} | | |`,
    `| mlops, for reference | starting the compiled command (\`mlops features --help\`), counted in ours | ${s(r.cliStart.wallS)} | ${s(r.cliStart.cpuS)} | |`,
    "",
    `CPU seconds, pandas join / ours: ${(r.pandas.joinCpuS / r.ours.cpuS).toFixed(2)}× (ours uses every core; pandas one).`,
    "",
    `Not the bar, the joins alone: pandas' merge_asof seconds / our views' seconds (reading each Parquet source and joining; no start, entity load or write) ${(r.pandas.joinS / viewSeconds(r.ours)).toFixed(2)}×; ` +
      `the whole command with the hash join / with \`--join asof\`: ${(r.oursAsof.wallS / r.ours.wallS).toFixed(2)}× faster (views ${(viewSeconds(r.oursAsof) / viewSeconds(r.ours)).toFixed(2)}×).`,
    ...(r.floor
      ? [
          "",
          `The floor: pandas' merge_asof seconds / the DuckDB floor's whole process ${(r.pandas.joinS / r.floor.wallS).toFixed(2)}× (the most a hash join in DuckDB over these files could reach on this machine); ours / the floor ${(r.ours.wallS / r.floor.wallS).toFixed(2)}× its time.`,
        ]
      : []),
    "",
    `Answers: ${int(c.rows.ours)} rows ours, ${int(c.rows.pandas)} pandas; ${c.mismatches} rows differ; ${c.inputMismatches} input rows not kept as given; ` +
      `digest ours ${c.digest.ours.slice(0, 12)}…, pandas ${c.digest.pandas.slice(0, 12)}…; rows matched: view a ${int(c.matched.a)}, view b ${int(c.matched.b)}. ` +
      (r.identical ? "**Identical.**" : "**NOT identical.**"),
  ];
}

export function materializeSection(r: MaterializeResult): string[] {
  return [
    "| writer | rows | seconds | CPU seconds | rows/s | peak RSS |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    `| mlops features materialize | ${int(r.oursSmall.rows)} | ${s(r.oursSmall.wallS)} | ${s(r.oursSmall.cpuS)} | ${int(r.oursSmall.rowsPerS)} | ${int(r.oursSmall.maxRssMiB)} MiB |`,
    `| mlops features materialize | ${int(r.ours.rows)} | ${s(r.ours.wallS)} | ${s(r.ours.cpuS)} | ${int(r.ours.rowsPerS)} | ${int(r.ours.maxRssMiB)} MiB |`,
    `| bare pipelined HSET (bare-hset.mjs; writing alone ${s(r.bare.writeS)}) | ${int(r.bare.rows)} | ${s(r.bare.wallS)} | ${s(r.bare.cpuS)} | ${int(r.bare.rowsPerS)} | ${int(r.bare.maxRssMiB)} MiB |`,
    "",
    `Keys in Redis after each: ours ${int(r.keys.ours)}, bare ${int(r.keys.bare)}; ${r.sampled} sampled hashes ${r.sameHashes ? "equal field for field" : "**DIFFER**"}.`,
  ];
}
