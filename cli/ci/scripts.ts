/**
 * The shell every provider's pipeline runs, written once: each provider only maps its own variables
 * (base branch, run id, the release to promote) onto the names these scripts read, and supplies the
 * secrets from its own store. Every script is `bash -e`-safe and names what it needs at its top.
 */
import { OUTPUTS, type CiContext } from "./context.js";

/** Stages in the order the pipelines treat them. */
export const STAGES = ["dev", "staging", "prod"] as const;
export type Stage = (typeof STAGES)[number];

/** Environment every job sets: onnxruntime-node's installer must not download CUDA binaries. */
export const JOB_ENV = { ONNXRUNTIME_NODE_INSTALL: "skip", PULUMI_SKIP_UPDATE_CHECK: "true" } as const;

/** The secrets the pipelines use, by role; each provider names them in its own secret store. */
export const SECRETS = {
  pulumiToken: "PULUMI_ACCESS_TOKEN",
  roleArn: { dev: "AWS_DEV_ROLE_ARN", staging: "AWS_STAGING_ROLE_ARN", prod: "AWS_PROD_ROLE_ARN" },
} as const;

export const INSTALL = "npm ci --no-audit --no-fund";
export const TYPECHECK = "npx tsc --noEmit";
export const INSTALL_PULUMI = 'curl -fsSL https://get.pulumi.com | sh\nexport PATH="$HOME/.pulumi/bin:$PATH"';

/** Files the synth-diff job leaves for the comment and the artifact. */
export const SYNTH_FILES = { diff: "synth.diff", comment: "synth-comment.md", dir: "synth" } as const;

/**
 * `mlops synth` of every stage at the head and at the base branch (BASE_REF, fetched into a worktree),
 * diffed into synth.diff and summed up in synth-comment.md (what a reviewer reads on the pull request).
 */
export function synthDiff(ctx: CiContext): string {
  const stacks = STAGES.map((s) => ctx.stacks[s]).join(" ");
  return [
    ': "${BASE_REF:?the base branch to diff against}"',
    'base="${TMPDIR:-/tmp}/mlops-synth-base"',
    `git fetch --no-tags --depth=1 origin "$BASE_REF"`,
    'git worktree add --detach "$base" FETCH_HEAD',
    `(cd "$base" && ${INSTALL})`,
    `for stack in ${stacks}; do`,
    `  ${ctx.mlops} synth --stack "$stack" --out "${SYNTH_FILES.dir}/head/$stack"`,
    `  (cd "$base" && ${ctx.mlops} synth --stack "$stack" --out "$OLDPWD/${SYNTH_FILES.dir}/base/$stack") || echo "the base branch cannot synth $stack: showing it as new"`,
    "done",
    `diff -ruN ${SYNTH_FILES.dir}/base ${SYNTH_FILES.dir}/head > ${SYNTH_FILES.diff} || true`,
    "{",
    '  echo "### mlops synth: what this change does to each stage"',
    `  if [ -s ${SYNTH_FILES.diff} ]; then`,
    `    git diff --no-index --stat ${SYNTH_FILES.dir}/base ${SYNTH_FILES.dir}/head || true`,
    "    echo",
    "    echo '```diff'",
    `    head -c 60000 ${SYNTH_FILES.diff}`,
    "    echo '```'",
    "  else",
    `    echo "No change to the resources of ${stacks.split(" ").join(", ")}."`,
    "  fi",
    `} > ${SYNTH_FILES.comment}`,
  ].join("\n");
}

/** `pulumi preview` of a stage with the policy pack (nothing is changed). */
export function preview(ctx: CiContext, stage: Stage): string {
  return [ctx.build, `pulumi preview --stack ${ctx.stacks[stage]} --policy-pack ${ctx.policyPack} --diff --non-interactive`].filter(Boolean).join("\n");
}

/** `pulumi up` of a stage with the policy pack. */
export function deploy(ctx: CiContext, stage: Stage): string {
  return [ctx.build, `pulumi up --yes --stack ${ctx.stacks[stage]} --policy-pack ${ctx.policyPack} --non-interactive`].filter(Boolean).join("\n");
}

/** A stage's registry: the MLOPS_<STAGE>_REGISTRY variable when set, else the stack's registryUri output. */
function registryOf(ctx: CiContext, stage: Stage): string {
  return `"\${MLOPS_${stage.toUpperCase()}_REGISTRY:-$(pulumi stack output ${OUTPUTS.registryUri} --stack ${ctx.stacks[stage]})}"`;
}

/** `mlops promote` of RELEASE from staging to prod; `dryRun` checks what prod demands and changes nothing. */
export function promote(ctx: CiContext, dryRun: boolean): string {
  return [
    ': "${RELEASE:?the release to promote (mlops release list)}"',
    `${ctx.mlops} promote "$RELEASE" --from ${registryOf(ctx, "staging")} --to ${registryOf(ctx, "prod")}${dryRun ? " --dry-run" : ""}`,
  ].join("\n");
}

/** Starts a training run now in the staging cluster (the stack's runTrainingNow command); the run gates and registers by itself. */
export function retrain(ctx: CiContext): string {
  const stack = ctx.stacks.staging;
  return [
    'export KUBECONFIG="${TMPDIR:-/tmp}/mlops-kubeconfig"',
    `pulumi stack output ${OUTPUTS.kubeconfig} --show-secrets --stack ${stack} > "$KUBECONFIG"`,
    `run="$(pulumi stack output ${OUTPUTS.runTrainingNow} --stack ${stack})"`,
    '[ -n "$run" ] || { echo "stack ' + stack + ' has no training job (output ' + OUTPUTS.runTrainingNow + ')" >&2; exit 1; }',
    'sh -c "$run"',
    "kubectl get jobs --all-namespaces --sort-by=.metadata.creationTimestamp",
  ].join("\n");
}

/** The kind cluster the end-to-end job creates. */
export const KIND_CLUSTER = "mlops-e2e";

/**
 * End to end on a throwaway kind cluster: build the runtime image and load it into the nodes, deploy a copy
 * of the dev stack (`<dev>-e2e-<RUN_ID>`, the dev stack's program and config) with `pulumi up`, call the
 * endpoint through a port-forward, and destroy the copy whatever happened. KIND_READY=1 means the job
 * created the cluster already (GitHub's kind action).
 */
export function e2e(ctx: CiContext): string {
  const image = `mlops-runtime:e2e-$RUN_ID`;
  return [
    ': "${RUN_ID:?a unique id of this run}"',
    `stack="${ctx.stacks.dev}-e2e-$RUN_ID"`,
    `[ "\${KIND_READY:-}" = 1 ] || kind create cluster --name ${KIND_CLUSTER} --wait 180s \${KIND_CONFIG:+--config "$KIND_CONFIG"}`,
    // In docker-in-docker (GitLab's dind service) the API server is reached at the service's host name.
    `[ -z "\${KIND_API_HOST:-}" ] || sed -i "s#https://0.0.0.0:#https://$KIND_API_HOST:#" "\${KUBECONFIG:-$HOME/.kube/config}"`,
    `docker build -f ${ctx.runtimeDir}/runtime/Dockerfile --platform linux/amd64 -t "${image}" ${ctx.runtimeDir}`,
    `kind load docker-image "${image}" --name ${KIND_CLUSTER}`,
    ctx.build,
    `pulumi stack init "$stack" --copy-config-from ${ctx.stacks.dev} --non-interactive`,
    `trap 'pulumi destroy --yes --stack "$stack" --non-interactive; pulumi stack rm --yes --stack "$stack" --non-interactive' EXIT`,
    `pulumi config set --stack "$stack" ${ctx.project}:image "${image}"`,
    `pulumi config set --stack "$stack" --path ${ctx.project}:cluster.context kind-${KIND_CLUSTER}`,
    `pulumi up --yes --stack "$stack" --policy-pack ${ctx.policyPack} --non-interactive`,
    `url="$(pulumi stack output ${OUTPUTS.endpointUrl} --stack "$stack")"`,
    'host="${url#http://}"; host="${host%%/*}"; service="${host%%.*}"; rest="${host#*.}"; namespace="${rest%%.*}"',
    'kubectl -n "$namespace" port-forward "service/$service" 18080:80 > port-forward.log 2>&1 &',
    "curl --fail --silent --show-error --retry 30 --retry-connrefused --retry-delay 2 http://127.0.0.1:18080/v2/health/live",
    'echo "endpoint $url answers"',
  ].filter(Boolean).join("\n");
}
