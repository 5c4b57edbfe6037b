// Hostile and wrong input on the newer commands (runs, release, promote, ci init, drift's model mode and
// profile, serve --variants): --help exits 0 with the usage; a mistake is a usage error (MlopsError, exit 2
// from main.ts) naming the flag, the value and the fix, never an internal error; a refusal writes nothing.
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { HelpRequested } from "../../cli/args.js";
import { ciCommand } from "../../cli/ci-init.js";
import { driftCommand } from "../../cli/drift.js";
import { promoteCommand } from "../../cli/promote.js";
import { releaseCommand } from "../../cli/release.js";
import { runsCommand } from "../../cli/runs.js";
import { serveCommand } from "../../cli/serve.js";
import { MlopsError } from "../../src/errors.js";
import { createRelease } from "../../src/release/index.js";
import { mlops } from "../helpers/cli.js";
import { IMAGE, stages, type Stages } from "../src/release/fixture.js";

type Command = (argv: string[], out: (s: string) => void) => Promise<number>;
const COMMANDS: Record<string, Command> = { runs: runsCommand, release: releaseCommand, promote: (a, o) => promoteCommand(a, o, () => {}), ci: ciCommand, drift: driftCommand, serve: serveCommand };

let s: Stages;
let dir: string;
beforeAll(async () => {
  s = await stages();
  await createRelease(s.staging, "fraud", { model: "fraud@challenger", image: IMAGE });
  dir = await mkdtemp(join(tmpdir(), "mlops-new-errors-"));
});
afterAll(async () => {
  await s.close();
  await rm(dir, { recursive: true, force: true });
});

/** Every file under `root` with a hash of its bytes: equal before and after means nothing was written. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out[p] = createHash("sha256").update(await readFile(p)).digest("hex");
    }
  };
  await walk(root);
  return out;
}

/** Runs the command in-process; it must refuse with a usage error whose text matches every pattern. */
async function refuses(command: string, argv: string[], ...patterns: RegExp[]): Promise<string> {
  const before = await snapshot(s.dir);
  let caught: unknown;
  try {
    await COMMANDS[command]!(argv, () => {});
  } catch (e) {
    caught = e;
  }
  expect(caught, `${command} ${argv.join(" ")} did not refuse`).toBeInstanceOf(MlopsError);
  const message = (caught as Error).message;
  for (const p of patterns) expect(message).toMatch(p);
  expect(message).not.toMatch(/internal error|undefined|\[object Object\]/);
  expect(await snapshot(s.dir), "a refusal wrote into the registries").toEqual(before);
  return message;
}

describe("--help and -h print the usage", () => {
  test.each([
    ["runs", ["--help"], /mlops runs list/],
    ["runs", ["list", "--help"], /^mlops runs list/],
    ["runs", ["show", "-h"], /^mlops runs show/],
    ["runs", ["compare", "--help"], /^mlops runs compare/],
    ["release", ["--help"], /mlops release create/],
    ["release", ["create", "-h"], /^mlops release create/],
    ["release", ["list", "--help"], /^mlops release list/],
    ["release", ["show", "--help"], /^mlops release show/],
    ["release", ["diff", "-h"], /^mlops release diff/],
    ["promote", ["--help"], /^mlops promote <release>/],
    ["ci", ["--help"], /^mlops ci init/],
    ["ci", ["init", "-h"], /^mlops ci init/],
    ["drift", ["--model", "m@champion", "--help"], /--since <duration\|time>/],
    ["drift", ["profile", "--help"], /^mlops drift profile/],
    ["serve", ["--variants", "v.yaml", "-h"], /--variants <variants.yaml>/],
  ] as const)("%s %j", async (command, argv, usage) => {
    const e = await COMMANDS[command]!([...argv], () => {}).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HelpRequested);
    expect((e as HelpRequested).usage).toMatch(usage);
  });

  test("through main: exit 0, the usage on stdout, nothing on stderr", async () => {
    const r = await mlops(["drift", "profile", "-h"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(/^usage: mlops drift profile/);
  });
});

describe("an unknown flag is named, with the usage", () => {
  test.each([
    ["runs", ["list", "fraud", "--bogus"], /mlops runs list/],
    ["runs", ["show", "run-1", "--bogus"], /mlops runs show/],
    ["release", ["create", "fraud", "--bogus"], /mlops release create/],
    ["release", ["diff", "a", "b", "--bogus"], /mlops release diff/],
    ["promote", ["fraud", "--bogus"], /mlops promote/],
    ["ci", ["init", "--bogus"], /mlops ci init/],
    ["drift", ["--model", "m@champion", "--bogus"], /mlops drift/],
    ["drift", ["profile", "x.csv", "--bogus"], /mlops drift profile/],
  ] as const)("%s %j", async (command, argv, usage) => {
    await refuses(command, [...argv], /Unknown option '--bogus'/, usage);
  });

  test("through main: exit 2, never an internal error", async () => {
    const r = await mlops(["release", "show", "fraud", "--bogus"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Unknown option '--bogus'/);
    expect(r.stderr).not.toMatch(/internal error/);
  });
});

describe("a missing required flag or argument is named with the fix", () => {
  test.each([
    ["runs", ["list"], /missing <model>/, /usage: mlops runs list/],
    ["runs", ["compare", "run-1"], /at least two runs/, /usage: mlops runs compare/],
    ["release", ["create", "fraud"], /--model is required/, /usage: mlops release create/],
    ["release", ["show"], /missing <release>/, /usage: mlops release show/],
    ["promote", ["fraud"], /--from and --to are required/, /usage: mlops promote/],
    ["promote", ["fraud", "--from", "file:///a", "--to", "file:///b", "--slo-query", "up"], /--prometheus: is required with --slo-query/, /--prometheus http:/],
    ["ci", ["init"], /--provider: is required/, /Pass one of github, gitlab, circleci, jenkins/],
    ["ci", [], /missing the subcommand/, /usage: mlops ci init/],
    ["drift", ["--model", "fraud@champion", "--payload-uri", "file:///x"], /--since: is required with --model/, /--since 1h/],
    ["drift", ["--model", "fraud@champion", "--since", "1h"], /--payload-uri: is required with --model/, /logging\.uri/],
    ["drift", ["profile"], /missing <uri>/, /usage: mlops drift profile/],
    ["drift", ["profile", "x.csv"], /--out or --model is required/, /usage: mlops drift profile/],
  ] as const)("%s %j", async (command, argv, what, fix) => {
    await refuses(command, [...argv], what, fix);
  });
});

describe("a bad value is named with the value and the fix", () => {
  const reg = () => ["--registry", s.staging.uri];
  const stagesArgs = () => ["--from", s.staging.uri, "--to", s.prod.uri];

  test("runs: a run id with ../ is refused before any read", async () => {
    await refuses("runs", ["show", "../../etc/passwd", ...reg()], /"\.\.\/\.\.\/etc\/passwd"/);
    await refuses("runs", ["compare", "run-1", "../x", ...reg()], /"\.\.\/x"/);
  });

  test("through main: a bad run id among good ones exits 2 with one error, no crash from the read already started", async () => {
    const r = await mlops(["runs", "compare", "run-1", "../x", "--registry", s.staging.uri]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/"\.\.\/x"/);
    expect(r.stderr).not.toMatch(/does not exist|internal error|Unhandled|at async/);
  });

  test("release create: a malformed model ref, an image without a digest", async () => {
    await refuses("release", ["create", "fraud", "--model", "fraud@@x", ...reg()], /model/i, /"fraud@@x"/);
    await refuses("release", ["create", "fraud", "--model", "fraud@challenger", "--image", "ghcr.io/acme/runtime:1.2", ...reg()], /image/i, /"ghcr\.io\/acme\/runtime:1\.2"/, /sha256/);
  });

  test("release create: an --endpoint file that does not exist", async () => {
    await refuses("release", ["create", "fraud", "--model", "fraud@challenger", "--endpoint", join(dir, "nope.yaml"), ...reg()], /--endpoint: cannot be read \(ENOENT\)/, /nope\.yaml/);
  });

  test("release show/diff: a release ref whose digest is not hex", async () => {
    await refuses("release", ["show", "fraud@sha256:zz", ...reg()], /"fraud@sha256:zz"/, /sha256/);
    await refuses("release", ["diff", "fraud", `fraud@sha256:${"g".repeat(64)}`, ...reg()], /release b|sha256/i, /gggg/);
    await refuses("release", ["show", "../fraud", ...reg()], /"\.\.\/fraud"/);
  });

  test("promote: --slo-min that is not a number, a bad --window, a bad release ref", async () => {
    const slo = ["--slo-query", "up", "--prometheus", "http://127.0.0.1:9"];
    await refuses("promote", ["fraud", ...stagesArgs(), ...slo, "--slo-min", "high"], /--slo-min: is not a number; received "high"/, /--slo-min 0\.995/);
    await refuses("promote", ["fraud", ...stagesArgs(), ...slo, "--slo-min", "0.99", "--window", "5x"], /window/i, /"5x"/);
    await refuses("promote", ["fraud@sha256:xyz", ...stagesArgs()], /"fraud@sha256:xyz"/);
    await refuses("promote", ["fraud", ...stagesArgs(), "--require", "gate,vibes"], /--require/, /"gate,vibes"|vibes/);
  });

  test("registry URIs that are not file:// or s3:// name the flag and the value", async () => {
    await refuses("runs", ["list", "fraud", "--registry", "ftp://x"], /ftp:\/\/x/, /file:\/\/|s3:\/\//);
    await refuses("release", ["list", "--registry", "ftp://x"], /ftp:\/\/x/, /file:\/\/|s3:\/\//);
    await refuses("promote", ["fraud", "--from", "ftp://x", "--to", s.prod.uri], /ftp:\/\/x/, /file:\/\/|s3:\/\//);
  });

  test("ci init: an unknown provider names it and writes nothing", async () => {
    const out = await mkdtemp(join(dir, "ci-"));
    await refuses("ci", ["init", "--provider", "bitbucket", "--out", out], /--provider: is not a provider mlops writes pipelines for; received "bitbucket"/, /github, gitlab, circleci, jenkins/);
    await refuses("ci", ["init", "--provider", "github", "--out", out, "--test", "  "], /--test: is empty/);
    expect(await readdir(out)).toEqual([]);
  });

  test("drift: --since 5x, --until before --since, a malformed model ref, a bad --retrain-cronjob or --retrain-cooldown", async () => {
    const model = ["--model", "fraud@champion", "--payload-uri", `file://${dir}/payloads`, "--out", join(dir, "drift-out")];
    await refuses("drift", [...model, "--since", "5x"], /--since/, /"5x"/);
    await refuses("drift", [...model, "--since", "1h", "--until", "2h"], /--until|--since/);
    await refuses("drift", ["--model", "fraud@", "--since", "1h", "--payload-uri", `file://${dir}/payloads`, "--registry", s.staging.uri, "--out", join(dir, "drift-out")], /"fraud@"/);
    await refuses("drift", [...model, "--since", "1h", "--retrain-cronjob", "no-namespace"], /--retrain-cronjob/, /"no-namespace"/, /<namespace>\/<name>/);
    await refuses("drift", [...model, "--since", "1h", "--retrain-cronjob", "ml/train", "--retrain-cooldown", "6 hours"], /--retrain-cooldown: is not a duration/, /"6 hours"/, /"6h"/);
    await refuses("drift", [...model, "--since", "1h", "--retrain-cooldown", "6h"], /--retrain-cooldown: only applies with --retrain-cronjob/, /"6h"/);
    await refuses("drift", [...model, "--since", "1h", "--threshold=-1"], /--threshold/, /"-1"/);
    expect(await readdir(dir)).not.toContain("drift-out");
  });

  test("drift: --endpoint-spec and --on-drift-train files that do not exist are named by their flag", async () => {
    await refuses("drift", ["--endpoint-spec", join(dir, "missing-endpoint.yaml"), "--since", "1h"], /^--endpoint-spec: cannot be read \(ENOENT\)/, /missing-endpoint\.yaml/);
    await refuses("drift", ["--model", "fraud@champion", "--since", "1h", "--payload-uri", "file:///x", "--on-drift-train", join(dir, "missing-train.yaml")], /^--on-drift-train: cannot be read \(ENOENT\)/, /missing-train\.yaml/);
  });

  test("drift: modes mixed up are named", async () => {
    await refuses("drift", ["--reference", "a.csv", "--current", "b.csv", "--out", dir, "--since", "1h"], /--since: only applies with --model/);
    await refuses("drift", ["--model", "fraud@champion", "--reference", "a.csv", "--since", "1h"], /--reference: cannot be given with --model/);
  });

  test("serve: a --variants file that does not exist, or is not YAML, is named by --variants", async () => {
    await refuses("serve", ["--model", "fraud@champion", "--registry", s.staging.uri, "--port", "0", "--variants", join(dir, "missing-variants.yaml")], /^--variants: cannot be read \(ENOENT\)/, /missing-variants\.yaml/);
    const bad = join(dir, "bad-variants.yaml");
    await writeFile(bad, "canary: [unclosed\n");
    await refuses("serve", ["--model", "fraud@champion", "--registry", s.staging.uri, "--port", "0", "--variants", bad], /bad-variants\.yaml: is not valid YAML/);
  });

  test("through main: a bad --since exits 2 naming it", async () => {
    const r = await mlops(["drift", "--model", "fraud@champion", "--since", "5x", "--payload-uri", `file://${dir}/p`, "--registry", s.staging.uri, "--out", join(dir, "o")]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--since.*"5x"/);
    expect(r.stderr).not.toMatch(/internal error/);
  });
});
