/**
 * The rule for Kubernetes control planes: in prod an EKS cluster's API endpoint is private, or public only
 * to the CIDRs given (publicAccessCidrs). EKS makes the endpoint public to 0.0.0.0/0 unless told otherwise.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { STAGE_CONFIG_SCHEMA, tierOf } from "./stage.js";

export const EKS_CLUSTER = "aws:eks/cluster:Cluster";
const ANYWHERE = new Set(["0.0.0.0/0", "::/0"]);

/** Findings of an EKS cluster's endpoint settings; empty when the endpoint is private or limited to CIDRs. */
export function endpointFindings(props: Record<string, any>): string[] {
  const vpc = (props.vpcConfig ?? {}) as Record<string, any>;
  // The API's default is a public endpoint.
  if (vpc.endpointPublicAccess === false) return [];
  const cidrs: unknown[] = Array.isArray(vpc.publicAccessCidrs) ? vpc.publicAccessCidrs : [];
  if (cidrs.length === 0) {
    return ["vpcConfig.publicAccessCidrs: not set, so the public endpoint is open to 0.0.0.0/0; list your CIDRs or set endpointPublicAccess: false"];
  }
  const open = cidrs.filter((c) => ANYWHERE.has(String(c)));
  return open.length > 0 ? [`vpcConfig.publicAccessCidrs: ${open.join(", ")} opens the endpoint to the internet; list your CIDRs or set endpointPublicAccess: false`] : [];
}

export const clusterEndpointInProd: ResourceValidationPolicy = {
  name: "cluster-endpoint-not-public-in-prod",
  description: "In prod an EKS cluster's API endpoint is private, or public only to the CIDRs listed in publicAccessCidrs.",
  enforcementLevel: "mandatory",
  severity: "high",
  configSchema: STAGE_CONFIG_SCHEMA,
  validateResource: (args, report) => {
    if (args.type !== EKS_CLUSTER) return;
    if (tierOf(args.urn, args.getConfig<{ stage?: string }>()) !== "prod") return;
    const findings = endpointFindings(args.props);
    if (findings.length > 0) report(`EKS cluster ${args.name} has a public endpoint in prod:\n  ${findings.join("\n  ")}`);
  },
};

export const CLUSTER_POLICIES = [clusterEndpointInProd] as const;
