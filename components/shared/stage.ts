/**
 * The stage a component is deployed to, and what it changes: the one place where a stack name is read
 * as dev, staging or prod, and where the defaults that follow from that (sizes, protection) live.
 */
import * as pulumi from "@pulumi/pulumi";
import { physicalName } from "../../src/naming.js";

/** What a stage is for: trying things out, rehearsing production, or production. */
export type StageTier = "dev" | "staging" | "prod";

/**
 * The tier of a stack name: `prod`, `production`, `prod-eu`, … are prod; `dev`, `development`, `test`,
 * `local` (and `dev-…` etc.) are dev; every other name (`staging`, `qa`, `preprod`) is staging, sized and
 * guarded like production's rehearsal.
 */
export function stageTier(stage: string): StageTier {
  if (/^prod(uction)?($|[-_.])/.test(stage)) return "prod";
  if (/^(dev|development|test|local)($|[-_.])/.test(stage)) return "dev";
  return "staging";
}

/**
 * Defaults that follow from the tier. Serving capacity grows towards prod (prod spreads at least one pod
 * per zone of a three-zone region); stateful resources (registry buckets, image repositories) are
 * protected and retained on delete in prod only.
 */
export const STAGE_DEFAULTS: Readonly<Record<StageTier, { readonly replicas: { readonly min: number; readonly max: number }; readonly protect: boolean }>> = {
  dev: { replicas: { min: 1, max: 2 }, protect: false },
  staging: { replicas: { min: 2, max: 4 }, protect: false },
  prod: { replicas: { min: 3, max: 20 }, protect: true },
};

/** Where a component is being deployed: the Pulumi project and the stack, read as the stage. */
export interface StackContext {
  readonly project: string;
  /** The stack name (`dev`, `staging`, `prod`, …). */
  readonly stage: string;
  readonly tier: StageTier;
  /** The defaults of {@link tier}. */
  readonly defaults: (typeof STAGE_DEFAULTS)[StageTier];
}

/** Reads project and stage from the running Pulumi program. */
export function stackContext(): StackContext {
  const project = pulumi.getProject();
  const stage = pulumi.getStack();
  const tier = stageTier(stage);
  return { project, stage, tier, defaults: STAGE_DEFAULTS[tier] };
}

/** `${project}-${stage}-${name}` as a DNS label for the current stack. */
export function stackPhysicalName(name: string, maxLength?: number): string {
  const { project, stage } = stackContext();
  return physicalName({ project, stage, name }, maxLength);
}
