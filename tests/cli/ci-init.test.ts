/**
 * `mlops ci init`: the files it writes for each provider validate against the provider's published JSON
 * Schema (GitHub, GitLab, CircleCI), it never overwrites without --force, it refuses bad input naming the
 * fix, and this repository's own .github/workflows are exactly what it generates today.
 */
import { existsSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ciCommand, ciFiles } from "../../cli/ci-init.js";
import { ciContext, stagesOf } from "../../cli/ci/context.js";
import { MlopsError } from "../../src/errors.js";
import { mlops, ROOT } from "../helpers/cli.js";
import { schemaErrors, type SchemaProvider } from "./ci-schemas.js";

let base: string;
let n = 0;

/** A Pulumi project as a user has it: a project file, stack files for three stages, a package.json. */
async function project(): Promise<string> {
  const dir = join(base, `project${++n}`);
  await mkdir(join(dir, "infra"), { recursive: true });
  await writeFile(join(dir, "Pulumi.yaml"), "name: fraud-platform\nruntime: nodejs\nstackConfigDir: infra\n");
  for (const stack of ["dev", "staging", "prod-eu"]) await writeFile(join(dir, "infra", `Pulumi.${stack}.yaml`), "config: {}\n");
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "fraud-platform", private: true }));
  return dir;
}

/** `mlops ci …` in this process (the command's own code; the CLI's exit codes are checked once below). */
async function ci(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const lines: string[] = [];
  try {
    const code = await ciCommand(args, (l) => lines.push(l));
    return { code, stdout: lines.join("\n"), stderr: "" };
  } catch (e) {
    if (!(e instanceof MlopsError)) throw e;
    return { code: 2, stdout: lines.join("\n"), stderr: `error: ${e.message}` };
  }
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "mlops-ci-"));
});
afterAll(() => rm(base, { recursive: true, force: true }));

const PATHS: Record<string, string[]> = {
  github: ["mlops-pull-request.yml", "mlops-deploy-dev.yml", "mlops-promote.yml", "mlops-retrain.yml", "mlops-e2e.yml"].map((f) => `.github/workflows/${f}`),
  gitlab: [".gitlab-ci.yml"],
  circleci: [".circleci/config.yml"],
  jenkins: ["Jenkinsfile"],
};

describe.each(Object.keys(PATHS))("mlops ci init --provider %s", (provider) => {
  test("writes the provider's pipeline files and says which", async () => {
    const dir = await project();
    const r = await ci(["init", "--provider", provider, "--out", dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ provider, out: dir, files: PATHS[provider], overwritten: [] });
    for (const rel of PATHS[provider]!) expect(existsSync(join(dir, rel)), rel).toBe(true);
  });

  test("fails naming the file when it exists, writes nothing, and overwrites it with --force", async () => {
    const dir = await project();
    const first = PATHS[provider]![0]!;
    await mkdir(join(dir, first, ".."), { recursive: true });
    await writeFile(join(dir, first), "# mine\n");
    const refused = await ci(["init", "--provider", provider, "--out", dir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${join(dir, first)} already exists; nothing was written. Pass --force to overwrite`);
    expect(await readFile(join(dir, first), "utf8")).toBe("# mine\n");
    for (const rel of PATHS[provider]!.slice(1)) expect(existsSync(join(dir, rel)), rel).toBe(false);

    const forced = await ci(["init", "--provider", provider, "--out", dir, "--force"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout).overwritten).toEqual([first]);
    expect(await readFile(join(dir, first), "utf8")).toBe(ciFiles(provider as never, dir).get(first));
  });
});

describe.each(["github", "gitlab", "circleci"] as SchemaProvider[])("%s files against the published JSON Schema", (provider) => {
  test("every file is valid", async () => {
    const dir = await project();
    const files = ciFiles(provider, dir);
    expect(files.size).toBe(PATHS[provider]!.length);
    for (const [path, text] of files) expect([path, schemaErrors(provider, YAML.parse(text))]).toEqual([path, []]);
  });

  test("the schema catches a broken file (so the check above can fail)", async () => {
    const dir = await project();
    const [path, text] = [...ciFiles(provider, dir)][0]!;
    const doc = YAML.parse(text);
    if (provider === "github") delete doc.jobs[Object.keys(doc.jobs)[0]!]["runs-on"];
    if (provider === "gitlab") doc["type-check-and-test"].scripts = doc["type-check-and-test"].script;
    if (provider === "circleci") doc.jobs.check.steps = "npm test";
    expect(schemaErrors(provider, doc), path).not.toEqual([]);
  });
});

test("the mlops command dispatches `ci init` and writes the files (exit 0)", async () => {
  const dir = await project();
  const r = await mlops(["ci", "init", "--provider", "gitlab", "--out", dir]);
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout).files).toEqual([".gitlab-ci.yml"]);
  expect((await mlops(["help"])).stdout).toContain("mlops ci init --provider github|gitlab|circleci|jenkins [--out <dir>] [--force]");
});

describe("errors", () => {
  test("names the provider flag and the providers there are (the real command, exit 2)", async () => {
    const r = await mlops(["ci", "init", "--provider", "travis", "--out", await project()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--provider: is not a provider mlops writes pipelines for; received "travis". Pass one of github, gitlab, circleci, jenkins.');
  });

  test("fails outside a Pulumi project, naming the folder and the fix", async () => {
    const dir = join(base, "empty");
    await mkdir(dir, { recursive: true });
    const r = await ci(["init", "--provider", "github", "--out", dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--out: has no Pulumi.yaml; received "${dir}". Run \`mlops ci init\` at the root of your Pulumi project`);
    expect(readdirSync(dir)).toEqual([]);
  });

  test("refuses an unknown subcommand and an empty --test", async () => {
    expect((await ci(["make"])).stderr).toContain('unknown subcommand "make": the ci command has one, init');
    const r = await ci(["init", "--provider", "github", "--out", await project(), "--test", " "]);
    expect(r.stderr).toContain('--test: is empty; received " ". Pass the command that runs your tests');
  });
});

describe("what the generator reads from the repository", () => {
  test("takes each stage's stack from the stack files: its own name, else the first of its tier", () => {
    expect(stagesOf(["Pulumi.dev.yaml", "Pulumi.staging.yaml", "Pulumi.prod-eu.yaml", "Pulumi.prod-us.yaml", "README.md"])).toEqual({ dev: "dev", staging: "staging", prod: "prod-eu" });
    expect(stagesOf(["Pulumi.development.yaml", "Pulumi.qa.yml"])).toEqual({ dev: "development", staging: "qa", prod: "prod" });
  });

  test("runs mlops and the policy pack from the installed package in a user's project, from source here", async () => {
    const user = ciContext(await project());
    expect(user).toMatchObject({ project: "fraud-platform", mlops: "npx mlops", policyPack: "node_modules/pulumi-mlops/policy", runtimeDir: "node_modules/pulumi-mlops", stacks: { prod: "prod-eu" } });
    expect(user.build).toBeUndefined();
    expect(ciContext(ROOT)).toMatchObject({ project: "pulumi-mlops", mlops: "node bin/mlops.js", policyPack: "policy", build: "npm run build", runtimeDir: "." });
  });
});

/**
 * The flags this repository's workflows are generated with: its tests need the Debian packages .ci/run
 * installs (as root, keeping the runner's Node.js on PATH).
 */
const SELF_TEST = 'sudo env PATH="$PATH" bash .ci/run';

describe("this repository", () => {
  test("uses the GitHub workflows `mlops ci init --provider github` generates today", async () => {
    const expected = ciFiles("github", ROOT, { test: SELF_TEST });
    const dir = join(ROOT, ".github", "workflows");
    const committed = readdirSync(dir).filter((f) => f.startsWith("mlops-")).sort();
    expect(committed).toEqual([...expected.keys()].map((p) => p.split("/").pop()).sort());
    for (const [rel, content] of expected) expect(await readFile(join(ROOT, rel), "utf8"), `${rel} is stale: regenerate it (README, "CI pipelines")`).toBe(content);
  });
});
