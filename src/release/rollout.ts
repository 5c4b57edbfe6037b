import { MlopsError } from "../errors.js";
import type { ReleaseBody } from "./types.js";

/**
 * The boundary to Pulumi's Automation API, as narrow as promotion needs: select a stack of a program on
 * disk, read and set its config, preview and update. cli/deploy-automation.ts implements it with
 * `LocalWorkspace.selectStack`; tests implement it with a fake that records the calls. Kept here, free of
 * `@pulumi/*`, so the promotion logic stays in src/.
 */
export interface StackDriver {
  select(target: StackTarget): Promise<DeployStack>;
}

export interface DeployStack {
  /** The stack's config value at `key` (`<namespace>:<name>`), undefined when unset. */
  getConfig(key: string): Promise<string | undefined>;
  setConfig(key: string, value: string): Promise<void>;
  /** `pulumi preview`: the operations an update would run, by kind (`create`, `update`, `same`, …). */
  preview(): Promise<{ readonly changeSummary: Readonly<Record<string, number>> }>;
  /** `pulumi up`: its result and the operations it ran. */
  up(): Promise<{ readonly result: string; readonly changeSummary: Readonly<Record<string, number>> }>;
}

/** `<program dir>:<stack>`, e.g. `stacks:prod` or `infra:acme/prod` (an organization-qualified stack). */
export interface StackTarget {
  readonly workDir: string;
  readonly stack: string;
}

/** The stack config key the reference platform (stacks/) reads its runtime image from. */
export const DEFAULT_IMAGE_CONFIG_KEY = "pulumi-mlops:image";

/** Parses `--stack <dir>:<stack>`; the last `:` splits (a Windows drive letter stays in the dir). */
export function parseStackTarget(value: string, field = "--stack"): StackTarget {
  const at = value.lastIndexOf(":");
  const workDir = value.slice(0, at);
  const stack = value.slice(at + 1);
  if (at <= 0 || !/^[A-Za-z0-9_.\-/]+$/.test(stack) || stack.startsWith("/") || stack.endsWith("/")) {
    throw MlopsError.of(field, "is not <program dir>:<stack>", value, "Write e.g. --stack stacks:prod (the folder holding Pulumi.yaml, then the stack name).");
  }
  return { workDir, stack };
}

/** What one stack's rollout did (or, in a dry run, would do). */
export interface StackRollout {
  readonly workDir: string;
  readonly stack: string;
  /** `unchanged`: the config already held the release's values, nothing ran; `updated`: config set, preview and up ran; `planned`: dry run. */
  readonly action: "unchanged" | "updated" | "planned";
  readonly config: readonly { readonly key: string; readonly from?: string; readonly to: string }[];
  readonly preview?: Readonly<Record<string, number>>;
  readonly up?: { readonly result: string; readonly changeSummary: Readonly<Record<string, number>> };
}

/**
 * The stack config a release sets: its runtime image, pinned by digest, at `imageKey`. The model itself is
 * not here: the endpoints follow the registry alias, which promotion moves without a deployment.
 */
export function stackConfigOf(release: ReleaseBody, imageKey = DEFAULT_IMAGE_CONFIG_KEY): Record<string, string> {
  return release.image ? { [imageKey]: release.image.ref } : {};
}

/** A stack selected and its config compared with what a release wants: what {@link applyStackPlan} would change. */
export interface StackPlan {
  readonly target: StackTarget;
  readonly config: readonly { readonly key: string; readonly from?: string; readonly to: string }[];
  /** Undefined when nothing is wanted (no engine started). */
  readonly stack?: DeployStack;
}

/**
 * Selects the stack and reads the keys `wanted` sets (reads only): run before anything is copied, so a
 * stack that cannot be reached stops the promotion while the target is untouched. Nothing wanted (a
 * release without an image): no engine is started.
 */
export async function planStack(driver: StackDriver, target: StackTarget, wanted: Record<string, string>): Promise<StackPlan> {
  if (Object.keys(wanted).length === 0) return { target, config: [] };
  const stack = await driver.select(target);
  const config: { key: string; from?: string; to: string }[] = [];
  for (const [key, to] of Object.entries(wanted).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const from = await stack.getConfig(key);
    if (from !== to) config.push({ key, ...(from !== undefined ? { from } : {}), to });
  }
  return { target, config, stack };
}

/**
 * Rolls a plan out: when every key already holds its value nothing runs (promotion stays idempotent);
 * otherwise each changed key is set, then preview, then up. A dry run reports the plan and changes nothing.
 */
export async function applyStackPlan(plan: StackPlan, opts: { readonly dryRun?: boolean } = {}): Promise<StackRollout> {
  const { target, config, stack } = plan;
  const base = { workDir: target.workDir, stack: target.stack, config };
  if (config.length === 0 || !stack) return { ...base, action: "unchanged" };
  if (opts.dryRun) return { ...base, action: "planned" };
  for (const c of config) await stack.setConfig(c.key, c.to);
  const preview = await stack.preview();
  const up = await stack.up();
  if (up.result !== "succeeded") {
    throw new MlopsError(`pulumi up of stack ${target.stack} (${target.workDir}) ended "${up.result}"; the alias was not moved. Look at the update's log (pulumi stack history --stack ${target.stack}), fix it and promote again.`);
  }
  return { ...base, action: "updated", preview: preview.changeSummary, up: { result: up.result, changeSummary: up.changeSummary } };
}

/** {@link planStack} then {@link applyStackPlan}. */
export async function rolloutStack(driver: StackDriver, target: StackTarget, wanted: Record<string, string>, opts: { readonly dryRun?: boolean } = {}): Promise<StackRollout> {
  return applyStackPlan(await planStack(driver, target, wanted), opts);
}
