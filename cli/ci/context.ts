/**
 * What `mlops ci init` needs to know about the repository it writes pipelines for, read from its files:
 * the Pulumi project (name, stack config folder, the stacks of each stage), how to run `mlops`, where the
 * policy pack and the runtime's Dockerfile are. The same files give the same pipelines.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { stageTier } from "../../src/stage.js";
import { MlopsError } from "../../src/errors.js";

export const PROVIDERS = ["github", "gitlab", "circleci", "jenkins"] as const;
export type Provider = (typeof PROVIDERS)[number];

/** The stack outputs the pipelines read; the reference platform (stacks/index.ts) exports them all. */
export const OUTPUTS = { endpointUrl: "endpointUrl", registryUri: "registryUri", kubeconfig: "kubeconfig", runTrainingNow: "runTrainingNow" } as const;

export interface CiContext {
  /** The Pulumi project's name (the namespace of its config keys). */
  readonly project: string;
  /** The stack of each stage. */
  readonly stacks: { readonly dev: string; readonly staging: string; readonly prod: string };
  /** How a job runs the `mlops` command. */
  readonly mlops: string;
  /** The policy pack folder, for `pulumi preview|up --policy-pack`. */
  readonly policyPack: string;
  /** A step that makes the policy pack runnable (this repository builds it; users get it built). */
  readonly build: string | undefined;
  /** The folder holding runtime/Dockerfile (the build context of the runtime image). */
  readonly runtimeDir: string;
  /** The command that runs the repository's tests. */
  readonly test: string;
  /** The branch merges go to. */
  readonly branch: string;
  /** The Node.js major version the jobs use. */
  readonly node: string;
  /** Cron expression of the scheduled retrain (UTC). */
  readonly retrainCron: string;
}

export interface ContextOptions {
  readonly test?: string;
  readonly branch?: string;
}

/** Reads the repository at `dir`. Fails naming the file when there is no Pulumi project there. */
export function ciContext(dir: string, opts: ContextOptions = {}): CiContext {
  const pulumiYaml = join(dir, "Pulumi.yaml");
  if (!existsSync(pulumiYaml)) {
    throw MlopsError.of("--out", "has no Pulumi.yaml", dir, "Run `mlops ci init` at the root of your Pulumi project (where Pulumi.yaml is), or pass --out <that folder>.");
  }
  const doc = (YAML.parse(readFileSync(pulumiYaml, "utf8")) ?? {}) as { name?: unknown; stackConfigDir?: unknown };
  if (typeof doc.name !== "string" || !doc.name) throw MlopsError.of(`${pulumiYaml} name`, "is missing", doc.name, "Give the project a name in Pulumi.yaml.");
  const configDir = typeof doc.stackConfigDir === "string" ? join(dir, doc.stackConfigDir) : dir;
  const pkg = readPackage(dir);
  const self = pkg?.name === "pulumi-mlops";
  const branch = opts.branch ?? "main";
  if (!/^[A-Za-z0-9._/-]+$/.test(branch)) throw MlopsError.of("--branch", "is not a branch name", branch, "Pass e.g. --branch main.");
  return {
    project: doc.name,
    stacks: stagesOf(existsSync(configDir) ? readdirSync(configDir) : []),
    mlops: self ? "node bin/mlops.js" : "npx mlops",
    policyPack: self ? "policy" : "node_modules/pulumi-mlops/policy",
    build: self ? "npm run build" : undefined,
    runtimeDir: self ? "." : "node_modules/pulumi-mlops",
    test: opts.test ?? "npm test",
    branch,
    node: "20",
    retrainCron: "0 3 * * 1",
  };
}

function readPackage(dir: string): { name?: string } | undefined {
  const path = join(dir, "package.json");
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as { name?: string };
  } catch (e) {
    throw MlopsError.of(path, "is not JSON", (e as Error).message, "Fix package.json first.");
  }
}

/**
 * The stack of each stage among the stack files (`Pulumi.<stack>.yaml`): the one named like the stage,
 * else the first (by name) of its tier, else the stage's own name.
 */
export function stagesOf(files: readonly string[]): CiContext["stacks"] {
  const stacks = files.flatMap((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1] ?? []).sort();
  const pick = (tier: "dev" | "staging" | "prod") => (stacks.includes(tier) ? tier : stacks.find((s) => stageTier(s) === tier) ?? tier);
  return { dev: pick("dev"), staging: pick("staging"), prod: pick("prod") };
}
