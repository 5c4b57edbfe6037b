// The floor `npm run bench:features` holds materialization to: the same hashes `mlops features materialize`
// writes for view m (bench/features/data.ts), written with plain pipelined HSETs and nothing else: no
// source to read, no newest-wins comparison, no script. node-redis pipelines the commands issued in one
// tick; a chunk of them is in flight at a time, as materialize keeps one chunk of rows in flight.
//
//   node bench/features/bare-hset.mjs <redis port> <rows> <key prefix> <view> <chunk rows>
// Prints one JSON line: rows, seconds (from connected to the last reply).
import { createClient } from "redis";

const [port, rowsText, prefix, view, chunkText] = process.argv.slice(2);
const rows = Number(rowsText);
const chunk = Number(chunkText);
if (!port || !Number.isInteger(rows) || rows < 1 || !prefix || !view || !Number.isInteger(chunk) || chunk < 1) {
  console.error("usage: bare-hset.mjs <redis port> <rows> <key prefix> <view> <chunk rows>");
  process.exit(2);
}
// Keep in step with M_FORMULAS in data.ts (a .mjs so it runs without a TypeScript loader).
const T0 = 1_735_689_600;
const SPAN = 100 * 86_400;
const values = (n) => [
  String(((n * 104729) % 80000) / 8),
  String(((n * 15485863) % 80000) / 16),
  String(((n * 31) % 1000) / 4),
  String(((n * 7907) % 40000) / 32),
  String((n * 97) % 100000),
];
const fields = ["m0", "m1", "m2", "m3", "m4"].map((f) => `${view}:${f}`);

// No per-command timeout: node-redis 6 otherwise arms an AbortSignal.timeout(5 s) for every command, which
// costs time per command and, with a whole chunk queued on a busy machine, can fire before the reply.
const client = createClient({ url: `redis://127.0.0.1:${port}`, commandOptions: { timeout: 0 } });
client.on("error", (e) => console.error(`redis: ${e.message}`));
await client.connect();
const started = performance.now();
for (let from = 0; from < rows; from += chunk) {
  const pending = [];
  for (let n = from; n < Math.min(rows, from + chunk); n++) {
    const v = values(n);
    const args = ["HSET", `${prefix}${n}`, `_ts:${view}`, String((T0 + ((n * 7919) % SPAN)) * 1e6), `_cts:${view}`, "-1"];
    for (let j = 0; j < fields.length; j++) args.push(fields[j], v[j]);
    pending.push(client.sendCommand(args));
  }
  await Promise.all(pending);
}
const seconds = (performance.now() - started) / 1000;
await client.close();
console.log(JSON.stringify({ rows, seconds }));
