/**
 * `mlops ci init --provider github|gitlab|circleci|jenkins [--out <dir>] [--force]`: writes the CI pipeline
 * files of a Pulumi project that uses pulumi-mlops. On a pull request: type-check, test, `mlops synth` of
 * every stage diffed against the base branch (posted on it, and kept as an artifact), `pulumi preview` of
 * every stage with the policy pack. On merge: `pulumi up` of dev, and an end-to-end run on a kind cluster
 * that deploys a copy of the dev stack and calls its endpoint. A promotion of a release from staging to
 * prod behind a manual approval (`mlops promote`), and a scheduled retrain. Secrets are only ever the
 * provider's own references. Existing files are never overwritten without --force.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { MlopsError } from "../src/errors.js";
import { HelpRequested, parse, positionals } from "./args.js";
import { circleciFiles } from "./ci/circleci.js";
import { ciContext, PROVIDERS, type CiContext, type Provider } from "./ci/context.js";
import { githubFiles } from "./ci/github.js";
import { gitlabFiles } from "./ci/gitlab.js";
import { jenkinsFiles } from "./ci/jenkins.js";

const USAGE = `mlops ci init --provider ${PROVIDERS.join("|")} [--out <dir>] [--force] [--test "<command>"] [--branch <name>]`;

const RENDERERS: Record<Provider, (ctx: CiContext) => Map<string, string>> = {
  github: githubFiles,
  gitlab: gitlabFiles,
  circleci: circleciFiles,
  jenkins: jenkinsFiles,
};

/** The files of `provider` for the repository at `dir`, by path relative to it. */
export function ciFiles(provider: Provider, dir: string, opts: { test?: string; branch?: string } = {}): Map<string, string> {
  return RENDERERS[provider](ciContext(dir, opts));
}

export async function ciCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "--help" || sub === "-h") throw new HelpRequested(USAGE);
  if (sub !== "init") {
    throw new MlopsError(`${sub === undefined ? "missing the subcommand" : `unknown subcommand ${JSON.stringify(sub)}`}: the ci command has one, init\nusage: ${USAGE}`);
  }
  const { values, positionals: pos } = parse(
    rest,
    { provider: { type: "string" }, out: { type: "string" }, force: { type: "boolean" }, test: { type: "string" }, branch: { type: "string" } },
    USAGE,
  );
  positionals(pos, [], USAGE);
  const provider = values.provider;
  if (!provider || !(PROVIDERS as readonly string[]).includes(provider)) {
    throw MlopsError.of("--provider", provider ? "is not a provider mlops writes pipelines for" : "is required", provider, `Pass one of ${PROVIDERS.join(", ")}.`);
  }
  if (values.test !== undefined && !values.test.trim()) throw MlopsError.of("--test", "is empty", values.test, 'Pass the command that runs your tests, e.g. --test "npm test".');
  const dir = resolve(values.out ?? ".");
  const files = ciFiles(provider as Provider, dir, { ...(values.test ? { test: values.test } : {}), ...(values.branch ? { branch: values.branch } : {}) });
  const existing = [...files.keys()].filter((rel) => existsSync(join(dir, rel)));
  if (existing.length > 0 && !values.force) {
    throw new MlopsError(
      `${existing.map((rel) => join(dir, rel)).join(", ")} already exist${existing.length === 1 ? "s" : ""}; nothing was written. Pass --force to overwrite, or move ${existing.length === 1 ? "it" : "them"} away first.`,
    );
  }
  for (const [rel, content] of files) {
    const path = join(dir, rel);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  }
  out(JSON.stringify({ provider, out: dir, files: [...files.keys()], overwritten: existing }));
  return 0;
}
