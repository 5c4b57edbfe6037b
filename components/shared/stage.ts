/**
 * The stage a component is deployed to, and what it changes: the one place where a stack name is read
 * as dev, staging or prod, and where the defaults that follow from that (sizes, protection) live.
 */
import * as pulumi from "@pulumi/pulumi";
import { physicalName } from "../../src/naming.js";
import { stageTier, type StageTier } from "../../src/stage.js";

// The tier of a stack name is pure (src/stage.ts, which the CLI reads without Pulumi); re-exported here.
export { stageTier, type StageTier };

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
