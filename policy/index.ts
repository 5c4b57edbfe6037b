/**
 * The pulumi-mlops policy pack: the platform's rules, checked on every resource of a preview or update.
 *
 *   pulumi preview --policy-pack ./node_modules/pulumi-mlops/policy
 *
 * The engine starts this file (compiled, see package.json here) in this folder; constructing the pack
 * starts the analyzer server the engine talks to, so nothing else may import this module: import
 * ./policies.js for the rules themselves.
 */
import { PolicyPack } from "@pulumi/policy";
import { POLICIES, POLICY_PACK_NAME } from "./policies.js";

new PolicyPack(POLICY_PACK_NAME, {
  description: "pulumi-mlops platform rules",
  enforcementLevel: "mandatory",
  policies: POLICIES,
});
