/**
 * Jenkins: a declarative Jenkinsfile for a multibranch pipeline. Pull requests (change requests) check,
 * synth-diff and preview; the main branch deploys dev and runs the kind end-to-end stage; a build with the
 * RELEASE parameter promotes staging to prod after an `input` approval; the cron trigger retrains.
 * Secrets are Jenkins credentials; AWS access is the agent's own role (instance profile or IRSA).
 */
import type { CiContext } from "./context.js";
import { deploy, e2e, INSTALL, INSTALL_PULUMI, JOB_ENV, preview, promote, retrain, STAGES, SYNTH_FILES, synthDiff, TYPECHECK } from "./scripts.js";
import { header } from "./yaml.js";

/** A shell step: Groovy's ''' string, with its backslash escapes undone. */
function sh(script: string, indent: string): string {
  if (script.includes("'''")) throw new Error("a Jenkins shell step cannot contain '''");
  // The Pulumi CLI stage installs into ~/.pulumi/bin; every step finds it there.
  const full = `export PATH="$HOME/.pulumi/bin:$PATH"\n${script}`;
  const body = full.replace(/\\/g, "\\\\").split("\n").map((l) => `${indent}  ${l}`).join("\n");
  return `${indent}sh '''\n${body}\n${indent}'''`;
}

interface Stage {
  readonly name: string;
  readonly when?: string;
  readonly environment?: Record<string, string>;
  readonly input?: string;
  readonly steps: readonly string[];
  readonly post?: string;
}

function stage(s: Stage): string {
  if (s.name.includes("'")) throw new Error(`a Jenkins stage name cannot contain a quote: ${s.name}`);
  const i = "    ";
  const lines = [`${i}stage('${s.name}') {`];
  if (s.when) lines.push(`${i}  when { ${s.when} }`);
  if (s.environment) {
    lines.push(`${i}  environment {`, ...Object.entries(s.environment).map(([k, v]) => `${i}    ${k} = ${v}`), `${i}  }`);
  }
  if (s.input) lines.push(`${i}  input {`, `${i}    message '${s.input}'`, `${i}    ok 'Promote'`, `${i}  }`);
  lines.push(`${i}  steps {`, ...s.steps.map((step) => (step.startsWith("sh:") ? sh(step.slice(3), `${i}    `) : `${i}    ${step}`)), `${i}  }`);
  if (s.post) lines.push(`${i}  post { ${s.post} }`);
  lines.push(`${i}}`);
  return lines.join("\n");
}

function jenkinsfile(ctx: CiContext): string {
  const pr = "changeRequest()";
  // Merges to the main branch; not the timer's builds (retrain) nor a promotion's (RELEASE set).
  const main = `allOf { branch '${ctx.branch}'; not { triggeredBy 'TimerTrigger' }; expression { return !params.RELEASE?.trim() } }`;
  const releasing = "expression { return params.RELEASE?.trim() }";
  const stages: Stage[] = [
    { name: "Install", steps: [`sh:${INSTALL}`] },
    { name: "Type-check and test", when: pr, steps: [`sh:${TYPECHECK}`, `sh:${ctx.test}`] },
    {
      name: "mlops synth diff",
      when: pr,
      environment: { BASE_REF: '"${env.CHANGE_TARGET}"' },
      steps: [`sh:${synthDiff(ctx)}`],
      post: `always { archiveArtifacts artifacts: '${SYNTH_FILES.diff}, ${SYNTH_FILES.comment}', allowEmptyArchive: true }`,
    },
    { name: "pulumi preview", when: pr, steps: STAGES.map((s) => `sh:${preview(ctx, s)}`) },
    { name: "Deploy dev", when: main, steps: [`sh:${deploy(ctx, "dev")}`] },
    { name: "End to end on kind", when: main, environment: { RUN_ID: '"${env.BUILD_TAG}"' }, steps: [`sh:${e2e(ctx)}`] },
    { name: "Promote: check what prod demands", when: releasing, steps: [`sh:${promote(ctx, true)}`] },
    { name: "Promote to prod", when: releasing, input: "Promote this release to prod?", steps: [`sh:${promote(ctx, false)}`] },
    { name: "Retrain", when: "triggeredBy 'TimerTrigger'", steps: [`sh:${retrain(ctx)}`] },
  ];
  return [
    "pipeline {",
    "  // An agent with Docker, kind and kubectl (for the end-to-end stage) and an AWS role that reaches every stage.",
    "  agent { label 'docker' }",
    "  options { disableConcurrentBuilds() }",
    "  parameters {",
    "    string(name: 'RELEASE', defaultValue: '', description: 'The release to promote from staging to prod (mlops release list)')",
    "  }",
    `  triggers { cron('${ctx.retrainCron}') }`,
    "  environment {",
    ...Object.entries(JOB_ENV).map(([k, v]) => `    ${k} = '${v}'`),
    "    PULUMI_ACCESS_TOKEN = credentials('pulumi-access-token')",
    "    RELEASE = \"${params.RELEASE}\"",
    "  }",
    "  stages {",
    stage({ name: "Pulumi CLI", steps: [`sh:${INSTALL_PULUMI.split("\n")[0]}`] }),
    ...stages.map(stage),
    "  }",
    "}",
    "",
  ].join("\n");
}

export function jenkinsFiles(ctx: CiContext): Map<string, string> {
  return new Map([["Jenkinsfile", header("jenkins", "the credential pulumi-access-token (secret text); an agent labelled docker", "//") + jenkinsfile(ctx)]]);
}
