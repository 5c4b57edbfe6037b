/**
 * What the generated pipelines do, provider by provider: on a pull request type-check, test, synth diffed
 * against the base branch and posted, preview of every stage with the policy pack; on merge deploy dev and
 * the kind end-to-end run; the promotion behind a manual approval; the scheduled retrain. Secrets only as
 * the provider's references. The Jenkinsfile's declarative structure, the shell's syntax, and the synth
 * diff script run for real against a git repository.
 */
import { execFileSync } from "node:child_process";
import { chmodSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ciFiles } from "../../cli/ci-init.js";
import { ciContext, type CiContext } from "../../cli/ci/context.js";
import { deploy, e2e, preview, promote, retrain, SYNTH_FILES, synthDiff } from "../../cli/ci/scripts.js";
import { ROOT } from "../helpers/cli.js";
import { jenkinsBlocks, type Block } from "./jenkinsfile.js";

let dir: string;
let ctx: CiContext;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-ci-pipelines-"));
  await writeFile(join(dir, "Pulumi.yaml"), "name: shop\nruntime: nodejs\n");
  for (const s of ["dev", "staging", "prod"]) await writeFile(join(dir, `Pulumi.${s}.yaml`), "config: {}\n");
  ctx = ciContext(dir);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const one = (provider: "github" | "gitlab" | "circleci" | "jenkins", path?: string) => {
  const files = ciFiles(provider, dir);
  return files.get(path ?? [...files.keys()][0]!)!;
};
const wf = (name: string) => YAML.parse(one("github", `.github/workflows/${name}`));
const runs = (job: any) => (job.steps as any[]).map((s) => s.run ?? "").join("\n");
const STAGE_STACKS = ["dev", "staging", "prod"];

describe("GitHub Actions", () => {
  test("a pull request type-checks, tests, posts the synth diff and previews every stage with the policy pack", () => {
    const pr = wf("mlops-pull-request.yml");
    expect(Object.keys(pr.on)).toEqual(["pull_request"]);
    expect(runs(pr.jobs.check)).toMatch(/npx tsc --noEmit[\s\S]*npm test/);
    const synth = pr.jobs.synth;
    expect(synth.steps.find((s: any) => s.run?.includes("synth")).env).toEqual({ BASE_REF: "${{ github.base_ref }}" });
    expect(runs(synth)).toContain(`gh pr comment "$PR" --edit-last --body-file ${SYNTH_FILES.comment}`);
    expect(synth.permissions["pull-requests"]).toBe("write");
    expect(synth.steps.some((s: any) => s.uses === "actions/upload-artifact@v4")).toBe(true);
    expect(pr.jobs.preview.strategy.matrix.include.map((m: any) => m.stage)).toEqual(STAGE_STACKS);
    for (const stage of STAGE_STACKS) expect(runs(pr.jobs.preview)).toContain(`pulumi preview --stack ${stage} --policy-pack node_modules/pulumi-mlops/policy`);
  });

  test("a merge deploys dev with pulumi up and runs the kind end-to-end job", () => {
    const dev = wf("mlops-deploy-dev.yml");
    expect(dev.on).toEqual({ push: { branches: ["main"] } });
    expect(runs(dev.jobs.deploy)).toContain("pulumi up --yes --stack dev --policy-pack");
    const e2eJob = wf("mlops-e2e.yml").jobs.e2e;
    expect(e2eJob.steps.find((s: any) => s.uses === "helm/kind-action@v1").with.cluster_name).toBe("mlops-e2e");
    expect(runs(e2eJob)).toMatch(/kind load docker-image[\s\S]*pulumi up --yes --stack "\$stack"[\s\S]*curl --fail[^\n]*\/v2\/health\/live/);
  });

  test("promotes a release to prod with mlops promote only after the prod environment's approval", () => {
    const p = wf("mlops-promote.yml");
    expect(p.on.workflow_dispatch.inputs.release.required).toBe(true);
    expect(runs(p.jobs.check)).toContain('npx mlops promote "$RELEASE" --from');
    expect(runs(p.jobs.check)).toContain("--dry-run");
    expect(p.jobs.promote).toMatchObject({ needs: "check", environment: "prod" });
    expect(runs(p.jobs.promote)).not.toContain("--dry-run");
  });

  test("retrains on a schedule", () => {
    const r = wf("mlops-retrain.yml");
    expect(r.on.schedule).toEqual([{ cron: ctx.retrainCron }]);
    expect(runs(r.jobs.retrain)).toContain("pulumi stack output runTrainingNow --stack staging");
  });

  test("takes every secret from the secrets store, and cloud access from OIDC roles (no keys)", () => {
    for (const [path, text] of ciFiles("github", dir)) {
      const refs = [...text.matchAll(/\$\{\{\s*secrets[.[]([^\s}]+)/g)].map((m) => m[1]);
      const assigned = [...text.matchAll(/^\s*([A-Z_]*(TOKEN|SECRET|PASSWORD|ROLE_ARN|KEY)[A-Z_]*): (.*)$/gm)].map((m) => [m[1], m[3]]);
      for (const [k, v] of assigned) expect([path, k, v]).toEqual([path, k, expect.stringMatching(/^\$\{\{ (secrets\.[A-Z_]+|github\.token) \}\}$/)]);
      expect(text).not.toMatch(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AKIA[0-9A-Z]{16}/);
      if (text.includes("configure-aws-credentials")) expect(refs.length, path).toBeGreaterThan(0);
    }
  });
});

describe("GitLab CI", () => {
  const doc = () => YAML.parse(one("gitlab"));

  test("merge requests check, diff synth into a note and an artifact, and preview every stage", () => {
    const d = doc();
    expect(d["type-check-and-test"].script).toEqual(["npm ci --no-audit --no-fund", "npx tsc --noEmit", "npm test"]);
    expect(d["synth-diff"].variables.BASE_REF).toBe("$CI_MERGE_REQUEST_TARGET_BRANCH_NAME");
    expect(d["synth-diff"].script.join("\n")).toContain("/merge_requests/$CI_MERGE_REQUEST_IID/notes");
    expect(d["synth-diff"].artifacts.paths).toEqual([SYNTH_FILES.diff, SYNTH_FILES.comment]);
    for (const stage of STAGE_STACKS) expect(d[`preview:${stage}`].script[0]).toBe(preview(ctx, stage as never));
  });

  test("deploys dev and runs kind in docker-in-docker on the main branch; promotes by a manual job on the prod environment", () => {
    const d = doc();
    expect(d["deploy:dev"].script).toEqual([deploy(ctx, "dev")]);
    expect(d["e2e:kind"].services).toEqual([{ name: "docker:27-dind", alias: "docker" }]);
    expect(d["e2e:kind"].script.at(-1)).toBe(e2e(ctx));
    expect(d["promote:prod"]).toMatchObject({ needs: ["promote:check"], allow_failure: false, environment: { name: "prod" } });
    expect(d["promote:prod"].rules[0].when).toBe("manual");
    expect(d["promote:prod"].script).toEqual([promote(ctx, false)]);
    expect(d.retrain.rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "schedule"' }]);
  });

  test("uses OIDC id_tokens and variables for secrets, never a literal", () => {
    const d = doc();
    for (const job of ["preview:prod", "deploy:dev", "promote:prod", "retrain", "e2e:kind"]) {
      expect(d[job].id_tokens.AWS_ID_TOKEN.aud).toBe("sts.amazonaws.com");
      expect(d[job].variables.AWS_ROLE_ARN).toMatch(/^\$AWS_(DEV|STAGING|PROD)_ROLE_ARN$/);
    }
    expect(one("gitlab")).not.toMatch(/PULUMI_ACCESS_TOKEN:|AWS_SECRET_ACCESS_KEY|AKIA[0-9A-Z]{16}/);
  });
});

describe("CircleCI", () => {
  const doc = () => YAML.parse(one("circleci"));

  test("every job a workflow names is defined, every command a job uses too, and approval comes before promote", () => {
    const d = doc();
    const names = (wfl: any) => wfl.jobs.map((j: any) => (typeof j === "string" ? j : Object.keys(j)[0]));
    for (const [name, wfl] of Object.entries<any>(d.workflows)) {
      for (const job of names(wfl)) if (job !== "approve-prod") expect(Object.keys(d.jobs), `${name}: ${job}`).toContain(job);
    }
    for (const job of Object.values<any>(d.jobs)) {
      expect(Object.keys(d.executors)).toContain(job.executor);
      for (const step of job.steps) {
        const key = typeof step === "string" ? step : Object.keys(step)[0];
        expect(["checkout", "run", "store_artifacts", "when", ...Object.keys(d.commands)]).toContain(key);
      }
    }
    const promoteFlow = d.workflows.promote.jobs;
    expect(promoteFlow[1]).toEqual({ "approve-prod": { type: "approval", requires: ["promote-check"] } });
    expect(promoteFlow[2].promote.requires).toEqual(["approve-prod"]);
    expect(d.workflows.retrain.when).toEqual({ equal: ["scheduled_pipeline", "<< pipeline.trigger_source >>"] });
  });

  test("runs the same scripts, with secrets only from the mlops context", () => {
    const text = one("circleci");
    for (const script of [synthDiff(ctx), deploy(ctx, "dev"), promote(ctx, true), promote(ctx, false), retrain(ctx), e2e(ctx)]) {
      expect(text).toContain(script.split("\n")[0]);
    }
    expect(text).not.toMatch(/PULUMI_ACCESS_TOKEN:|AWS_SECRET_ACCESS_KEY|AKIA[0-9A-Z]{16}/);
    const d = doc();
    for (const wfl of Object.values<any>(d.workflows)) {
      for (const j of wfl.jobs) {
        const [name, cfg] = Object.entries<any>(j)[0]!;
        if (!["check", "approve-prod"].includes(name)) expect(cfg.context, name).toBe("mlops");
      }
    }
  });
});

describe("Jenkins", () => {
  const find = (b: Block, name: string) => b.children.filter((c) => c.name === name);

  test("is a declarative pipeline: pipeline { agent … stages { stage(…) { steps … } } }", () => {
    const top = jenkinsBlocks(one("jenkins"));
    expect(top.map((b) => b.name)).toEqual(["pipeline"]);
    const pipeline = top[0]!;
    expect(pipeline.children.map((c) => c.name)).toEqual(expect.arrayContaining(["agent", "stages", "environment", "parameters", "triggers"]));
    const stages = find(find(pipeline, "stages")[0]!, "stage");
    expect(stages.length).toBeGreaterThanOrEqual(8);
    for (const s of stages) expect([s.args, find(s, "steps")]).toEqual([s.args, [expect.objectContaining({ name: "steps" })]]);
    expect(pipeline.text).toContain("PULUMI_ACCESS_TOKEN = credentials('pulumi-access-token')");
  });

  test("asks for approval with input before promoting, and runs each job where it belongs", () => {
    const stages = find(find(jenkinsBlocks(one("jenkins"))[0]!, "stages")[0]!, "stage");
    const byName = new Map(stages.map((s) => [s.args.replace(/^'|'$/g, ""), s]));
    const promoteStage = byName.get("Promote to prod")!;
    expect(find(promoteStage, "input")).toHaveLength(1);
    expect(promoteStage.text).toContain('npx mlops promote "$RELEASE"');
    expect(promoteStage.text).not.toContain("--dry-run");
    expect(byName.get("Promote: check what prod demands")!.text).toContain("--dry-run");
    for (const name of ["Type-check and test", "mlops synth diff", "pulumi preview"]) expect(byName.get(name)!.text).toContain("when { changeRequest() }");
    expect(byName.get("Retrain")!.text).toContain("triggeredBy 'TimerTrigger'");
    expect(byName.get("End to end on kind")!.text).toContain("kind create cluster");
  });
});

test("the Jenkinsfile reader refuses what Jenkins could not parse, and sees through braces in shell steps", () => {
  expect(() => jenkinsBlocks("pipeline { stages { stage('a quote's end') { steps { } } } }")).toThrow(/unterminated string/);
  expect(() => jenkinsBlocks("pipeline { stages { stage('a') { steps { } } }")).toThrow(/unclosed block pipeline/);
  const [p] = jenkinsBlocks("pipeline { stages { stage('a') { steps { sh \'\'\'\n{ echo } > f\n\'\'\' } } } }");
  expect(p!.children[0]!.children[0]).toMatchObject({ name: "stage", args: "'a'", children: [{ name: "steps", children: [] }] });
});

describe("the shell the pipelines run", () => {
  test("parses with bash and with POSIX sh (dash)", async () => {
    const scripts = { synthDiff: synthDiff(ctx), deploy: deploy(ctx, "dev"), preview: preview(ctx, "prod"), promote: promote(ctx, false), retrain: retrain(ctx), e2e: e2e(ctx) };
    for (const [name, script] of Object.entries(scripts)) {
      const file = join(dir, `${name}.sh`);
      await writeFile(file, script);
      for (const shell of ["bash", "dash"]) expect(() => execFileSync(shell, ["-n", file], { stdio: "pipe" }), `${shell} ${name}`).not.toThrow();
    }
  });

  test("the synth diff compares every stage at the head with the base branch and writes the comment", async () => {
    // A repository with an origin, a base branch and a head that changes one stage; `mlops synth` is a
    // stand-in that writes the stage's file, so the test runs the script itself, git and diff for real.
    const repo = join(dir, "repo");
    const origin = join(dir, "origin.git");
    await mkdir(repo, { recursive: true });
    const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, stdio: "pipe", env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@e", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@e" } });
    const synth = join(dir, "fake-mlops");
    await writeFile(synth, '#!/bin/sh\n# fake-mlops synth --stack S --out DIR\nmkdir -p "$5" && cp "stack-$3.txt" "$5/plan.json"\n');
    chmodSync(synth, 0o755);
    await writeFile(join(repo, "package.json"), JSON.stringify({ name: "shop", version: "1.0.0", private: true }));
    await writeFile(join(repo, "package-lock.json"), JSON.stringify({ name: "shop", version: "1.0.0", lockfileVersion: 3, requires: true, packages: { "": { name: "shop", version: "1.0.0" } } }));
    for (const s of STAGE_STACKS) await writeFile(join(repo, `stack-${s}.txt`), `${s}: 2 replicas\n`);
    git("init", "-q", "-b", "main");
    git("add", ".");
    git("commit", "-qm", "base");
    execFileSync("git", ["clone", "-q", "--bare", repo, origin]);
    git("remote", "add", "origin", origin);
    git("checkout", "-qb", "change");
    await writeFile(join(repo, "stack-prod.txt"), "prod: 5 replicas\n");
    const script = synthDiff({ ...ctx, mlops: synth });
    execFileSync("bash", ["-e", "-c", script], { cwd: repo, stdio: "pipe", env: { ...process.env, BASE_REF: "main", TMPDIR: dir } });
    const diff = await readFile(join(repo, SYNTH_FILES.diff), "utf8");
    expect(diff).toContain("-prod: 2 replicas");
    expect(diff).toContain("+prod: 5 replicas");
    expect(diff).not.toContain("dev: 2 replicas");
    const comment = await readFile(join(repo, SYNTH_FILES.comment), "utf8");
    expect(comment).toMatch(/^### mlops synth: what this change does to each stage\n[\s\S]*prod\/plan\.json[\s\S]*```diff\n[\s\S]*\+prod: 5 replicas[\s\S]*```\n$/);
  });
});

test("the synth diff of this repository's own workflow runs the command from source", () => {
  expect(synthDiff(ciContext(ROOT))).toContain('node bin/mlops.js synth --stack "$stack"');
});
