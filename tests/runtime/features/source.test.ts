import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localSourcePath, validateSource, viewSourceSql, withDuck } from "../../../runtime/features/source.js";
import { MlopsError } from "../../../src/errors.js";
import { openStore } from "../../../src/store/index.js";
import { startS3, type TestS3 } from "../../helpers/s3.js";
import { csvToParquet, fraudSpec, writeCsv } from "../../helpers/feature-data.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-src-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const HEADER = ["customer_id", "event_timestamp", "created_at", "spend_7d", "txn_count_7d", "note"];
const GOOD = [1, "2024-01-01T00:00:00Z", "2024-01-01T00:05:00Z", 1.5, 3, "ok"];

async function csv(name: string, rows: ReadonlyArray<ReadonlyArray<unknown>>, header: readonly string[] = HEADER): Promise<string> {
  const path = join(dir, name);
  await writeCsv(path, header, rows);
  return path;
}

/** The error validateSource throws for a file, as text. */
async function problem(path: string, view: Parameters<typeof fraudSpec>[2] = {}): Promise<string> {
  const spec = fraudSpec(dir, path, view);
  try {
    await withDuck((conn) => validateSource(conn, spec.views[0]!, spec, path));
  } catch (err) {
    expect(err).toBeInstanceOf(MlopsError);
    return (err as Error).message;
  }
  return "no error";
}

describe("viewSourceSql", () => {
  it("types the keys and features, turns timestamps with offsets into UTC, and keeps both window ends", async () => {
    const path = await csv("typed.csv", [
      [1, "2024-01-01T02:00:00+02:00", "", "1.25", "7", "a"],
      [2, "2024-01-02T00:00:00Z", "2024-01-02T01:00:00Z", "2", "8", "b"],
      [3, "2024-01-03T00:00:00.000001Z", "", "3", "9", "c"],
    ]);
    const spec = fraudSpec(dir, path);
    const sql = viewSourceSql(spec.views[0]!, spec, path, { start: new Date("2024-01-01T00:00:00Z"), end: new Date("2024-01-03T00:00:00Z") });
    const { rows, types } = await withDuck(async (conn) => {
      const r = await conn.runAndReadAll(`${sql} ORDER BY customer_id`);
      return { rows: r.getRowObjectsJson(), types: r.columnTypes().map(String) };
    });
    expect(types).toEqual(["BIGINT", "TIMESTAMP", "TIMESTAMP", "DOUBLE", "BIGINT"]);
    expect(rows).toEqual([
      { customer_id: "1", __event_ts: "2024-01-01 00:00:00", __created_ts: null, spend_7d: 1.25, txn_count_7d: "7" },
      { customer_id: "2", __event_ts: "2024-01-02 00:00:00", __created_ts: "2024-01-02 01:00:00", spend_7d: 2, txn_count_7d: "8" },
    ]);
  });

  it("gives a NULL __created_ts when the view has no created column, and string keys for string entities", async () => {
    const path = await csv("nocreated.csv", [["c-1", "2024-01-01T00:00:00Z", "", 1, 1, ""]]);
    const spec = fraudSpec(dir, path, { source: { uri: `file://${path}` } }, { entities: [{ name: "customer", joinKeys: ["customer_id"], valueType: "string" }] });
    const row = await withDuck(async (conn) => (await conn.runAndReadAll(viewSourceSql(spec.views[0]!, spec, path))).getRowObjectsJson()[0]);
    expect(row).toEqual({ customer_id: "c-1", __event_ts: "2024-01-01 00:00:00", __created_ts: null, spend_7d: 1, txn_count_7d: "1" });
  });

  it("reads a file whose name holds quotes and SQL as data, not as SQL", async () => {
    const path = await csv(`it's'); DROP TABLE x; --.csv`, [GOOD]);
    const spec = fraudSpec(dir, path);
    const n = await withDuck(async (conn) => {
      await validateSource(conn, spec.views[0]!, spec, path);
      return (await conn.runAndReadAll(`SELECT count(*) FROM (${viewSourceSql(spec.views[0]!, spec, path)})`)).getRows()[0]![0];
    });
    expect(Number(n)).toBe(1);
  });
});

describe("validateSource", () => {
  it("fails naming a missing declared column and the file", async () => {
    const path = await csv("missing.csv", [[1, "2024-01-01T00:00:00Z", "", 1]], ["customer_id", "event_timestamp", "created_at", "spend_7d"]);
    expect(await problem(path)).toMatch(/views\.txn_stats\.source file:\/\/.*missing\.csv: has no column "txn_count_7d"; received \["customer_id","event_timestamp","created_at","spend_7d"\]/);
  });

  it("names the file, line, column, value and type of the first bad CSV value, counting line breaks inside quoted fields", async () => {
    const path = await csv("bad-int.csv", [GOOD, [2, "2024-01-01T00:00:00Z", "", 2, 4, "two\nlines"], [3, "2024-01-01T00:00:00Z", "", 3, "abc", ""], [4, "2024-01-01T00:00:00Z", "", "x", "5", ""]]);
    // Header line 1, rows on lines 2, 3-4, then 5.
    expect(await problem(path)).toMatch(/bad-int\.csv line 5 \(data row 3\), column "txn_count_7d": is not an int64 \(a whole number\); received "abc"/);
  });

  it("refuses a fraction in an integer column (a cast would round it)", async () => {
    expect(await problem(await csv("fraction.csv", [GOOD, [2, "2024-01-01T00:00:00Z", "", 1, "1.5", ""]]))).toMatch(/line 3 .*column "txn_count_7d".*received "1\.5"/);
  });

  it("refuses an int32 out of range, a bad bool and a bad timestamp", async () => {
    const features = [
      { name: "spend_7d", dtype: "int32" as const },
      { name: "txn_count_7d", dtype: "bool" as const },
    ];
    expect(await problem(await csv("i32.csv", [[1, "2024-01-01T00:00:00Z", "", "3000000000", "true", ""]]), { features })).toMatch(/column "spend_7d": is not an int32 .*received "3000000000"/);
    expect(await problem(await csv("bool.csv", [[1, "2024-01-01T00:00:00Z", "", "1", "maybe", ""]]), { features })).toMatch(/column "txn_count_7d": is not a bool .*received "maybe"/);
    expect(await problem(await csv("ts.csv", [GOOD, [1, "2024-13-01T00:00:00Z", "", 1, 1, ""]]))).toMatch(/line 3 \(data row 2\), column "event_timestamp": is not a timestamp .*received "2024-13-01T00:00:00Z"/);
  });

  it("refuses a join key that is not an integer for an int64 entity", async () => {
    expect(await problem(await csv("key.csv", [["c-9", "2024-01-01T00:00:00Z", "", 1, 1, ""]]))).toMatch(/column "customer_id": is not an int64 .*received "c-9"/);
  });

  it("passes a good file, empty values included", async () => {
    expect(await problem(await csv("good.csv", [GOOD, [2, "2024-01-02T00:00:00+01:00", "", "", "", ""]]))).toBe("no error");
  });

  it("checks Parquet by stored type: a fraction in an int64 column is named by row; a BIGINT timestamp column is refused", async () => {
    const src = await csv("pq.csv", [GOOD, [2, "2024-01-01T00:00:00Z", "", 2, "2.5", ""]]);
    await csvToParquet(src, join(dir, "pq.parquet"), { customer_id: "BIGINT", event_timestamp: "TIMESTAMP", created_at: "TIMESTAMP", spend_7d: "DOUBLE", txn_count_7d: "DOUBLE" });
    expect(await problem(join(dir, "pq.parquet"))).toMatch(/pq\.parquet row 2, column "txn_count_7d": is not an int64 .*received "2\.5"/);
    const epochs = await csv("pq2.csv", [[1, 1704067200, "", 1, 1, ""]]);
    await csvToParquet(epochs, join(dir, "pq2.parquet"), { customer_id: "BIGINT", event_timestamp: "BIGINT", created_at: "TIMESTAMP", spend_7d: "DOUBLE", txn_count_7d: "BIGINT" });
    expect(await problem(join(dir, "pq2.parquet"))).toMatch(/column "event_timestamp": is stored as BIGINT, which cannot hold a timestamp/);
  });

  it("checks only rows in the window, but always reports a bad timestamp", async () => {
    const path = await csv("window.csv", [[1, "2023-01-01T00:00:00Z", "", "bad", 1, ""], GOOD]);
    const spec = fraudSpec(dir, path);
    const check = (window: { start?: Date }) => withDuck((conn) => validateSource(conn, spec.views[0]!, spec, path, { window }));
    await expect(check({ start: new Date("2023-06-01T00:00:00Z") })).resolves.toBeInstanceOf(Map);
    await expect(check({})).rejects.toThrow(/received "bad"/);
    const badTs = await csv("window-ts.csv", [GOOD, [1, "soon", "", 1, 1, ""]]);
    const spec2 = fraudSpec(dir, badTs);
    await expect(withDuck((conn) => validateSource(conn, spec2.views[0]!, spec2, badTs, { window: { start: new Date("2023-06-01T00:00:00Z") } }))).rejects.toThrow(/received "soon"/);
  });
});

describe("localSourcePath", () => {
  let s3: TestS3;
  beforeAll(async () => {
    s3 = await startS3();
  });
  afterAll(() => s3.stop());

  it("gives a file:// path as is and fails naming a missing one", async () => {
    const path = await csv("here.csv", [GOOD]);
    const spec = fraudSpec(dir, path);
    expect(await localSourcePath(spec.views[0]!, spec, dir)).toBe(path);
    const gone = fraudSpec(dir, join(dir, "gone.csv"));
    await expect(localSourcePath(gone.views[0]!, gone, dir)).rejects.toThrow(/views\.txn_stats\.source\.uri: does not exist/);
  });

  it("stages an s3:// object through the object store", async () => {
    const path = await csv("remote.csv", [GOOD]);
    await openStore(`s3://${s3.bucket}/features`, { env: s3.env }).putFile("txn/remote.csv", path);
    const spec = fraudSpec(dir, path, { source: { uri: `s3://${s3.bucket}/features/txn/remote.csv`, createdTimestampField: "created_at" } });
    const local = await localSourcePath(spec.views[0]!, spec, join(dir, "scratch"), { env: s3.env });
    expect(local.startsWith(join(dir, "scratch"))).toBe(true);
    expect(await readFile(local, "utf8")).toBe(await readFile(path, "utf8"));
  });
});

describe("withDuck's environment", () => {
  it("treats an empty MLOPS_DUCKDB_MEMORY_LIMIT as unset, and names a bad one", async () => {
    const saved = process.env.MLOPS_DUCKDB_MEMORY_LIMIT;
    try {
      process.env.MLOPS_DUCKDB_MEMORY_LIMIT = "";
      const limit = await withDuck(async (conn) => (await conn.runAndReadAll("SELECT current_setting('memory_limit') AS m")).getRowObjectsJson()[0]!.m);
      expect(String(limit)).toMatch(/GiB|GB|MiB/);
      process.env.MLOPS_DUCKDB_MEMORY_LIMIT = "lots";
      await expect(withDuck(async () => 1)).rejects.toThrow(/MLOPS_DUCKDB_MEMORY_LIMIT.*"lots, \d+ threads"/);
    } finally {
      if (saved === undefined) delete process.env.MLOPS_DUCKDB_MEMORY_LIMIT;
      else process.env.MLOPS_DUCKDB_MEMORY_LIMIT = saved;
    }
  });
});
