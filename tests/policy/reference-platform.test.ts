/**
 * The reference platform (stacks/) against the pack's resource policies, every resource its dev and staging
 * stacks would create (as `mlops synth` renders them offline): it passes.
 */
import { execa } from "execa";
import { describe, expect, test } from "vitest";
import { ROOT } from "../helpers/cli.js";

async function violations(stack: string) {
  const r = await execa("node", ["--import", "tsx", "tests/policy/synth-violations.ts", stack], { cwd: ROOT, reject: false, timeout: 240_000 });
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as { resources: number; violations: { policy: string; name: string; message: string }[] };
}

describe.each(["dev", "staging"])("the reference %s stack", (stack) => {
  test("passes every resource policy", { timeout: 300_000 }, async () => {
    const found = await violations(stack);
    expect(found.resources).toBeGreaterThan(40);
    expect(found.violations).toEqual([]);
  });
});
