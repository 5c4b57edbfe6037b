/**
 * `node --import tsx tests/policy/synth-violations.ts <stack>`: synthesizes the reference platform (stacks/)
 * for one stack under the offline mocks of `mlops synth` and prints, as JSON, every violation of the
 * pack's resource policies. A script, because a stack program registers its resources once per process.
 */
import { synthesize } from "../../cli/synth.js";
import { POLICIES } from "../../policy/policies.js";
import { ROOT } from "../helpers/cli.js";
import { runResourcePolicy } from "./harness.js";

const stack = process.argv[2];
if (!stack) throw new Error("usage: synth-violations.ts <stack>");
const { resources } = await synthesize({ projectDir: ROOT, stack });
const urnOf = (r: { type: string; name: string }) => `urn:pulumi:${stack}::pulumi-mlops::${r.type}::${r.name}`;
const violations: { policy: string; type: string; name: string; message: string }[] = [];
for (const policy of POLICIES) {
  // Stack policies need the engine's property dependencies, which synth's mocks do not record.
  if ("validateStack" in policy) continue;
  for (const r of resources) {
    for (const message of await runResourcePolicy(policy, r as never, { urn: urnOf(r) })) violations.push({ policy: policy.name, type: r.type, name: r.name, message });
  }
}
process.stdout.write(`${JSON.stringify({ stack, resources: resources.length, violations })}\n`);
process.exit(0);
