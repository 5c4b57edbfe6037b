/**
 * CircleCI: one .circleci/config.yml (version 2.1). Secrets live in the `mlops` context; cloud access is
 * CircleCI's OIDC token exchanged for a stage's IAM role by the AWS SDK itself; the prod promotion waits
 * on an approval job.
 */
import type { CiContext } from "./context.js";
import { deploy, e2e, INSTALL, INSTALL_PULUMI, JOB_ENV, preview, promote, retrain, SECRETS, STAGES, SYNTH_FILES, synthDiff, TYPECHECK } from "./scripts.js";
import { header, yaml } from "./yaml.js";

const CONTEXT = "mlops";

const run = (name: string, command: string, environment?: Record<string, string>) => ({ run: { name, command, ...(environment ? { environment } : {}) } });

function config(ctx: CiContext): Record<string, unknown> {
  const notMain = { branches: { ignore: [ctx.branch] } };
  const onlyMain = { branches: { only: [ctx.branch] } };
  const stageParam = { stage: { type: "enum", enum: [...STAGES] } };
  const roleFor = `case "<< parameters.stage >>" in\n${STAGES.map((s) => `  ${s}) AWS_ROLE_ARN="$${SECRETS.roleArn[s]}" ;;`).join("\n")}\nesac`;
  return {
    version: 2.1,
    parameters: {
      release: { type: "string", default: "", description: "The release to promote from staging to prod (trigger a pipeline with it set)" },
    },
    executors: {
      node: { docker: [{ image: `cimg/node:${ctx.node}.19` }], environment: { ...JOB_ENV } },
      machine: { machine: { image: "ubuntu-2404:current" }, environment: { ...JOB_ENV } },
    },
    commands: {
      setup: { steps: ["checkout", run("Install", INSTALL)] },
      cloud: {
        description: "The Pulumi CLI, and the stage's IAM role through CircleCI's OIDC token",
        parameters: stageParam,
        steps: [
          run("Install the Pulumi CLI", `curl -fsSL https://get.pulumi.com | sh\necho 'export PATH="$HOME/.pulumi/bin:$PATH"' >> "$BASH_ENV"`),
          run(
            "AWS credentials (OIDC)",
            `${roleFor}\nprintf %s "$CIRCLE_OIDC_TOKEN_V2" > /tmp/aws-web-identity\n{ echo "export AWS_ROLE_ARN=$AWS_ROLE_ARN"; echo "export AWS_WEB_IDENTITY_TOKEN_FILE=/tmp/aws-web-identity"; } >> "$BASH_ENV"`,
          ),
        ],
      },
    },
    jobs: {
      check: { executor: "node", steps: [{ setup: {} }, run("Type-check", TYPECHECK), run("Test", ctx.test)] },
      "synth-diff": {
        executor: "node",
        steps: [
          { setup: {} },
          run("Synth and diff", synthDiff(ctx), { BASE_REF: ctx.branch }),
          { store_artifacts: { path: SYNTH_FILES.diff } },
          { store_artifacts: { path: SYNTH_FILES.comment } },
          run(
            "Post it on the pull request (GITHUB_TOKEN in the context)",
            [
              'if [ -n "${CIRCLE_PULL_REQUEST:-}" ] && [ -n "${GITHUB_TOKEN:-}" ]; then',
              `  node -e 'process.stdout.write(JSON.stringify({ body: require("fs").readFileSync("${SYNTH_FILES.comment}", "utf8") }))' > /tmp/comment.json`,
              '  curl --fail --silent --show-error -H "Authorization: Bearer $GITHUB_TOKEN" -H "Accept: application/vnd.github+json" --data @/tmp/comment.json "https://api.github.com/repos/$CIRCLE_PROJECT_USERNAME/$CIRCLE_PROJECT_REPONAME/issues/${CIRCLE_PULL_REQUEST##*/}/comments" > /dev/null',
              "fi",
            ].join("\n"),
          ),
        ],
      },
      preview: {
        executor: "node",
        parameters: stageParam,
        steps: [{ setup: {} }, { cloud: { stage: "<< parameters.stage >>" } }, ...STAGES.map((s) => ({ when: { condition: { equal: [s, "<< parameters.stage >>"] }, steps: [run(`Preview ${ctx.stacks[s]}`, preview(ctx, s))] } }))],
      },
      "deploy-dev": { executor: "node", steps: [{ setup: {} }, { cloud: { stage: "dev" } }, run(`pulumi up ${ctx.stacks.dev}`, deploy(ctx, "dev"))] },
      e2e: {
        executor: "machine",
        steps: [
          "checkout",
          run(
            "Node.js, kind and kubectl",
            [
              `curl -fsSL https://deb.nodesource.com/setup_${ctx.node}.x | sudo -E bash - && sudo apt-get install -y nodejs`,
              "sudo curl -fsSLo /usr/local/bin/kind https://kind.sigs.k8s.io/dl/v0.24.0/kind-linux-amd64 && sudo chmod +x /usr/local/bin/kind",
              'sudo curl -fsSLo /usr/local/bin/kubectl "https://dl.k8s.io/release/$(curl -fsSL https://dl.k8s.io/release/stable.txt)/bin/linux/amd64/kubectl" && sudo chmod +x /usr/local/bin/kubectl',
            ].join("\n"),
          ),
          run("Install", INSTALL),
          { cloud: { stage: "dev" } },
          run("Deploy and call the endpoint", e2e(ctx), { RUN_ID: "<< pipeline.number >>" }),
        ],
      },
      "promote-check": { executor: "node", steps: [{ setup: {} }, { cloud: { stage: "prod" } }, run("Check what prod demands (dry run)", promote(ctx, true), { RELEASE: "<< pipeline.parameters.release >>" })] },
      promote: { executor: "node", steps: [{ setup: {} }, { cloud: { stage: "prod" } }, run("mlops promote", promote(ctx, false), { RELEASE: "<< pipeline.parameters.release >>" })] },
      retrain: {
        executor: "node",
        steps: [
          { setup: {} },
          { cloud: { stage: "staging" } },
          run("kubectl", 'sudo curl -fsSLo /usr/local/bin/kubectl "https://dl.k8s.io/release/$(curl -fsSL https://dl.k8s.io/release/stable.txt)/bin/linux/amd64/kubectl" && sudo chmod +x /usr/local/bin/kubectl'),
          run("Start a training run", retrain(ctx)),
        ],
      },
    },
    workflows: {
      "pull-request": {
        when: { and: [{ equal: ["", "<< pipeline.parameters.release >>"] }, { not: { equal: ["scheduled_pipeline", "<< pipeline.trigger_source >>"] } }] },
        jobs: [
          { check: { filters: notMain } },
          { "synth-diff": { context: CONTEXT, filters: notMain } },
          { preview: { name: "preview-<< matrix.stage >>", context: CONTEXT, filters: notMain, matrix: { parameters: { stage: [...STAGES] } } } },
        ],
      },
      main: {
        when: { and: [{ equal: ["", "<< pipeline.parameters.release >>"] }, { not: { equal: ["scheduled_pipeline", "<< pipeline.trigger_source >>"] } }] },
        jobs: [{ "deploy-dev": { context: CONTEXT, filters: onlyMain } }, { e2e: { context: CONTEXT, filters: onlyMain } }],
      },
      promote: {
        when: { not: { equal: ["", "<< pipeline.parameters.release >>"] } },
        jobs: [
          { "promote-check": { context: CONTEXT } },
          { "approve-prod": { type: "approval", requires: ["promote-check"] } },
          { promote: { context: CONTEXT, requires: ["approve-prod"] } },
        ],
      },
      retrain: {
        // A scheduled pipeline (Project Settings > Triggers) with the cron in this file's header starts it.
        when: { equal: ["scheduled_pipeline", "<< pipeline.trigger_source >>"] },
        jobs: [{ retrain: { context: CONTEXT } }],
      },
    },
  };
}

export function circleciFiles(ctx: CiContext): Map<string, string> {
  const needs = `a context "${CONTEXT}" with ${SECRETS.pulumiToken}, ${Object.values(SECRETS.roleArn).join(", ")} and optionally GITHUB_TOKEN (to post the synth diff); a scheduled pipeline "${ctx.retrainCron}" for the retrain`;
  return new Map([[".circleci/config.yml", header("circleci", needs) + yaml(config(ctx))]]);
}
