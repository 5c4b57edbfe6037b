import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../src/net.js";
import { mlops, startMlops } from "../helpers/cli.js";
import { startRedis, type TestRedis } from "../runtime/features/online/helpers.js";

const HOUR = 3600_000;
const iso = (ms: number) => new Date(ms).toISOString();

let dir: string;
let redis: TestRedis;
const now = Date.now();
const start = iso(now - 48 * HOUR);
const end = iso(now - HOUR);

/** A spec file over a CSV with three customers, the online store given. */
async function specFile(name: string, online: object): Promise<string> {
  const path = join(dir, `${name}.json`);
  await writeFile(
    path,
    JSON.stringify({
      name: "fraud",
      registry: `file://${join(dir, `registry-${name}`)}`,
      online,
      entities: [{ name: "customer", joinKeys: ["customer_id"] }],
      views: [
        {
          name: "txn_stats",
          entities: ["customer"],
          source: { uri: `file://${join(dir, "txn_stats.csv")}`, createdTimestampField: "created_at" },
          ttl: "30d",
          features: [
            { name: "spend_7d", dtype: "float64" },
            { name: "tier", dtype: "string" },
          ],
        },
      ],
    }),
  );
  return path;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-cli-features-"));
  redis = await startRedis();
  const t = (h: number) => iso(now - h * HOUR);
  await writeFile(
    join(dir, "txn_stats.csv"),
    ["customer_id,event_timestamp,created_at,spend_7d,tier", `1,${t(30)},${t(30)},10.5,bronze`, `1,${t(5)},${t(5)},20.5,gold`, `2,${t(6)},${t(6)},,silver`, `3,${t(0.5)},${t(0.5)},3,after-end`].join("\n") + "\n",
  );
});

afterAll(async () => {
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe.each(["embedded", "redis"] as const)("mlops features materialize | get | serve (%s)", (kind) => {
  const online = () => (kind === "redis" ? { redis: { url: redis.url, keyPrefix: `cli-${kind}:` } } : { embedded: {} });

  it("materializes a window, printing a JSON summary per view and progress on stderr", async () => {
    const spec = await specFile(`m-${kind}`, online());
    const r = await mlops(["features", "materialize", "--spec", spec, "--start", start, "--end", end]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim());
    expect(summary).toMatchObject({ view: "txn_stats", rowsRead: 2, rowsWritten: 2, rowsSkipped: 0, watermark: new Date(end).toISOString() });
    expect(r.stderr).toMatch(/materialize txn_stats: 2 rows read, 2 written/);
  });

  it("prints with `get` exactly what the server answers for the same request", async () => {
    const spec = await specFile(`g-${kind}`, online());
    expect((await mlops(["features", "materialize", "--spec", spec, "--start", start, "--end", end])).code).toBe(0);
    const got = await mlops(["features", "get", "--spec", spec, "--entity", "customer_id=1", "--entity", "customer_id=2", "--entity", "customer_id=3", "--features", "txn_stats:spend_7d,txn_stats:tier"]);
    expect(got.code, got.stderr).toBe(0);
    const answer = JSON.parse(got.stdout);
    expect(answer.metadata.feature_names).toEqual(["customer_id", "spend_7d", "tier"]);
    expect(answer.results[1].values).toEqual([20.5, null, null]);
    expect(answer.results[1].statuses).toEqual(["PRESENT", "NULL_VALUE", "NOT_FOUND"]);
    expect(answer.results[2].values).toEqual(["gold", "silver", null]);

    const port = await freePort();
    const { url, stop } = await startMlops(["features", "serve", "--spec", spec, "--port", String(port), "--log-level", "error"]);
    try {
      const r = await fetch(`${url}/get-online-features`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ features: ["txn_stats:spend_7d", "txn_stats:tier"], entities: { customer_id: [1, 2, 3] } }),
      });
      expect(r.status).toBe(200);
      expect(await r.text()).toBe(got.stdout.trim());
    } finally {
      expect(await stop()).toBe(0);
    }
  });

  it("fails when --end is in the future, naming the flag", async () => {
    const spec = await specFile(`f-${kind}`, online());
    const r = await mlops(["features", "materialize", "--spec", spec, "--start", start, "--end", iso(now + 24 * HOUR)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--end: is in the future/);
  });
});

describe("mlops features (online) in a container", () => {
  it("reads the spec from MLOPS_FEATURE_SPEC without --spec, as the FeatureStore component runs it", async () => {
    const { readFile } = await import("node:fs/promises");
    const spec = await readFile(await specFile("env", { embedded: {} }), "utf8");
    const r = await mlops(["features", "materialize", "--incremental", "--end", end], { env: { MLOPS_FEATURE_SPEC: spec } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ view: "txn_stats", rowsWritten: 2 });
  });
});

describe("mlops features (online) usage errors", () => {
  it("fails when materialize gets neither a window nor --incremental", async () => {
    const spec = await specFile("u1", { embedded: {} });
    const r = await mlops(["features", "materialize", "--spec", spec]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pass --start and --end, or --incremental\nusage: mlops features materialize/);
  });

  it("fails when --start is not a time", async () => {
    const spec = await specFile("u2", { embedded: {} });
    const r = await mlops(["features", "materialize", "--spec", spec, "--start", "yesterday", "--end", end]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--start: is not an ISO 8601 time; received "yesterday"/);
  });

  it("fails when get is given a bad entity value, naming the flag", async () => {
    const spec = await specFile("u3", { embedded: {} });
    const r = await mlops(["features", "get", "--spec", spec, "--entity", "customer_id=abc", "--features", "txn_stats:tier"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--entity customer_id\[0\]: is not a valid int64 join key value; received "abc"/);
  });

  it("fails when the Redis store cannot be reached, without printing the password", async () => {
    const port = await freePort();
    const spec = await specFile("u4", { redis: { url: `redis://admin:hunter2@127.0.0.1:${port}` } });
    const r = await mlops(["features", "get", "--spec", spec, "--entity", "customer_id=1", "--features", "txn_stats:tier"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/online\.redis\.url: cannot be reached/);
    expect(r.stderr).not.toContain("hunter2");
  });
});
