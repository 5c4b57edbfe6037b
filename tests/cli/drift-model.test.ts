/**
 * `mlops drift --model` / `--endpoint-spec` as the drift CronJob and a user run it: a model's payload
 * logs against its version's stored profile, exit 3 on drift with the summary, the report paths and the
 * registry record; the errors for what is missing (exit 2, the flag and the fix); `mlops drift profile
 * --model` storing a profile for a version trained elsewhere.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MlopsError } from "../../src/errors.js";
import { seededRandom } from "../../src/random.js";
import { latestDriftResult } from "../../src/registry/drift-results.js";
import { Registry } from "../../src/registry/index.js";
import { openStore } from "../../src/store/index.js";
import { batchKey, recordLine } from "../../runtime/serve/payload-record.js";
import { runTraining } from "../../runtime/train/index.js";
import { EXAMPLE_MODEL, mlops } from "../helpers/cli.js";
import { captureLogger, specIn, writeClassificationCsv } from "../runtime/train/helpers.js";

let dir: string;
let registryUri: string;
let payloadUri: string;

async function logRequests(model: string, width: number, n: number, shift: number, seed: number): Promise<void> {
  const rand = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand());
  const at = Date.now() - 5 * 60_000;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const data = Array.from({ length: width }, () => normal() + shift);
    const input = JSON.stringify({ inputs: [{ name: "input", datatype: "FP64", shape: [1, width], data }] });
    lines.push(recordLine({ model, version: "1", requestId: undefined, input, output: "{}" }, at, "fraud-ep", "primary"));
  }
  await openStore(payloadUri).put(batchKey(model, "fraud-ep", "primary", at), lines.join("\n") + "\n");
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-drift-model-cli-"));
  registryUri = `file://${join(dir, "registry")}`;
  payloadUri = `file://${join(dir, "payloads")}`;
  await writeClassificationCsv(join(dir, "data.csv"), { rows: 600 });
  const trained = await runTraining(specIn(dir, { trainer: { builtin: "logistic-regression" }, alias: "champion" }), { logger: captureLogger().logger, progress: "none" });
  expect(trained.status).toBe("registered");
  await logRequests("fraud", 4, 200, 2, 5); // shifted by 2 standard deviations
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("mlops drift --model", () => {
  it("compares the payload logs with the alias's profile: exit 3, the summary, the paths and the record", async () => {
    const out = join(dir, "out");
    const r = await mlops(["drift", "--model", "fraud@champion", "--since", "1h", "--registry", registryUri, "--payload-uri", payloadUri, "--out", out]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toContain("model: fraud@champion = fraud:1, reference: its training profile");
    expect(r.stdout).toMatch(/current: 200 rows from 200 payload records in 1 files \(\S+Z to \S+Z\)/);
    expect(r.stdout).toMatch(/dataset drift: yes \(4 of 4 columns drifted, share 1\.000\)/);
    expect(r.stdout).toMatch(/^\s+x1\s+numerical\s+ks\s+p=/m);
    expect(r.stdout).toContain(`html:   ${join(out, "report.html")}`);
    expect(r.stdout).toMatch(/recorded: file:\/\/.*\/models\/fraud\/drift\/\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z\.json \(reports copied to file:\/\/.*\/models\/fraud\/drift-reports\/\S+\)/);
    const report = JSON.parse(await readFile(join(out, "report.json"), "utf8"));
    expect(report.dataset_drift).toBe(true);
    expect(await latestDriftResult(openStore(registryUri), "fraud")).toMatchObject({ model: "fraud", version: 1, alias: "champion", dataset_drift: true, drifted: ["x1", "x2", "x3", "x4"] });
  });

  it("reads model, registry and logging.uri from an EndpointSpec, only that endpoint's logs", async () => {
    const spec = join(dir, "endpoint.yaml");
    await writeFile(spec, `name: fraud-ep\nmodel: fraud@champion\nregistry: ${registryUri}\nlogging:\n  sampleRate: 1\n  uri: ${payloadUri}\n`);
    const r = await mlops(["drift", "--endpoint-spec", spec, "--since", "30m", "--out", join(dir, "out-spec")]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toMatch(/current: 200 rows/);
    await writeFile(spec, `name: other-ep\nmodel: fraud@champion\nregistry: ${registryUri}\nlogging:\n  sampleRate: 1\n  uri: ${payloadUri}\n`);
    const none = await mlops(["drift", "--endpoint-spec", spec, "--since", "30m", "--out", join(dir, "out-spec")]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(`no payload records of model fraud under ${payloadUri}/fraud/other-ep/ from `);
  });

  it("names each missing piece with its fix (exit 2)", async () => {
    const base = ["drift", "--model", "fraud@champion", "--registry", registryUri];
    const noSince = await mlops([...base, "--payload-uri", payloadUri]);
    expect(noSince.code).toBe(2);
    expect(noSince.stderr).toMatch(/--since: is required with --model; received nothing\. Give the window of payload logs to compare, e\.g\. --since 1h/);
    // The rest in-process (the same command; main turns an MlopsError into exit 2).
    const { driftCommand } = await import("../../cli/drift.js");
    const fails = (args: string[]) => driftCommand(args.slice(1), () => undefined).then(() => expect.unreachable(args.join(" ")), (e: unknown) => {
      expect(e).toBeInstanceOf(MlopsError);
      return (e as Error).message;
    });
    expect(await fails([...base, "--since", "1h"])).toMatch(/--payload-uri: is required with --model.*--endpoint-spec <file>/);
    expect(await fails([...base, "--since", "yesterday", "--payload-uri", payloadUri])).toMatch(/--since: is neither a duration nor a time; received "yesterday"/);
    expect(await fails([...base, "--since", "1h", "--payload-uri", payloadUri, "--reference", "x.csv"])).toMatch(/--reference: cannot be given with --model or --endpoint-spec/);
    expect(await fails(["drift", "--reference", "a.csv", "--current", "b.csv", "--since", "1h"])).toMatch(/--since: only applies with --model or --endpoint-spec/);
    const spec = join(dir, "nolog.yaml");
    await writeFile(spec, `name: fraud-ep\nmodel: fraud@champion\nregistry: ${registryUri}\n`);
    expect(await fails(["drift", "--endpoint-spec", spec, "--since", "1h"])).toMatch(/--endpoint-spec: has no logging block.*Turn on logging/);
    expect(await fails([...base, "--since", "1h", "--payload-uri", payloadUri, "--retrain-cronjob", "train"])).toMatch(/--retrain-cronjob: is not <namespace>\/<cronjob name>/);
  });

  it("two tables that drifted run --on-drift-train: the gate registers a challenger, the champion stays", async () => {
    const ref = join(dir, "ref.csv");
    const cur = join(dir, "cur.csv");
    await writeFile(ref, "x\n" + Array.from({ length: 200 }, (_, i) => String(i % 50)).join("\n") + "\n");
    await writeFile(cur, "x\n" + Array.from({ length: 200 }, (_, i) => String(40 + (i % 50))).join("\n") + "\n");
    const spec = join(dir, "retrain.yaml");
    await writeFile(spec, `name: fraud\nregistry: ${registryUri}\nmodel: fraud\ndataset: { uri: file://${join(dir, "data.csv")}, label: label, exclude: [id] }\ntrainer: { builtin: logistic-regression }\ngate: { minimum: { auc: 0.6 } }\nalias: challenger\n`);
    const r = await mlops(["drift", "--reference", ref, "--current", cur, "--out", join(dir, "out-tables"), "--on-drift-train", spec]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toMatch(/retrain: trained \S+ \(holdout auc 0\.\d{4}\), gate passed, registered fraud:2 as challenger/);
    expect(await new Registry(openStore(registryUri)).aliases("fraud")).toEqual({ champion: 1, challenger: 2 });
  });

  it("drift profile --model stores the reference of a version trained elsewhere, which drift then uses", async () => {
    const registry = new Registry(openStore(registryUri));
    await registry.register("plain", await readFile(EXAMPLE_MODEL), { alias: "champion" });
    const before = await mlops(["drift", "--model", "plain@champion", "--since", "1h", "--registry", registryUri, "--payload-uri", payloadUri]);
    expect(before.code).toBe(2);
    expect(before.stderr).toContain("plain@champion is plain:1, which has no reference profile");
    const data = join(dir, "plain.csv");
    await writeFile(data, "a,b\n" + Array.from({ length: 300 }, (_, i) => `${(i * 7) % 13},${(i * 5) % 11}`).join("\n") + "\n");
    const put = await mlops(["drift", "profile", data, "--model", "plain:1", "--registry", registryUri, "--features", "a,b"]);
    expect(put.code, put.stderr).toBe(0);
    expect(put.stdout).toMatch(/profile: file:\/\/.*\/models\/plain\/profiles\/0000000001\.json \(300 rows, 2 columns\), the reference of plain:1/);
    await logRequests("plain", 2, 50, 0, 9);
    const after = await mlops(["drift", "--model", "plain@champion", "--since", "1h", "--registry", registryUri, "--payload-uri", payloadUri, "--out", join(dir, "out-plain")]);
    expect([0, 3]).toContain(after.code);
    expect(after.stdout).toMatch(/current: 50 rows/);
    expect(after.stdout).toMatch(/^\s+a\s+/m);
  });
});
