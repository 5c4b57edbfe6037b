/**
 * The Pulumi Automation API side of `mlops promote --stack`: the one place the promotion reaches Pulumi.
 * It selects the stack of a program on disk (`LocalWorkspace.selectStack({ workDir, stackName })`), reads its
 * config, sets the keys a release changes, then previews and updates, as `pulumi config set`, `pulumi
 * preview` and `pulumi up` would. The Automation API drives the `pulumi` CLI, which must be installed
 * where this runs (CI runners have it); the promotion logic itself (src/release/rollout.ts) sees only the
 * {@link StackDriver} interface, which tests implement with a fake.
 */
import { MlopsError } from "../src/errors.js";
import type { DeployStack, StackDriver, StackTarget } from "../src/release/index.js";

/** The part of `@pulumi/pulumi/automation` used here (structural, so a test can hand in a recording fake). */
export interface AutomationModule {
  readonly LocalWorkspace: {
    selectStack(args: { stackName: string; workDir: string }): Promise<AutomationStack>;
  };
}

export interface AutomationStack {
  getAllConfig(): Promise<Record<string, { value: string; secret?: boolean }>>;
  setConfig(key: string, value: { value: string; secret?: boolean }): Promise<void>;
  preview(opts?: { onOutput?: (out: string) => void }): Promise<{ changeSummary: Record<string, number | undefined> }>;
  up(opts?: { onOutput?: (out: string) => void }): Promise<{ summary: { result: string; resourceChanges?: Record<string, number | undefined> } }>;
}

const loadAutomation = async (): Promise<AutomationModule> => (await import("@pulumi/pulumi/automation/index.js")) as unknown as AutomationModule;

/**
 * A {@link StackDriver} over the Automation API. `onOutput` receives the engine's progress lines (the CLI
 * sends them to stderr, so stdout stays one JSON answer).
 */
export function automationDriver(opts: { readonly load?: () => Promise<AutomationModule>; readonly onOutput?: (out: string) => void } = {}): StackDriver {
  const load = opts.load ?? loadAutomation;
  const stream = opts.onOutput ? { onOutput: opts.onOutput } : {};
  return {
    async select(target: StackTarget): Promise<DeployStack> {
      const auto = await load();
      let stack: AutomationStack;
      try {
        stack = await auto.LocalWorkspace.selectStack({ stackName: target.stack, workDir: target.workDir });
      } catch (err) {
        throw new MlopsError(
          `--stack: cannot select stack "${target.stack}" of the Pulumi program in ${target.workDir}: ${automationReason(err)}. Install the pulumi CLI, log in to the stack's backend (pulumi login), and check that the folder holds Pulumi.yaml and the stack exists (pulumi stack ls).`,
        );
      }
      // Engine failures (a provider error, a policy violation) are the user's to fix: say which step, and why.
      const step = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
        try {
          return await run();
        } catch (err) {
          throw new MlopsError(`pulumi ${what} of stack ${target.stack} (${target.workDir}) failed: ${automationReason(err)}. The alias was not moved; fix it and promote again.`);
        }
      };
      return {
        getConfig: (key) => step("config get", async () => (await stack.getAllConfig())[key]?.value),
        setConfig: (key, value) => step(`config set ${key}`, () => stack.setConfig(key, { value })),
        preview: () => step("preview", async () => ({ changeSummary: counts((await stack.preview(stream)).changeSummary) })),
        up: () =>
          step("up", async () => {
            const r = await stack.up(stream);
            return { result: r.summary.result, changeSummary: counts(r.summary.resourceChanges ?? {}) };
          }),
      };
    },
  };
}

function counts(map: Record<string, number | undefined>): Record<string, number> {
  return Object.fromEntries(Object.entries(map).filter((e): e is [string, number] => typeof e[1] === "number"));
}

/**
 * The reason in an Automation API error: its CommandError message is `code: …\n stdout: …\n stderr: …`,
 * where the CLI's stderr says what went wrong.
 */
export function automationReason(err: unknown): string {
  const text = String((err as Error)?.message ?? err);
  if (/spawn pulumi ENOENT/.test(text)) return "the pulumi CLI is not on PATH (spawn pulumi ENOENT)";
  const stderr = /stderr: *([^\n]*\S[^\n]*)/.exec(text)?.[1]?.trim();
  return stderr ?? text.split("\n").find((l) => l.trim())?.trim() ?? "unknown error";
}
