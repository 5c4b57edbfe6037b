/** The EKS control plane's args (part of TrainingClusterArgs) and their zod schema. */
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { isDeferred, isInput } from "../shared/validate.js";

/** An EC2 instance type such as `p4d.24xlarge`. */
export const INSTANCE_TYPE = /^[a-z0-9-]+\.[a-z0-9]+$/;
/** A Helm chart version such as `1.2.3`. */
export const chartVersion = z.string().regex(/^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$/, "must be a chart version such as 1.2.3");

/** EKS control-plane log types (CloudWatch Logs group `/aws/eks/<cluster>/cluster`). */
export const EKS_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"] as const;
export type EksLogType = (typeof EKS_LOG_TYPES)[number];

/** EKS add-ons whose versions this package pins (EKS add-on names). */
export const EKS_ADDON_NAMES = ["vpc-cni", "coredns", "kube-proxy", "metrics-server"] as const;
export type EksAddonName = (typeof EKS_ADDON_NAMES)[number];

/** The VPC a cluster creates when no `subnetIds` are given. */
export interface EksVpcArgs {
  /**
   * The VPC's IPv4 range, a /16 to /20. Private subnets get a quarter each (VPC CNI gives every pod a VPC
   * address), public subnets (NAT gateways, internet-facing load balancers) share the last quarter.
   * @default "10.0.0.0/16"
   */
  readonly cidrBlock?: string;
  /** Availability zones to spread the subnets over (2 or 3). @default 3 */
  readonly availabilityZones?: number;
  /**
   * NAT gateways for the private subnets' egress: `"single"` (cheaper; egress fails with its zone) or
   * `"perAz"` (one per zone, as AWS recommends for production).
   * @default - `"perAz"` in prod stages, `"single"` elsewhere
   */
  readonly natGateways?: "single" | "perAz";
}

/** The autoscaled CPU node group that serving pods (ModelEndpoint) land on. */
export interface EksServingNodesArgs {
  /** EC2 instance type. @default "m6i.xlarge" */
  readonly instanceType?: string;
  /** Minimum nodes. @default 1 */
  readonly min?: number;
  /** Maximum nodes. @default 10 */
  readonly max?: number;
  /** Root volume size in GiB. @default 50 */
  readonly diskSizeGiB?: number;
}

/** The EKS control plane and its system node group. */
export interface EksArgs {
  /**
   * Kubernetes minor version, e.g. `"1.35"`. Also picks the cluster autoscaler's image tag and the EKS
   * add-on versions. The cluster's upgrade policy is `STANDARD` (no paid extended support: EKS upgrades it
   * at the end of standard support), and a version past its end of standard support is warned about.
   * @default "1.35" (`EKS_DEFAULT_VERSION`: the newest version in EKS standard support)
   */
  readonly version?: string;
  /**
   * Existing subnets for the control plane ENIs and every node group: at least two, in at least two
   * availability zones (checked at deploy time), private ones with a route to a NAT gateway.
   * @default - a new VPC (see `vpc`) with private subnets in three zones, public subnets and NAT
   */
  readonly subnetIds?: pulumi.Input<pulumi.Input<string>[]>;
  /** The VPC created when `subnetIds` is not given; not allowed with `subnetIds`. @default {} */
  readonly vpc?: EksVpcArgs;
  /**
   * The small on-demand node group for system pods (autoscaler, Kueue, CoreDNS, metrics-server).
   * @default { instanceType: "m6i.large", min: 2, max: 4 }
   */
  readonly systemNodes?: { readonly instanceType?: string; readonly min?: number; readonly max?: number };
  /**
   * The autoscaled on-demand CPU node group for serving pods, labelled and tainted as `SERVING_POOL`
   * (components/shared/constants.ts); the cluster's `servingPlacement` puts pods there. `false` leaves it
   * out (endpoints then run on the system group).
   * @default { instanceType: "m6i.xlarge", min: 1, max: 10, diskSizeGiB: 50 }
   */
  readonly servingNodes?: false | EksServingNodesArgs;
  /** Whether the API server is reachable from the internet. @default true */
  readonly endpointPublicAccess?: boolean;
  /**
   * CIDR blocks allowed to reach the public API endpoint. Narrow it to your office and CI egress ranges
   * (a warning says so in prod while it is open to the internet).
   * @default ["0.0.0.0/0"]
   */
  readonly publicAccessCidrs?: readonly string[];
  /** Whether the API server is reachable from inside the VPC (nodes then talk to it privately). @default true */
  readonly endpointPrivateAccess?: boolean;
  /** Control-plane logs sent to CloudWatch Logs. @default ["api", "audit", "authenticator"] */
  readonly enabledClusterLogTypes?: readonly EksLogType[];
  /**
   * IAM role ARNs that get cluster admin (an EKS access entry with `AmazonEKSClusterAdminPolicy`), e.g.
   * the CI deploy role and an operators' role. Whoever runs `pulumi up` is admin anyway.
   * @default []
   */
  readonly adminRoleArns?: readonly string[];
  /**
   * How the cluster authenticates IAM principals. `API_AND_CONFIG_MAP` also honours an `aws-auth`
   * ConfigMap; EKS only allows moving towards `API`, so starting here keeps both doors open.
   * @default "API_AND_CONFIG_MAP"
   */
  readonly authenticationMode?: "API" | "API_AND_CONFIG_MAP";
  /**
   * How the `kubeconfig` output authenticates: `aws eks get-token` assuming `roleArn`, and/or with the AWS
   * CLI profile `profile`.
   * @default - the caller's default AWS credentials
   */
  readonly kubeconfig?: { readonly roleArn?: string; readonly profile?: string };
  /**
   * EKS add-on versions, overriding the table pinned for the cluster's version (`EKS_ADDON_VERSIONS`).
   * @example { "vpc-cni": "v1.22.4-eksbuild.3" }
   * @default - the table's row for `version`; EKS's default version for a version the table lacks
   */
  readonly addonVersions?: Partial<Record<EksAddonName, string>>;
  /** metrics-server (the EKS community add-on), which the HPA needs and EKS does not install. @default true */
  readonly metricsServer?: boolean;
  /**
   * The cluster autoscaler (Helm chart `cluster-autoscaler`), with a service-account role that may only
   * scale this cluster's groups. `false` leaves it out (e.g. when Karpenter is installed separately).
   * @default { chartVersion: "9.46.6", imageTag: "v<version>.0" } (e.g. `v1.35.0`)
   */
  readonly clusterAutoscaler?: false | { readonly chartVersion?: string; readonly imageTag?: string };
  /** Tags on every AWS resource. @default {} */
  readonly tags?: Record<string, string>;
}

const CIDR = /^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}\/([0-9]|[12][0-9]|3[0-2])$/;
const IAM_ROLE_ARN = /^arn:aws[a-z-]*:iam::[0-9]{12}:role\/.+$/;

export const EksSchema = z
  .object({
    version: z.string().regex(/^1\.[0-9]{2}$/, 'must be a Kubernetes minor version such as "1.35"').optional(),
    subnetIds: z
      .custom<unknown>(
        (v) => (Array.isArray(v) ? v.length >= 2 && v.every(isInput) : isDeferred(v)),
        "must list at least two subnet ids, in at least two availability zones (EKS requires two zones); or leave subnetIds out to create a VPC",
      )
      .optional(),
    vpc: z
      .object({
        cidrBlock: z
          .string()
          .regex(CIDR, 'must be an IPv4 CIDR block such as "10.0.0.0/16"')
          .refine((c) => Number(c.split("/")[1]) >= 16 && Number(c.split("/")[1]) <= 20, "must be a /16 to /20 block")
          .optional(),
        availabilityZones: z.number().int().min(2).max(3).optional(),
        natGateways: z.enum(["single", "perAz"]).optional(),
      })
      .strict()
      .optional(),
    systemNodes: z
      .object({
        instanceType: z.string().regex(INSTANCE_TYPE, "must be an EC2 instance type such as m6i.large").optional(),
        min: z.number().int().min(1).optional(),
        max: z.number().int().min(1).max(100).optional(),
      })
      .strict()
      .optional(),
    servingNodes: z
      .union([
        z.literal(false),
        z
          .object({
            instanceType: z.string().regex(INSTANCE_TYPE, "must be an EC2 instance type such as m6i.xlarge").optional(),
            min: z.number().int().min(0).optional(),
            max: z.number().int().min(1).max(1000).optional(),
            diskSizeGiB: z.number().int().min(20).max(16384).optional(),
          })
          .strict(),
      ])
      .optional(),
    endpointPublicAccess: z.boolean().optional(),
    publicAccessCidrs: z.array(z.string().regex(CIDR, 'must be an IPv4 CIDR block such as "203.0.113.0/24"')).min(1).optional(),
    endpointPrivateAccess: z.boolean().optional(),
    enabledClusterLogTypes: z.array(z.enum(EKS_LOG_TYPES)).optional(),
    adminRoleArns: z.array(z.string().regex(IAM_ROLE_ARN, "must be an IAM role ARN such as arn:aws:iam::123456789012:role/ci-deploy")).optional(),
    authenticationMode: z.enum(["API", "API_AND_CONFIG_MAP"]).optional(),
    kubeconfig: z
      .object({
        roleArn: z.string().regex(IAM_ROLE_ARN, "must be an IAM role ARN such as arn:aws:iam::123456789012:role/eks-admin").optional(),
        profile: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    addonVersions: z
      .object(Object.fromEntries(EKS_ADDON_NAMES.map((n) => [n, z.string().regex(/^v[0-9]+\.[0-9]+\.[0-9]+-eksbuild\.[0-9]+$/, "must be an EKS add-on version such as v1.22.4-eksbuild.3").optional()])))
      .strict()
      .optional(),
    metricsServer: z.boolean().optional(),
    clusterAutoscaler: z
      .union([z.literal(false), z.object({ chartVersion: chartVersion.optional(), imageTag: z.string().min(1).optional() }).strict()])
      .optional(),
    tags: z.record(z.string(), z.string()).optional(),
  })
  .strict();
