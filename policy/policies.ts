/**
 * Every rule of the pack, in one list: index.ts serves it to the Pulumi engine; the tests run each
 * policy's validation against the resources the components register under mocks.
 */
import type { Policies } from "@pulumi/policy";
import { BUCKET_POLICIES } from "./buckets.js";
import { CLUSTER_POLICIES } from "./cluster.js";
import { WORKLOAD_POLICIES } from "./workloads.js";

export const POLICY_PACK_NAME = "pulumi-mlops";

export const POLICIES: Policies = [...WORKLOAD_POLICIES, ...BUCKET_POLICIES, ...CLUSTER_POLICIES];
