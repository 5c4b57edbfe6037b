import * as pulumi from "@pulumi/pulumi";
import { physicalName } from "../../src/naming.js";

/** Where a component is being deployed: the Pulumi project and the stack, read as the stage. */
export interface StackContext {
  readonly project: string;
  /** The stack name (`dev`, `staging`, `prod`, …). */
  readonly stage: string;
  /** True for `prod` and stacks named `prod-…`/`production`: stateful resources get `protect` and `retainOnDelete`. */
  readonly isProd: boolean;
}

/** Reads project and stage from the running Pulumi program. */
export function stackContext(): StackContext {
  const project = pulumi.getProject();
  const stage = pulumi.getStack();
  return { project, stage, isProd: isProdStage(stage) };
}

/** `prod`, `production`, `prod-eu`, … */
export function isProdStage(stage: string): boolean {
  return /^prod(uction)?($|[-_.])/.test(stage);
}

/** `${project}-${stage}-${name}` as a DNS label for the current stack. */
export function stackPhysicalName(name: string, maxLength?: number): string {
  const { project, stage } = stackContext();
  return physicalName({ project, stage, name }, maxLength);
}
