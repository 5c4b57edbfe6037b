/**
 * How a stack name reads as a stage tier: pure, without Pulumi, so the CLI (`mlops ci init`) can tell dev,
 * staging and prod apart without loading @pulumi/pulumi. components/shared/stage.ts re-exports it with the
 * defaults that follow from the tier.
 */

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
