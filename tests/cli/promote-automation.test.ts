// cli/deploy-automation.ts: the StackDriver over Pulumi's Automation API, tested at that API's boundary
// with a fake `LocalWorkspace` that records what the driver asks of it (there is no Pulumi engine here).
import { describe, expect, it } from "vitest";
import { automationDriver, automationReason, type AutomationModule, type AutomationStack } from "../../cli/deploy-automation.js";

function fakeAutomation(config: Record<string, string>, opts: { upResult?: string; failSelect?: Error; failUp?: Error } = {}) {
  const calls: unknown[][] = [];
  const stack: AutomationStack = {
    async getAllConfig() {
      calls.push(["getAllConfig"]);
      return Object.fromEntries(Object.entries(config).map(([k, value]) => [k, { value, secret: false }]));
    },
    async setConfig(key, value) {
      calls.push(["setConfig", key, value]);
      config[key] = value.value;
    },
    async preview(o) {
      calls.push(["preview", typeof o?.onOutput]);
      o?.onOutput?.("Previewing update (prod)\n");
      return { changeSummary: { update: 1, same: 20, create: undefined } };
    },
    async up(o) {
      calls.push(["up", typeof o?.onOutput]);
      if (opts.failUp) throw opts.failUp;
      return { summary: { result: opts.upResult ?? "succeeded", resourceChanges: { update: 1, same: 20 } } };
    },
  };
  const module: AutomationModule = {
    LocalWorkspace: {
      async selectStack(args) {
        calls.push(["selectStack", args]);
        if (opts.failSelect) throw opts.failSelect;
        return stack;
      },
    },
  };
  return { calls, module, config };
}

describe("automationDriver", () => {
  it("selects the stack of the program on disk, reads and sets config, previews and updates through LocalWorkspace", async () => {
    const fake = fakeAutomation({ "pulumi-mlops:image": "old@sha256:1", "aws:region": "us-east-1" });
    const lines: string[] = [];
    const driver = automationDriver({ load: async () => fake.module, onOutput: (s) => lines.push(s) });
    const stack = await driver.select({ workDir: "/repo/stacks", stack: "prod" });
    expect(await stack.getConfig("pulumi-mlops:image")).toBe("old@sha256:1");
    expect(await stack.getConfig("pulumi-mlops:missing")).toBeUndefined();
    await stack.setConfig("pulumi-mlops:image", "new@sha256:2");
    expect(await stack.preview()).toEqual({ changeSummary: { update: 1, same: 20 } });
    expect(await stack.up()).toEqual({ result: "succeeded", changeSummary: { update: 1, same: 20 } });
    expect(fake.calls).toEqual([
      ["selectStack", { stackName: "prod", workDir: "/repo/stacks" }],
      ["getAllConfig"],
      ["getAllConfig"],
      ["setConfig", "pulumi-mlops:image", { value: "new@sha256:2" }],
      ["preview", "function"],
      ["up", "function"],
    ]);
    expect(lines).toEqual(["Previewing update (prod)\n"]);
  });

  it("fails naming the stack, the folder and the fix when the stack cannot be selected", async () => {
    const err = new Error("code: 255\n stdout: \n stderr: error: no stack named 'prod' found\n err?: ");
    const driver = automationDriver({ load: async () => fakeAutomation({}, { failSelect: err }).module });
    await expect(driver.select({ workDir: "stacks", stack: "prod" })).rejects.toThrow(/--stack: cannot select stack "prod" of the Pulumi program in stacks: error: no stack named 'prod' found\. Install the pulumi CLI/);
  });

  it("fails naming the step and the engine's reason when up fails", async () => {
    const err = new Error("code: 1\n stdout: Updating (prod)\n stderr: error: update failed: ImagePullBackOff\n err?: ");
    const stack = await automationDriver({ load: async () => fakeAutomation({}, { failUp: err }).module }).select({ workDir: "stacks", stack: "prod" });
    await expect(stack.up()).rejects.toThrow(/pulumi up of stack prod \(stacks\) failed: error: update failed: ImagePullBackOff\. The alias was not moved/);
  });

  it("says the pulumi CLI is missing when the Automation API cannot start it", () => {
    expect(automationReason(new Error("code: -2\n stdout: \n stderr: Command failed with ENOENT: pulumi version\nspawn pulumi ENOENT\n"))).toBe("the pulumi CLI is not on PATH (spawn pulumi ENOENT)");
  });
});
