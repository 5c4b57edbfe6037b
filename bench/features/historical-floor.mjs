// The floor `npm run bench:features` holds `mlops features historical` to: the least any point-in-time
// join by hash in DuckDB does with these files, as one process like ours (node's start, DuckDB's start):
// load the entity file, and per view scan its rows and probe each against the entity rows' (key,
// TTL-wide bucket) entries (the smaller side built), carrying the features of the pairs within the TTL
// (counted, not ranked: no winner is picked, nothing is put back in input order), then write the entity
// rows to Parquet. What ours spends beyond this is picking winners, ordering and the feature columns.
//
//   node bench/features/historical-floor.mjs <entities.parquet> <out.parquet> <view.parquet>:<ttl s>:<feature,…> …
// Prints one JSON line: the pairs within the TTL per view, seconds per step.
import { DuckDBInstance } from "@duckdb/node-api";

const [entities, out, ...views] = process.argv.slice(2);
if (!entities || !out || views.length === 0) {
  console.error("usage: historical-floor.mjs <entities.parquet> <out.parquet> <view.parquet>:<ttl s>:<feature,…> …");
  process.exit(2);
}
const q = (s) => `'${s.replaceAll("'", "''")}'`;
const instance = await DuckDBInstance.create(":memory:");
const conn = await instance.connect();
const steps = {};
let t = performance.now();
const step = (name) => {
  const now = performance.now();
  steps[name] = Number(((now - t) / 1000).toFixed(3));
  t = now;
};
await conn.run("SET TimeZone = 'UTC'");
await conn.run(`CREATE TEMP TABLE e AS SELECT file_row_number AS __r, * EXCLUDE (file_row_number) FROM read_parquet(${q(entities)}, file_row_number = true)`);
const entityRows = Number((await conn.runAndReadAll("SELECT count(*) FROM e")).getRows()[0][0]);
step("entities");
const pairs = {};
await conn.run("SET disabled_optimizers = 'build_side_probe_side'");
for (const v of views) {
  const [path, ttlText, features] = v.split(":");
  const width = Number(ttlText) * 1_000_000;
  const viewRows = Number((await conn.runAndReadAll(`SELECT sum(num_rows) FROM parquet_file_metadata(${q(path)})`)).getRows()[0][0]);
  const bucket = (ts) => `epoch_us(${ts}) // ${width}`;
  const fs = features.split(",");
  const R = `SELECT customer_id, event_timestamp AS __e, ${bucket("event_timestamp")} AS __b, ${fs.join(", ")} FROM read_parquet(${q(path)})`;
  const L = `SELECT __r, event_timestamp AS __t, customer_id, unnest([__b, __b - 1]) AS __b FROM (SELECT *, ${bucket("event_timestamp")} AS __b FROM e)`;
  const sides = viewRows < 2 * entityRows ? `(${L}) L JOIN (${R}) R` : `(${R}) R JOIN (${L}) L`;
  const on = `L.customer_id = R.customer_id AND L.__b = R.__b AND R.__e <= L.__t AND R.__e >= L.__t - to_seconds(${Number(ttlText)})`;
  const [row] = (await conn.runAndReadAll(`SELECT count(*), ${fs.map((f) => `count(R.${f})`).join(", ")} FROM ${sides} ON ${on}`)).getRows();
  pairs[path.split("/").pop()] = Number(row[0]);
  step(path.split("/").pop());
}
await conn.run("RESET disabled_optimizers");
await conn.run(`COPY (SELECT * EXCLUDE (__r) FROM e) TO ${q(out)} (FORMAT PARQUET)`);
step("write");
conn.closeSync();
instance.closeSync();
console.log(JSON.stringify({ pairs, steps }));
