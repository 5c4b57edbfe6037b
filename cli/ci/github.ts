/**
 * GitHub Actions: one workflow per trigger under .github/workflows/. Cloud access is OpenID Connect (an IAM
 * role per stage, no keys), the prod promotion waits for the `prod` environment's required reviewers.
 */
import type { CiContext } from "./context.js";
import { deploy, e2e, INSTALL, JOB_ENV, KIND_CLUSTER, preview, promote, retrain, SECRETS, STAGES, SYNTH_FILES, synthDiff, TYPECHECK, type Stage } from "./scripts.js";
import { header, yaml } from "./yaml.js";

const secret = (name: string) => `\${{ secrets.${name} }}`;
const REGION = "${{ vars.AWS_REGION || 'us-east-1' }}";

function setup(ctx: CiContext): object[] {
  return [
    { uses: "actions/checkout@v4" },
    { uses: "actions/setup-node@v4", with: { "node-version": ctx.node, cache: "npm" } },
    { name: "Install", run: INSTALL },
  ];
}

function cloud(role: string): object[] {
  return [
    { name: "Install the Pulumi CLI", run: 'curl -fsSL https://get.pulumi.com | sh\necho "$HOME/.pulumi/bin" >> "$GITHUB_PATH"' },
    { name: "AWS credentials (OIDC)", uses: "aws-actions/configure-aws-credentials@v4", with: { "role-to-assume": role, "aws-region": REGION } },
  ];
}

const PULUMI_ENV = { PULUMI_ACCESS_TOKEN: secret(SECRETS.pulumiToken) };
const OIDC = { contents: "read", "id-token": "write" };

function pullRequest(ctx: CiContext): object {
  return {
    name: "mlops: pull request",
    on: { pull_request: { branches: [ctx.branch] } },
    permissions: { contents: "read" },
    env: { ...JOB_ENV },
    jobs: {
      check: {
        name: "Type-check and test",
        "runs-on": "ubuntu-latest",
        steps: [...setup(ctx), { name: "Type-check", run: TYPECHECK }, { name: "Test", run: ctx.test }],
      },
      synth: {
        name: "mlops synth, diffed against the base branch",
        "runs-on": "ubuntu-latest",
        permissions: { contents: "read", "pull-requests": "write" },
        steps: [
          ...setup(ctx),
          { name: "Synth and diff", env: { BASE_REF: "${{ github.base_ref }}" }, run: synthDiff(ctx) },
          { name: "Keep the diff", uses: "actions/upload-artifact@v4", with: { name: "mlops-synth", path: `${SYNTH_FILES.diff}\n${SYNTH_FILES.comment}\n${SYNTH_FILES.dir}/` } },
          {
            name: "Post it on the pull request",
            if: "github.event.pull_request.head.repo.full_name == github.repository",
            env: { GH_TOKEN: "${{ github.token }}", PR: "${{ github.event.pull_request.number }}" },
            run: `gh pr comment "$PR" --edit-last --body-file ${SYNTH_FILES.comment} || gh pr comment "$PR" --body-file ${SYNTH_FILES.comment}`,
          },
        ],
      },
      preview: {
        name: "pulumi preview (${{ matrix.stage }})",
        "runs-on": "ubuntu-latest",
        if: "github.event.pull_request.head.repo.full_name == github.repository",
        permissions: OIDC,
        strategy: { "fail-fast": false, matrix: { include: STAGES.map((stage) => ({ stage, role: SECRETS.roleArn[stage] })) } },
        env: PULUMI_ENV,
        steps: [
          ...setup(ctx),
          ...cloud("${{ secrets[matrix.role] }}"),
          ...STAGES.map((stage) => ({ name: `Preview ${ctx.stacks[stage]}`, if: `matrix.stage == '${stage}'`, run: preview(ctx, stage) })),
        ],
      },
    },
  };
}

function deployJob(ctx: CiContext, stage: Stage, name: string): object {
  return {
    name,
    "runs-on": "ubuntu-latest",
    environment: stage,
    permissions: OIDC,
    env: PULUMI_ENV,
    steps: [...setup(ctx), ...cloud(secret(SECRETS.roleArn[stage])), { name: `pulumi up ${ctx.stacks[stage]}`, run: deploy(ctx, stage) }],
  };
}

function deployDev(ctx: CiContext): object {
  return {
    name: "mlops: deploy dev",
    on: { push: { branches: [ctx.branch] } },
    concurrency: { group: "mlops-deploy-dev", "cancel-in-progress": false },
    permissions: { contents: "read" },
    env: { ...JOB_ENV },
    jobs: { deploy: deployJob(ctx, "dev", `Deploy ${ctx.stacks.dev}`) },
  };
}

function promotion(ctx: CiContext): object {
  const steps = (dryRun: boolean) => [...setup(ctx), ...cloud(secret(SECRETS.roleArn.prod)), { name: dryRun ? "Check what prod demands (dry run)" : "mlops promote", env: { RELEASE: "${{ inputs.release }}" }, run: promote(ctx, dryRun) }];
  return {
    name: "mlops: promote staging to prod",
    on: { workflow_dispatch: { inputs: { release: { description: "The release to promote (mlops release list)", required: true, type: "string" } } } },
    concurrency: { group: "mlops-promote-prod", "cancel-in-progress": false },
    permissions: { contents: "read" },
    env: { ...JOB_ENV, ...PULUMI_ENV, MLOPS_STAGING_REGISTRY: "${{ vars.MLOPS_STAGING_REGISTRY }}", MLOPS_PROD_REGISTRY: "${{ vars.MLOPS_PROD_REGISTRY }}" },
    jobs: {
      check: { name: "Check the release against prod", "runs-on": "ubuntu-latest", permissions: OIDC, steps: steps(true) },
      promote: {
        name: "Promote to prod (after approval)",
        needs: "check",
        "runs-on": "ubuntu-latest",
        // The `prod` environment's required reviewers are the manual approval.
        environment: "prod",
        permissions: OIDC,
        steps: steps(false),
      },
    },
  };
}

function retraining(ctx: CiContext): object {
  return {
    name: "mlops: scheduled retrain",
    on: { schedule: [{ cron: ctx.retrainCron }], workflow_dispatch: {} },
    permissions: { contents: "read" },
    env: { ...JOB_ENV, ...PULUMI_ENV },
    jobs: {
      retrain: {
        name: `Retrain in ${ctx.stacks.staging}`,
        "runs-on": "ubuntu-latest",
        permissions: OIDC,
        steps: [...setup(ctx), ...cloud(secret(SECRETS.roleArn.staging)), { name: "Start a training run", run: retrain(ctx) }],
      },
    },
  };
}

function endToEnd(ctx: CiContext): object {
  return {
    name: "mlops: end to end on kind",
    on: { push: { branches: [ctx.branch] }, workflow_dispatch: {} },
    permissions: { contents: "read" },
    env: { ...JOB_ENV, ...PULUMI_ENV },
    jobs: {
      e2e: {
        name: "kind cluster, pulumi up of the dev stack, call the endpoint",
        "runs-on": "ubuntu-latest",
        "timeout-minutes": 60,
        permissions: OIDC,
        steps: [
          ...setup(ctx),
          { name: "kind cluster", uses: "helm/kind-action@v1", with: { cluster_name: KIND_CLUSTER } },
          ...cloud(secret(SECRETS.roleArn.dev)),
          { name: "Deploy and call the endpoint", env: { RUN_ID: "${{ github.run_id }}-${{ github.run_attempt }}", KIND_READY: "1" }, run: e2e(ctx) },
        ],
      },
    },
  };
}

/** The workflow files, by path relative to the repository root. */
export function githubFiles(ctx: CiContext): Map<string, string> {
  const secrets = `secrets ${SECRETS.pulumiToken}, ${Object.values(SECRETS.roleArn).join(", ")} (IAM roles trusting GitHub's OIDC); environments dev, staging, prod (required reviewers on prod); optional variables AWS_REGION (us-east-1), MLOPS_STAGING_REGISTRY, MLOPS_PROD_REGISTRY (else the stacks' registryUri)`;
  const files = new Map<string, string>();
  const add = (name: string, doc: object) => files.set(`.github/workflows/${name}`, header("github", secrets) + yaml(doc));
  add("mlops-pull-request.yml", pullRequest(ctx));
  add("mlops-deploy-dev.yml", deployDev(ctx));
  add("mlops-promote.yml", promotion(ctx));
  add("mlops-retrain.yml", retraining(ctx));
  add("mlops-e2e.yml", endToEnd(ctx));
  return files;
}
