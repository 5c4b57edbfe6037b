/**
 * The two sides are tables from anywhere: a DuckDB query (over JSON lines, as payload logs will be)
 * compares like the same rows in CSV files.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareTables, runDrift, TableReader } from "../../../runtime/drift/index.js";

let dir: string;
const rows = (n: number, shift: number) =>
  Array.from({ length: n }, (_, i) => ({ amount: Math.round((Math.sin(i * 1.3) * 40 + 50 + shift) * 100) / 100, country: ["de", "fr", "us"][(i * 7) % 3]! }));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-drift-tables-"));
  const toCsv = (r: ReturnType<typeof rows>) => "amount,country\n" + r.map((x) => `${x.amount},${x.country}`).join("\n") + "\n";
  await writeFile(join(dir, "ref.csv"), toCsv(rows(400, 0)));
  await writeFile(join(dir, "cur.csv"), toCsv(rows(500, 6)));
  // Payload-log shaped: one JSON object per line, the features nested under "inputs".
  await writeFile(join(dir, "cur.jsonl"), rows(500, 6).map((x) => JSON.stringify({ requestId: "r", inputs: x })).join("\n") + "\n");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("compareTables", () => {
  it("compares a query over JSON lines like the same rows in a CSV file", async () => {
    const files = await runDrift({ reference: join(dir, "ref.csv"), current: join(dir, "cur.csv"), out: join(dir, "out") });
    const reader = await TableReader.create();
    try {
      const ref = await reader.open(join(dir, "ref.csv"), "reference", "--reference");
      const cur = await reader.openQuery(
        `SELECT inputs.amount::DOUBLE AS amount, inputs.country AS country FROM read_json_auto('${join(dir, "cur.jsonl")}')`,
        "current",
        "payload logs",
      );
      const { report } = await compareTables(ref, cur, "table");
      expect(report.columns).toEqual(files.report.columns);
      expect(report.data_quality.current).toEqual({ uri: "payload logs", rows: 500 });
    } finally {
      await reader.close();
    }
  });

  it("fails naming the source when the query cannot run", async () => {
    const reader = await TableReader.create();
    try {
      await expect(reader.openQuery("SELECT * FROM no_such_table", "current", "payload logs")).rejects.toThrow(/^payload logs: is not a query DuckDB can run \(.*\); received "payload logs". Check the query/);
    } finally {
      await reader.close();
    }
  });
});
