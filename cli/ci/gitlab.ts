/**
 * GitLab CI: one .gitlab-ci.yml. Cloud access is GitLab's OIDC id_token exchanged for a stage's IAM role by
 * the AWS SDK itself (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE); the prod promotion is a manual job on the
 * protected `prod` environment (its approvers are the approval).
 */
import type { CiContext } from "./context.js";
import { deploy, e2e, INSTALL, INSTALL_PULUMI, JOB_ENV, preview, promote, retrain, SECRETS, STAGES, SYNTH_FILES, synthDiff, TYPECHECK, type Stage } from "./scripts.js";
import { header, yaml } from "./yaml.js";

const MR = { if: '$CI_PIPELINE_SOURCE == "merge_request_event"' };
const MAIN = (ctx: CiContext) => ({ if: `$CI_COMMIT_BRANCH == "${ctx.branch}" && $CI_PIPELINE_SOURCE == "push"` });
const PROMOTE = { if: '$CI_PIPELINE_SOURCE == "web" && $RELEASE' };

/** A job with a stage's cloud access: the id_token written to a file the AWS SDK reads, and the Pulumi CLI. */
function cloud(stage: Stage): Record<string, unknown> {
  return {
    id_tokens: { AWS_ID_TOKEN: { aud: "sts.amazonaws.com" } },
    variables: { AWS_ROLE_ARN: `$${SECRETS.roleArn[stage]}` },
    before_script: [
      INSTALL,
      INSTALL_PULUMI,
      'export AWS_WEB_IDENTITY_TOKEN_FILE="${TMPDIR:-/tmp}/aws-web-identity"\nprintf %s "$AWS_ID_TOKEN" > "$AWS_WEB_IDENTITY_TOKEN_FILE"',
    ],
  };
}

/** The kind cluster inside the docker:dind service: its API server listens on the service's address. */
const KIND_DIND_CONFIG = [
  "kind: Cluster",
  "apiVersion: kind.x-k8s.io/v1alpha4",
  "networking:",
  '  apiServerAddress: "0.0.0.0"',
  "kubeadmConfigPatches:",
  "  - |",
  "    kind: ClusterConfiguration",
  "    apiServer:",
  "      certSANs: [docker]",
].join("\n");

function pipeline(ctx: CiContext): Record<string, unknown> {
  const previews = Object.fromEntries(
    STAGES.map((stage) => [`preview:${stage}`, { stage: "preview", ...cloud(stage), rules: [MR], script: [preview(ctx, stage)] }]),
  );
  const promoteJob = (dryRun: boolean) => ({
    stage: "promote",
    ...cloud("prod"),
    rules: [dryRun ? PROMOTE : { ...PROMOTE, when: "manual" }],
    ...(dryRun ? {} : { needs: ["promote:check"], allow_failure: false, environment: { name: "prod", action: "start" } }),
    script: [promote(ctx, dryRun)],
  });
  return {
    workflow: { rules: [MR, { if: `$CI_COMMIT_BRANCH == "${ctx.branch}"` }, { if: '$CI_PIPELINE_SOURCE == "web"' }, { if: '$CI_PIPELINE_SOURCE == "schedule"' }] },
    stages: ["check", "preview", "deploy", "promote", "retrain"],
    default: { image: `node:${ctx.node}-bookworm` },
    variables: {
      ...JOB_ENV,
      RELEASE: { value: "", description: "The release to promote from staging to prod (run the pipeline from the web with it set)" },
    },
    "type-check-and-test": { stage: "check", rules: [MR], script: [INSTALL, TYPECHECK, ctx.test] },
    "synth-diff": {
      stage: "check",
      rules: [MR],
      variables: { BASE_REF: "$CI_MERGE_REQUEST_TARGET_BRANCH_NAME" },
      script: [
        INSTALL,
        synthDiff(ctx),
        // A project access token (CI/CD variable MLOPS_GITLAB_TOKEN, masked) lets the job post the note.
        `if [ -n "\${MLOPS_GITLAB_TOKEN:-}" ]; then curl --fail --silent --show-error --request POST --header "PRIVATE-TOKEN: $MLOPS_GITLAB_TOKEN" --data-urlencode "body@${SYNTH_FILES.comment}" "$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes" > /dev/null; fi`,
      ],
      artifacts: { when: "always", expose_as: "mlops synth diff", paths: [SYNTH_FILES.diff, SYNTH_FILES.comment] },
    },
    ...previews,
    "deploy:dev": { stage: "deploy", ...cloud("dev"), rules: [MAIN(ctx)], resource_group: "deploy-dev", environment: { name: "dev" }, script: [deploy(ctx, "dev")] },
    "e2e:kind": {
      stage: "deploy",
      ...cloud("dev"),
      rules: [MAIN(ctx), { if: '$CI_PIPELINE_SOURCE == "web" && $E2E' }],
      services: [{ name: "docker:27-dind", alias: "docker" }],
      variables: { AWS_ROLE_ARN: `$${SECRETS.roleArn.dev}`, DOCKER_HOST: "tcp://docker:2375", DOCKER_TLS_CERTDIR: "", KIND_API_HOST: "docker", RUN_ID: "$CI_PIPELINE_ID" },
      timeout: "1h",
      script: [
        "curl -fsSL https://download.docker.com/linux/static/stable/x86_64/docker-27.3.1.tgz | tar -xz -C /usr/local/bin --strip-components=1 docker/docker",
        "curl -fsSLo /usr/local/bin/kind https://kind.sigs.k8s.io/dl/v0.24.0/kind-linux-amd64 && chmod +x /usr/local/bin/kind",
        'curl -fsSLo /usr/local/bin/kubectl "https://dl.k8s.io/release/$(curl -fsSL https://dl.k8s.io/release/stable.txt)/bin/linux/amd64/kubectl" && chmod +x /usr/local/bin/kubectl',
        `export KIND_CONFIG="\${TMPDIR:-/tmp}/kind.yaml"\ncat > "$KIND_CONFIG" <<'EOF'\n${KIND_DIND_CONFIG}\nEOF`,
        e2e(ctx),
      ],
    },
    "promote:check": promoteJob(true),
    "promote:prod": promoteJob(false),
    retrain: {
      stage: "retrain",
      ...cloud("staging"),
      // A pipeline schedule (CI/CD > Schedules) with the cron below starts it.
      rules: [{ if: '$CI_PIPELINE_SOURCE == "schedule"' }],
      before_script: [...(cloud("staging").before_script as string[]), 'curl -fsSLo /usr/local/bin/kubectl "https://dl.k8s.io/release/$(curl -fsSL https://dl.k8s.io/release/stable.txt)/bin/linux/amd64/kubectl" && chmod +x /usr/local/bin/kubectl'],
      script: [retrain(ctx)],
    },
  };
}

export function gitlabFiles(ctx: CiContext): Map<string, string> {
  const needs = `CI/CD variables ${SECRETS.pulumiToken} (masked), ${Object.values(SECRETS.roleArn).join(", ")}, optionally MLOPS_GITLAB_TOKEN (masked, to post the synth diff); a protected environment prod with approvers; a pipeline schedule "${ctx.retrainCron}" for the retrain`;
  return new Map([[".gitlab-ci.yml", header("gitlab", needs) + yaml(pipeline(ctx))]]);
}
