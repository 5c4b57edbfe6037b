import type { DeployStack, StackDriver, StackTarget } from "../../../src/release/index.js";

/** A {@link StackDriver} standing in for the Automation API: one stack's config in memory, every call recorded. */
export interface FakeStackDriver extends StackDriver {
  readonly calls: string[];
  readonly config: Map<string, string>;
  /** What `up` reports; set to "failed" to make it fail. */
  upResult: string;
  /** When set, `select` throws it (a stack that cannot be reached). */
  selectError?: Error;
}

export function fakeStackDriver(initial: Record<string, string> = {}): FakeStackDriver {
  const calls: string[] = [];
  const config = new Map(Object.entries(initial));
  const driver: FakeStackDriver = {
    calls,
    config,
    upResult: "succeeded",
    async select(target: StackTarget): Promise<DeployStack> {
      calls.push(`select ${target.workDir}:${target.stack}`);
      if (driver.selectError) throw driver.selectError;
      return {
        async getConfig(key) {
          calls.push(`getConfig ${key}`);
          return config.get(key);
        },
        async setConfig(key, value) {
          calls.push(`setConfig ${key}=${value}`);
          config.set(key, value);
        },
        async preview() {
          calls.push("preview");
          return { changeSummary: { update: 1, same: 12 } };
        },
        async up() {
          calls.push("up");
          return { result: driver.upResult, changeSummary: { update: 1, same: 12 } };
        },
      };
    },
  };
  return driver;
}
