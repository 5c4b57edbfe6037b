/**
 * `mlops drift` as a user runs it: exit 0 without drift, 3 with it, 2 for bad input with the flag, the
 * value and the fix; report.json in exactly its shape; the on-drift command; s3:// tables; profiles.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { s3ClientConfig } from "../../src/store/index.js";
import { mlops } from "../helpers/cli.js";
import { startS3, type TestS3 } from "../helpers/s3.js";

let dir: string;

/** A CSV of `n` rows: x ~ N(shift, 1), k in {a, b, c} (shares moved by `tilt`), flag. */
function table(n: number, seed: number, shift = 0, tilt = 0): string {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 2 ** 32);
  const rows = ["x,k,flag"];
  for (let i = 0; i < n; i++) {
    const x = Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u()) + shift;
    const r = u();
    const k = r < 0.33 + tilt ? "a" : r < 0.66 ? "b" : "c";
    rows.push(`${x},${k},${u() < 0.5 + tilt ? "true" : "false"}`);
  }
  return rows.join("\n") + "\n";
}

async function file(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-drift-cli-"));
  await file("ref.csv", table(800, 1));
  await file("same.csv", table(900, 2));
  await file("shifted.csv", table(900, 3, 0.8, 0.25));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const ref = () => join(dir, "ref.csv");

describe("mlops drift", () => {
  it("exits 0 when the dataset did not drift, with the summary and both report paths", async () => {
    const r = await mlops(["drift", "--reference", ref(), "--current", join(dir, "same.csv"), "--out", join(dir, "out-same")]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^dataset drift: no \([01] of 3 columns drifted, share 0\.\d{3}\)/);
    expect(r.stdout).toMatch(/ x +numerical +ks +p=/);
    expect(r.stdout).toContain(`report: ${join(dir, "out-same", "report.json")}`);
    expect(r.stdout).toContain(`html:   ${join(dir, "out-same", "report.html")}`);
  });

  it("exits 3 on drift and writes report.json in exactly its shape", async () => {
    const out = join(dir, "out-shift");
    const r = await mlops(["drift", "--reference", ref(), "--current", join(dir, "shifted.csv"), "--out", out]);
    expect(r.code, r.stderr).toBe(3);
    const report = JSON.parse(await readFile(join(out, "report.json"), "utf8"));
    expect(Object.keys(report)).toEqual(["dataset_drift", "share_drifted", "columns", "data_quality"]);
    expect(report.dataset_drift).toBe(true);
    for (const c of Object.values<Record<string, unknown>>(report.columns)) {
      expect(Object.keys(c)).toEqual(["test", "statistic", "p_value", "threshold", "drift", "type"]);
    }
    expect(report.columns).toMatchObject({ x: { test: "ks", drift: true, type: "numerical" }, k: { test: "chisquare", type: "categorical" }, flag: { test: "z", type: "categorical" } });
  });

  it("runs the on-drift command through sh -c with the report's path in its environment, and reports its exit code", async () => {
    const marker = join(dir, "on-drift.txt");
    const r = await mlops(["drift", "--reference", ref(), "--current", join(dir, "shifted.csv"), "--out", join(dir, "out-od"), "--on-drift", `echo "$MLOPS_DRIFT_REPORT $MLOPS_DRIFT_SHARE" > '${marker}'; exit 7`]);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/on-drift: ".*" exited 7/);
    const [path, share] = (await readFile(marker, "utf8")).trim().split(" ");
    expect(path).toBe(join(dir, "out-od", "report.json"));
    expect(Number(share)).toBeGreaterThanOrEqual(0.5);
  });

  it("does not run the on-drift command when there is no drift", async () => {
    const marker = join(dir, "not-run.txt");
    const r = await mlops(["drift", "--reference", ref(), "--current", join(dir, "same.csv"), "--out", join(dir, "out-nr"), "--on-drift", `touch '${marker}'`]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("on-drift");
    await expect(readFile(marker)).rejects.toThrow();
  });

  it("honours --columns, --method and --threshold", async () => {
    const out = join(dir, "out-opts");
    const r = await mlops(["drift", "--reference", ref(), "--current", join(dir, "same.csv"), "--out", out, "--columns", "x,k", "--method", "psi", "--threshold", "0.5"]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(await readFile(join(out, "report.json"), "utf8"));
    expect(Object.keys(report.columns)).toEqual(["x", "k"]);
    expect(report.columns.x).toMatchObject({ test: "psi", threshold: 0.5, p_value: null });
  });

  it("writes a profile with `mlops drift profile` and accepts it as the reference", async () => {
    const profile = join(dir, "profiles", "ref.json");
    const p = await mlops(["drift", "profile", ref(), "--out", profile]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toContain("800 rows, 3 columns");
    const [fromFile, fromProfile] = await Promise.all([
      mlops(["drift", "--reference", ref(), "--current", join(dir, "shifted.csv"), "--out", join(dir, "out-pf")]),
      mlops(["drift", "--reference", profile, "--current", join(dir, "shifted.csv"), "--out", join(dir, "out-pp")]),
    ]);
    expect(fromProfile.code).toBe(3);
    const read = async (d: string) => JSON.parse(await readFile(join(dir, d, "report.json"), "utf8")).columns;
    expect(await read("out-pp")).toEqual(await read("out-pf"));
    expect(fromFile.code).toBe(3);
  });
});

describe("mlops drift with s3:// tables", () => {
  let s3: TestS3;
  beforeAll(async () => {
    s3 = await startS3("drift-data");
    const client = new S3Client(s3ClientConfig(s3.env));
    for (const [key, name] of [["ref/ref.csv", "ref.csv"], ["cur/part-0.csv", "shifted.csv"], ["cur/part-1.csv", "shifted.csv"]]) {
      await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key!, Body: await readFile(join(dir, name!)) }));
    }
    client.destroy();
  });
  afterAll(() => s3?.stop());

  it("stages an object and a prefix of objects locally and tests them", async () => {
    const out = join(dir, "out-s3");
    const r = await mlops(["drift", "--reference", `s3://${s3.bucket}/ref/ref.csv`, "--current", `s3://${s3.bucket}/cur/`, "--out", out], { env: s3.env });
    expect(r.code, r.stderr).toBe(3);
    const report = JSON.parse(await readFile(join(out, "report.json"), "utf8"));
    expect(report.data_quality.current).toMatchObject({ uri: `s3://${s3.bucket}/cur/`, rows: 1800 });
  });
});

describe("mlops drift fails with exit 2 and a clear message", () => {
  const run = (args: string[]) => mlops(["drift", ...args]);
  const base = (current: string) => ["--reference", ref(), "--current", current, "--out", join(dir, "out-bad")];

  it("fails when a file does not exist", async () => {
    const r = await run(base(join(dir, "nope.csv")));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--current: does not exist; received "${join(dir, "nope.csv")}"`);
  });

  it("fails when the tables share no column", async () => {
    const other = await file("other.csv", "a,b\n1,2\n3,4\n");
    const r = await run(base(other));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--current: the reference and current tables have no column in common; received "reference columns \[x, k, flag\], current columns \[a, b\]"/);
  });

  it("fails when a table has no rows", async () => {
    const empty = await file("empty.csv", "x,k,flag\n");
    const r = await run(base(empty));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--current: has no data rows");
  });

  it("fails when a column changed type, naming it", async () => {
    const changed = await file("changed.csv", "x,k,flag\nhigh,a,true\nlow,b,false\n");
    const r = await run(base(changed));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/column "x": changed type from DOUBLE in the reference to VARCHAR in the current data.*--columns/);
  });

  it("fails on an unknown method, a column not in both tables, a bad threshold, or a missing --out", async () => {
    const same = join(dir, "same.csv");
    const cases: [string[], RegExp][] = [
      [[...base(same), "--method", "t-test"], /--method: is not a drift method; received "t-test". Use one of: ks, chisquare, z, wasserstein, jensenshannon, psi/],
      [[...base(same), "--columns", "x,zz"], /--columns: names "zz", which is not in the reference or the current data/],
      [[...base(same), "--threshold", "abc"], /--threshold: must be a number/],
      [[...base(same), "--method", "ks"], /--method \(column "k"\): ks does not apply to a categorical column/],
      [["--reference", ref(), "--current", same], /--out is required/],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});
