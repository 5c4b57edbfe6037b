/**
 * The stage a resource is deployed to, as the policies read it: the pack's `stage` setting when one is
 * given (`pulumi preview --policy-pack-config <file>`), else the stack name in the resource's URN, read
 * as dev, staging or prod by the same classifier the components use.
 */
import { stageTier, type StageTier } from "../components/shared/stage.js";

/** The setting every stage-dependent policy takes; its JSON Schema for `configSchema`. */
export const STAGE_CONFIG_SCHEMA = {
  properties: {
    stage: {
      type: "string" as const,
      description: "The stage to judge by (dev, staging, prod, or a stack name such as prod-eu). Default: the stack name in the resource's URN.",
    },
  },
};

/** The stack name inside a URN (`urn:pulumi:<stack>::<project>::<type>::<name>`); undefined when it is not one. */
export function stackOfUrn(urn: string): string | undefined {
  const m = /^urn:pulumi:([^:]+)::/.exec(urn);
  return m?.[1];
}

/** The tier to judge a resource by: the configured stage wins over the URN's stack. */
export function tierOf(urn: string, config: { stage?: unknown }): StageTier | undefined {
  const stage = typeof config.stage === "string" && config.stage.trim() ? config.stage.trim() : stackOfUrn(urn);
  return stage === undefined ? undefined : stageTier(stage);
}
