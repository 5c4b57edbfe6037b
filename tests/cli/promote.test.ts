import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HelpRequested } from "../../cli/args.js";
import { promoteCommand } from "../../cli/promote.js";
import { createRelease, listAudits } from "../../src/release/index.js";
import { mlops } from "../helpers/cli.js";
import { fakePrometheus, type FakePrometheus } from "../src/release/fake-prometheus.js";
import { IMAGE, stages, type Stages } from "../src/release/fixture.js";

let s: Stages;
let prom: FakePrometheus;
beforeAll(async () => {
  prom = await fakePrometheus(() => ({ vector: [{ value: "0.999" }] }));
});
afterAll(() => prom.close());
beforeEach(async () => {
  s = await stages();
  await createRelease(s.staging, "fraud", { model: "fraud@challenger", image: IMAGE });
});
afterEach(() => s.close());

/** `mlops promote` in-process: its exit status, stdout (one JSON object) and stderr lines. */
async function promote(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await promoteCommand(argv, (l) => out.push(l), (l) => err.push(l));
  return { code, result: JSON.parse(out.join("\n")), stderr: err.join("\n") };
}
const stagesArgs = () => ["--from", s.staging.uri, "--to", s.prod.uri];

describe("mlops promote", () => {
  it("promotes a release into the next stage and moves its alias; a second run is a no-op", async () => {
    const first = await promote("fraud", ...stagesArgs(), "--alias", "prod");
    expect(first.code).toBe(0);
    expect(first.result).toMatchObject({ outcome: "promoted", alias: "prod", targetVersion: 1 });
    expect((await s.prod.aliases("fraud")).prod).toBe(1);
    const second = await promote("fraud", ...stagesArgs(), "--alias", "prod");
    expect(second).toMatchObject({ code: 0, result: { outcome: "no-op" } });
    expect((await listAudits(s.prod.store)).map((a) => a.outcome)).toEqual(["promoted", "no-op"]);
  });

  it("checks the source stage's SLO through Prometheus over the window", async () => {
    prom.answer = () => ({ vector: [{ value: "0.998" }] });
    const r = await promote("fraud", ...stagesArgs(), "--require", "gate,slo,no-drift", "--slo-query", "avg_over_time(up[$window])", "--slo-min", "0.99", "--prometheus", prom.url, "--window", "2h");
    expect(r.code).toBe(0);
    expect(prom.queries.at(-1)).toBe("avg_over_time(up[2h])");
    expect(r.result.checks.map((c: { name: string; passed: boolean }) => [c.name, c.passed])).toEqual([["gate", true], ["slo", true], ["no-drift", true]]);
  });

  it("refuses with exit 3 naming the failed check and its value, and copies nothing", async () => {
    prom.answer = () => ({ vector: [{ value: "0.9" }] });
    const r = await mlops(["promote", "fraud", ...stagesArgs(), "--slo-query", "sum(rate(ok[$window]))/sum(rate(all[$window]))", "--slo-min", "0.995", "--prometheus", prom.url]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain("refused: check slo failed: sum(rate(ok[1h]))/sum(rate(all[1h])) is 0.9, which does not meet >= 0.995 (value 0.9)");
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: "refused" });
    await expect(s.prod.list("fraud")).rejects.toThrow(/does not exist/);
    expect(await readdir(join(s.dir, "prod"))).toEqual(["audit"]);
  });

  it("with --dry-run writes nothing, and still exits 3 on a refusal", async () => {
    const r = await promote("fraud", ...stagesArgs(), "--dry-run");
    expect(r).toMatchObject({ code: 0, result: { outcome: "dry-run" } });
    expect(r.result.steps.map((x: { action: string }) => x.action)).toEqual(["would-copy", "would-copy", "would-copy", "would-copy", "would-move"]);
    prom.answer = () => ({ vector: [] });
    const refused = await promote("fraud", ...stagesArgs(), "--dry-run", "--slo-query", "x", "--slo-min", "1", "--prometheus", prom.url);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/refused: check slo failed: x returned no data/);
    await expect(readdir(join(s.dir, "prod"))).rejects.toThrow(/ENOENT/);
  });

  it("fails naming --stack when the pulumi CLI is not there, before copying anything, and audits the failure", async () => {
    // The real Automation API, on a PATH without the pulumi CLI (a CI runner may have one).
    const path = process.env.PATH;
    process.env.PATH = join(s.dir, "no-bin");
    try {
      await expect(promote("fraud", ...stagesArgs(), "--stack", "stacks:prod")).rejects.toThrow(/--stack: cannot select stack "prod" of the Pulumi program in stacks: the pulumi CLI is not on PATH/);
    } finally {
      process.env.PATH = path;
    }
    // The stack is reached before anything is copied: the target holds only the audit of the attempt.
    expect(await readdir(join(s.dir, "prod"))).toEqual(["audit"]);
    expect((await listAudits(s.prod.store)).map((a) => a.outcome)).toEqual(["failed"]);
  });

  it("--help gives the usage", async () => {
    const help = await promoteCommand(["--help"], () => {}).catch((e: unknown) => e);
    expect(help).toBeInstanceOf(HelpRequested);
    expect((help as HelpRequested).usage).toMatch(/^mlops promote <release> --from <registry uri> --to <registry uri>/);
  });

  it("fails on flags that do not fit together, naming them", async () => {
    await expect(promote("fraud", "--from", s.staging.uri)).rejects.toThrow(/--from and --to are required/);
    await expect(promote("fraud", ...stagesArgs(), "--slo-min", "0.9")).rejects.toThrow(/--slo-min: needs --slo-query; received "0.9"/);
    await expect(promote("fraud", ...stagesArgs(), "--slo-query", "x", "--slo-min", "0.9")).rejects.toThrow(/--prometheus: is required with --slo-query/);
    await expect(promote("fraud", ...stagesArgs(), "--require", "gate", "--slo-query", "x", "--slo-min", "1", "--prometheus", prom.url)).rejects.toThrow(/--require: leaves out slo/);
    await expect(promote("fraud", ...stagesArgs(), "--require", "slo")).rejects.toThrow(/--require: names slo without an SLO query/);
    await expect(promote("fraud", ...stagesArgs(), "--image-config-key", "mlops:imageDigest")).rejects.toThrow(/--image-config-key: needs --stack/);
    await expect(promote("fraud", "--from", s.staging.uri, "--to", s.staging.uri)).rejects.toThrow(/--to: is the same registry as --from/);
  });
});
